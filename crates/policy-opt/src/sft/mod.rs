//! Supervised fine-tuning (SFT): maximum likelihood on prompt/completion text, the first
//! stage of the RLHF pipeline (Ouyang et al. 2022, §3.5). [`run()`] runs a whole SFT from an
//! [`SftRunConfig`].

mod data;
mod loss;
mod method;
mod run;
mod run_config;

pub use data::{
    SftBatch, SftBatches, SftDataConfig, SftDataReport, SftExample, SftSequence, tokenize_examples,
};
pub use loss::{sft_loss, sft_loss_chunked, sft_loss_from_logprobs};
pub use method::Sft;
pub use run::{SftReport, run};
pub use run_config::{SFT_DEFAULT_LR, ScratchModel, SftFormat, SftRunConfig, SftRunData};
