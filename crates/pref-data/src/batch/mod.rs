//! Tokenised records → padded `Int` tensor batches on a device.
//!
//! Every batch source here implements [`BatchSource`](crate::BatchSource):
//!
//! - [`PairBatches`] → [`PairBatch`]: chosen and rejected rows stacked in one `[2B, T]`
//!   batch (rows `0..B` chosen, `B..2B` rejected: TRL's concatenated forward), with
//!   attention and completion masks, soft labels, margins and weights;
//! - [`RankedBatches`] → [`RankedBatch`]: Plackett–Luce form, `K` completions per prompt,
//!   best first, batches grouped by `K`;
//! - [`UnpairedBatches`] → [`UnpairedBatch`]: one completion per row with a desirable /
//!   undesirable label (KTO);
//! - [`PromptBatches`] → [`PromptBatch`]: left-padded prompts for generation.
//!
//! A row is `prompt ++ completion`, padded with the pad id to the batch's longest row on
//! the [`PaddingSide`] of [`BatchConfig`] (prompts for generation: always left).
//! `attention_mask` is 1 on real tokens, `completion_mask` 1 on completion tokens (EOS
//! included when present), so `completion_mask ⊆ attention_mask`.
//!
//! # Order
//!
//! Batches are fixed at construction, deterministically from [`BatchConfig::seed`]: the
//! records are shuffled; with [`BatchConfig::group_by_length`] they are then sorted by
//! length inside windows of 32 batches (length-grouped bucketing, as TRL's
//! `group_by_length`, to cut padding); they are cut into batches of
//! [`BatchConfig::batch_size`] (the last one may be smaller), and the batch order is
//! shuffled. The training loop shuffles batch order per epoch on top of this.

mod collate;
mod pairs;
mod plan;
mod prompts;
mod ranked;
mod split;
mod unpaired;

pub use lm::tokenizer::PaddingSide;
pub use pairs::{PairBatch, PairBatches, TokenizedPair};
pub use prompts::{PromptBatch, PromptBatches, TokenizedPrompt};
pub use ranked::{RankedBatch, RankedBatches, TokenizedRanked};
pub use split::split_by_prompt_text;
pub use unpaired::{TokenizedUnpaired, UnpairedBatch, UnpairedBatches};

use rlhf_core::ConfigError;
use rlhf_core::config::check_non_zero;
use serde::{Deserialize, Serialize};

/// How records are grouped and padded into batches (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchConfig {
    /// Records per batch (pairs for [`PairBatches`], prompts for [`RankedBatches`]).
    pub batch_size: usize,
    /// Which end of a row receives padding ([`PromptBatches`] always pad left).
    pub padding_side: PaddingSide,
    /// Seed of the shuffles.
    pub seed: u64,
    /// Sort by length inside windows of 32 batches, to cut padding.
    pub group_by_length: bool,
}

impl Default for BatchConfig {
    /// 8 per batch, right padding, seed 0, length grouping on.
    fn default() -> Self {
        Self {
            batch_size: 8,
            padding_side: PaddingSide::Right,
            seed: 0,
            group_by_length: true,
        }
    }
}

impl BatchConfig {
    /// Checks `batch_size > 0`.
    pub fn validate(&self) -> Result<(), BatchError> {
        Ok(check_non_zero("batch_size", self.batch_size)?)
    }
}

/// Errors building batches.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A [`BatchConfig`] field is out of range.
    #[error("batch config: {0}")]
    Config(#[from] ConfigError),
    /// A tokenised record cannot be batched.
    #[error("tokenised record #{index}: field `{field}`: expected {expected}, got {got}")]
    InvalidRecord {
        /// Index of the record in the input vector.
        index: usize,
        /// The field.
        field: &'static str,
        /// What is required.
        expected: String,
        /// What was found.
        got: String,
    },
}
