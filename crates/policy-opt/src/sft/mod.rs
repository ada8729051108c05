//! Supervised fine-tuning (SFT): maximum likelihood on prompt/completion text, the first
//! stage of the RLHF pipeline (Ouyang et al. 2022, §3.5).

mod data;
mod loss;
mod method;

pub use data::{
    SftBatch, SftBatches, SftDataConfig, SftDataReport, SftExample, SftSequence, tokenize_examples,
};
pub use loss::{sft_loss, sft_loss_chunked, sft_loss_from_logprobs};
pub use method::Sft;
