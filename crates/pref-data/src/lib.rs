//! Preference data for RLHF: file formats, validation, tokenisation and batching.
//!
//! Its modules:
//!
//! - [`jsonl`]: streaming JSON Lines reader (plain or gzip) with line numbers, and an
//!   atomic writer;
//! - [`formats`]: every preference format (TRL pairwise with implicit prompt, soft
//!   pairs, unpaired, prompt-completion (SFT), prompt-only, ranked, HH, OpenAI RFT), read
//!   one record at a time with validation (strict, or lenient with a [`Report`] of what was skipped) and written
//!   back so that records round-trip;
//! - [`template`]: chat templates: a built-in plain one and Hugging Face Jinja templates
//!   from a `tokenizer_config.json` (rendered with minijinja as `transformers` renders
//!   them);
//! - [`tokenize`]: records → token ids with TRL's truncation policy and a
//!   [`TokenizeReport`] of what was cut or dropped; [`PairChunks`] streams a large file
//!   a chunk at a time;
//! - [`batch`]: padded `Int` tensor batches ([`PairBatches`]: chosen and rejected stacked
//!   `[2B, T]`; rankings, unpaired examples, prompts) with seeded length grouping;
//! - [`pipeline`]: the whole way from a preference file to training batches (read → split
//!   by prompt → template and tokenise → batch), configured by [`PairDataConfig`];
//! - [`prompt_data`]: the prompts of an online run, once each and split by prompt
//!   ([`PromptDataConfig`], [`load_prompt_data`]);
//! - [`error`]: [`DataError`], whose messages name file, line and field.
//!
//! ```no_run
//! use pref_data::{ReadOptions, read_hh};
//!
//! let path = "harmless-base-dev.jsonl.gz";
//! let (pairs, report) = read_hh(path, &ReadOptions::default())?;
//! println!("{report}");
//! # Ok::<(), pref_data::DataError>(())
//! ```

#![warn(missing_docs)]

pub mod batch;
pub mod error;
pub mod formats;
pub mod jsonl;
pub mod labelling;
pub mod pipeline;
pub mod prompt_data;
pub mod record;
pub mod source;
pub mod split;
pub mod template;
pub mod tokenize;

pub use batch::{
    BatchConfig, BatchError, PaddingSide, PairBatch, PairBatches, PromptBatch, PromptBatches,
    RankedBatch, RankedBatches, TokenizedPair, TokenizedPrompt, TokenizedRanked, TokenizedUnpaired,
    UnpairedBatch, UnpairedBatches, split_by_prompt_text,
};
pub use error::{Attempt, DataError};
pub use formats::{
    Format, FormatReader, Hh, HhPair, Mode, Pairwise, PromptCompletion, PromptOnly, Ranked,
    ReadOptions, Reason, Report, Rft, Role, SoftPairwise, TurnsError, Unpaired, read_completions,
    read_hh, read_pairs, read_prompts, read_ranked, read_rft, read_soft_pairs, read_unpaired,
    split_rft, split_turns, write_completions, write_hh, write_pairs, write_prompts, write_ranked,
    write_rft, write_soft_pairs, write_unpaired,
};
pub use jsonl::{JsonlReader, parse_line, write_jsonl};
pub use labelling::LabellingError;
pub use pipeline::{
    PairData, PairDataConfig, PairFormat, PairRunSummary, PipelineError, held_out_prompts,
    load_pair_data, model_chat_template, read_pair_file, split_pair_file,
};
pub use prompt_data::{
    PromptData, PromptDataConfig, PromptFormat, PromptRecord, load_prompt_data, read_prompt_file,
};
pub use record::{
    CompletionExample, Message, PreferencePair, PromptExample, RankedExample, RftExample, Text,
    UnpairedExample,
};
pub use source::BatchSource;
pub use split::{SplitFractions, Splits, split_by_prompt};
pub use template::{ChatTemplate, JinjaTemplate, TemplateError, prompt_key};
pub use tokenize::{
    PairChunkError, PairChunks, TokenizeConfig, TokenizeError, TokenizeReport, ranked_to_pairs,
    tokenize_pairs, tokenize_prompts, tokenize_ranked, tokenize_unpaired,
};
