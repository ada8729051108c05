//! Preference-data file formats: reading with validation, and writing.
//!
//! Every format is JSON Lines, one record per line, plain or gzip-compressed (detected
//! from the file's first bytes on reading; chosen by a `.gz` file name on writing). A
//! text (prompt or completion) is either a string or, in TRL's conversational form, a
//! list of `{"role": ..., "content": ...}` messages; within a record all texts have the
//! same form.
//!
//! | format | record | fields |
//! |---|---|---|
//! | [`Pairwise`] | [`PreferencePair`] | `prompt` (optional: implicit prompt), `chosen`, `rejected`, `margin` (optional, ≥ 0) |
//! | [`SoftPairwise`] | [`PreferencePair`] | `prompt`, `a`, `b`, `p_a` (in `[0, 1]`), `margin` (optional) |
//! | [`Unpaired`] | [`UnpairedExample`] | `prompt`, `completion`, `label` (boolean) |
//! | [`PromptCompletion`] | [`CompletionExample`] | `prompt`, `completion` (SFT) |
//! | [`PromptOnly`] | [`PromptExample`] | `prompt`, `reference` (optional; aliases `answer`, `solution`, `ground_truth`) |
//! | [`Ranked`] | [`RankedExample`] | `prompt`, `completions` (K ≥ 2, best first), `scores` (optional, one per completion) |
//! | [`Hh`] | [`HhPair`] | Anthropic HH-RLHF: `chosen`, `rejected` full dialogues |
//! | [`Rft`] | [`RftExample`] | OpenAI RFT: `messages` (last from `user`), any other fields (the grader's `item`) |
//!
//! Optional fields may also be `null`. Fields a format does not know are ignored, as TRL
//! ignores extra columns, unless [`ReadOptions::deny_unknown_fields`] is set, in which
//! case they are a [`Reason::UnknownField`] problem (in message objects too).
//!
//! # Validation
//!
//! Every record is checked: missing fields, wrong types, malformed messages, mixed
//! plain/conversational forms, empty completions, identical chosen and rejected (after
//! trimming whitespace), probabilities outside `[0, 1]`, negative margins, rankings with
//! fewer than two completions, duplicate completions, or a `scores` list of another length,
//! and ties in scores unless [`ReadOptions::allow_ties`]. A problem's message names the
//! file, the line and the field, with what was expected and what was found:
//!
//! ```text
//! data.jsonl:12: field `p_a`: expected a probability in [0, 1], got 1.5
//! ```
//!
//! In [`Mode::Strict`] the first bad record is an error; in [`Mode::Lenient`] (the
//! default) it is skipped and counted in a [`Report`] (counts per [`Reason`] and the first
//! [`EXAMPLES_PER_REASON`] examples of each). Either way, I/O errors and corrupt or
//! truncated gzip streams are errors, and so is a file in which no line at all is JSON
//! ([`DataError::NotJsonLines`]).
//!
//! Writers validate too: a record that could not be read back unchanged (a soft label in
//! the hard [`Pairwise`] format, a NaN, an empty completion...) is a
//! [`DataError::InvalidOutput`] and nothing is written. So every record a writer accepts
//! reads back equal, and every record a reader returns can be written.
//!
//! # Implicit prompt
//!
//! A [`Pairwise`] record without `prompt` has an implicit prompt, extracted as TRL's
//! `extract_prompt` does: for messages, the longest common prefix of the `chosen` and
//! `rejected` message lists; for strings, the longest common prefix of the two strings,
//! moved back by one character when the first differing character follows a space (so
//! that `"The sky is blue"`/`"The sky is green"` give the prompt `"The sky is"` and the
//! completions `" blue"`/`" green"`). As in TRL's `maybe_extract_prompt`, a `prompt` whose
//! form (string or messages) differs from that of `chosen` is not the prompt: the prompt is
//! then extracted from `chosen` and `rejected` (datasets that store the question as a
//! string next to full conversations). Two differences from TRL, both on inputs TRL
//! mishandles: when one text is a prefix of the other (or they are equal), TRL's loop puts
//! the last shared character or message in both completions, whereas here the shorter
//! completion is empty and the record is rejected ([`Reason::EmptyText`] or
//! [`Reason::IdenticalCompletions`]); and when the texts differ from their first character,
//! TRL's `chosen[idx - 1]` wraps around to the last character, whereas here the prompt is
//! empty. Writers always write the prompt explicitly.
//!
//! # Example
//!
//! ```no_run
//! use pref_data::formats::{FormatReader, Mode, Pairwise, ReadOptions, read_pairs, write_pairs};
//!
//! // Everything at once, skipping bad records.
//! let (pairs, report) = read_pairs("prefs.jsonl.gz", &ReadOptions::default())?;
//! println!("{report}");
//! write_pairs("clean.jsonl", &pairs)?;
//!
//! // One record at a time (constant memory), failing on the first bad record.
//! let opts = ReadOptions::default().mode(Mode::Strict);
//! for item in FormatReader::open("prefs.jsonl.gz", Pairwise, opts)? {
//!     let (line, pair) = item?;
//!     println!("line {line}: p = {}", pair.p_chosen);
//! }
//! # Ok::<(), pref_data::DataError>(())
//! ```

mod completion;
mod hh;
mod pairwise;
mod prompt;
mod ranked;
mod reader;
pub mod report;
mod rft;
mod soft;
mod unpaired;
pub(crate) mod value;
mod writer;

use std::path::Path;

use serde_json::Value;

pub use completion::PromptCompletion;
pub use hh::{ASSISTANT_MARKER, HUMAN_MARKER, Hh, HhPair, Role, TurnsError, split_turns};
pub use pairwise::{Pairwise, extract_prompt};
pub use prompt::{PromptOnly, REFERENCE_ALIASES};
pub use ranked::Ranked;
pub use reader::{
    CompletionReader, FormatReader, HhReader, PairReader, PromptReader, RankedReader, RftReader,
    SoftPairReader, UnpairedReader, parse_line, parse_record, read,
};
pub use report::{EXAMPLES_PER_REASON, Example, Problem, Reason, Report};
pub use rft::{Rft, split_rft};
pub use soft::SoftPairwise;
pub use unpaired::Unpaired;
pub use writer::write;

use crate::error::DataError;
use crate::record::{
    CompletionExample, PreferencePair, PromptExample, RankedExample, RftExample, UnpairedExample,
};

/// How a reader treats an invalid record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Fail on the first invalid line, with an error naming file, line and field.
    Strict,
    /// Skip invalid lines, counting each in the [`Report`].
    #[default]
    Lenient,
}

/// How a reader validates records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadOptions {
    /// Strict (fail on the first bad record) or lenient (skip and report; the default).
    pub mode: Mode,
    /// Treat fields the format does not know (top-level, and in messages) as a problem
    /// ([`Reason::UnknownField`]). Off by default: TRL ignores extra columns.
    pub deny_unknown_fields: bool,
    /// Accept equal scores in a [`Ranked`] record (they imply no pair, see
    /// [`RankedExample::implied_pairs`]). Off by default: a tie is a [`Reason::Tie`]
    /// problem, for losses that need a strict order.
    pub allow_ties: bool,
}

impl ReadOptions {
    /// The defaults with strict mode.
    pub fn strict() -> Self {
        Self::default().mode(Mode::Strict)
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets [`ReadOptions::deny_unknown_fields`].
    pub fn deny_unknown_fields(mut self, deny: bool) -> Self {
        self.deny_unknown_fields = deny;
        self
    }

    /// Sets [`ReadOptions::allow_ties`].
    pub fn allow_ties(mut self, allow: bool) -> Self {
        self.allow_ties = allow;
        self
    }
}

/// A file format: how one JSON record becomes a validated in-memory record, and back.
///
/// The reading machinery ([`FormatReader`], [`read`], [`parse_line`]) and the writer
/// ([`write()`]) are shared; a format only says what its records look like.
pub trait Format {
    /// The in-memory record.
    type Record: PartialEq;

    /// The format's name, for messages.
    fn name(&self) -> &'static str;

    /// Every top-level field the format knows (for
    /// [`ReadOptions::deny_unknown_fields`]).
    fn fields(&self) -> &'static [&'static str];

    /// Whether records may carry any other field as data (the [`Rft`] format's item
    /// fields), so that [`ReadOptions::deny_unknown_fields`] does not apply to top-level
    /// fields. `false` by default.
    fn open_fields(&self) -> bool {
        false
    }

    /// Validates one parsed JSON record. Fields not in [`Format::fields`] are ignored
    /// here (the shared machinery checks them).
    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<Self::Record, Problem>;

    /// The JSON record for `record`; fails if `record` cannot be represented. [`write()`]
    /// also checks that the result parses back to `record`.
    fn to_json(&self, record: &Self::Record) -> Result<Value, Problem>;
}

/// Reads a [`Pairwise`] file (TRL preference format).
pub fn read_pairs(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<PreferencePair>, Report), DataError> {
    read(path, Pairwise, opts)
}

/// Reads a [`SoftPairwise`] file (`{"prompt", "a", "b", "p_a"}`).
pub fn read_soft_pairs(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<PreferencePair>, Report), DataError> {
    read(path, SoftPairwise, opts)
}

/// Reads a [`PromptCompletion`] file (SFT: `{"prompt", "completion"}`).
pub fn read_completions(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<CompletionExample>, Report), DataError> {
    read(path, PromptCompletion, opts)
}

/// Reads an [`Unpaired`] file (KTO-style `{"prompt", "completion", "label"}`).
pub fn read_unpaired(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<UnpairedExample>, Report), DataError> {
    read(path, Unpaired, opts)
}

/// Reads a [`PromptOnly`] file (`{"prompt", "reference"?}`).
pub fn read_prompts(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<PromptExample>, Report), DataError> {
    read(path, PromptOnly, opts)
}

/// Reads a [`Ranked`] file (`{"prompt", "completions", "scores"?}`).
pub fn read_ranked(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<RankedExample>, Report), DataError> {
    read(path, Ranked, opts)
}

/// Reads an [`Hh`] file (Anthropic HH-RLHF: `{"chosen", "rejected"}` full dialogues) into
/// [`HhPair`]s (convert them to [`PreferencePair`]s with `From`).
///
/// As every reader: in [`Mode::Strict`] the first invalid line is an error naming file, line
/// and field; in [`Mode::Lenient`] invalid lines are skipped and counted in the [`Report`].
/// For streaming, use [`HhReader`].
pub fn read_hh(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<HhPair>, Report), DataError> {
    read(path, Hh, opts)
}

/// Writes hard-labelled pairs in the [`Pairwise`] format (explicit prompt); returns the
/// number written. Fails, writing nothing, on a pair with `p_chosen != 1` (use
/// [`write_soft_pairs`]) or any invalid pair.
pub fn write_pairs<'a>(
    path: impl AsRef<Path>,
    pairs: impl IntoIterator<Item = &'a PreferencePair>,
) -> Result<usize, DataError> {
    write(path, &Pairwise, pairs)
}

/// Writes pairs in the [`SoftPairwise`] format (`a` = chosen, `b` = rejected,
/// `p_a` = `p_chosen`).
pub fn write_soft_pairs<'a>(
    path: impl AsRef<Path>,
    pairs: impl IntoIterator<Item = &'a PreferencePair>,
) -> Result<usize, DataError> {
    write(path, &SoftPairwise, pairs)
}

/// Reads an [`Rft`] file (OpenAI's reinforcement fine-tuning format: `{"messages", ...}`).
pub fn read_rft(
    path: impl AsRef<Path>,
    opts: &ReadOptions,
) -> Result<(Vec<RftExample>, Report), DataError> {
    read(path, Rft, opts)
}

/// Writes [`Rft`] examples (`messages` then the item's fields).
pub fn write_rft<'a>(
    path: impl AsRef<Path>,
    examples: impl IntoIterator<Item = &'a RftExample>,
) -> Result<usize, DataError> {
    write(path, &Rft, examples)
}

/// Writes [`PromptCompletion`] examples (SFT data).
pub fn write_completions<'a>(
    path: impl AsRef<Path>,
    examples: impl IntoIterator<Item = &'a CompletionExample>,
) -> Result<usize, DataError> {
    write(path, &PromptCompletion, examples)
}

/// Writes [`Unpaired`] examples.
pub fn write_unpaired<'a>(
    path: impl AsRef<Path>,
    examples: impl IntoIterator<Item = &'a UnpairedExample>,
) -> Result<usize, DataError> {
    write(path, &Unpaired, examples)
}

/// Writes [`PromptOnly`] examples (the reference under its canonical name `reference`).
pub fn write_prompts<'a>(
    path: impl AsRef<Path>,
    examples: impl IntoIterator<Item = &'a PromptExample>,
) -> Result<usize, DataError> {
    write(path, &PromptOnly, examples)
}

/// Writes [`Ranked`] examples (ties in scores are written as they are).
pub fn write_ranked<'a>(
    path: impl AsRef<Path>,
    examples: impl IntoIterator<Item = &'a RankedExample>,
) -> Result<usize, DataError> {
    write(path, &Ranked, examples)
}

/// Writes HH-RLHF pairs as `{"chosen": prompt + chosen, "rejected": prompt + rejected}`.
pub fn write_hh<'a>(
    path: impl AsRef<Path>,
    pairs: impl IntoIterator<Item = &'a HhPair>,
) -> Result<usize, DataError> {
    write(path, &Hh, pairs)
}
