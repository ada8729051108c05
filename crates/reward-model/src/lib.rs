//! # reward-model — reward models learned from preferences
//!
//! Phase two of RLHF: a model that maps a (prompt, completion) to a scalar score.
//!
//! - [`model`]: the [`RewardModel`] trait and [`ScalarRewardModel`], any
//!   [`CausalLm`](lm::CausalLm) backbone with a scalar head, initialised from an SFT
//!   checkpoint, lower layers optionally frozen.
//! - [`loss`]: Bradley-Terry with margins, reward centering, soft labels, Plackett-Luce and
//!   InstructGPT's all-pairs loss — pure functions over reward tensors.
//! - [`method`]: the training steps for the shared loop ([`train::train`]: AdamW, schedule,
//!   accumulation, checkpoints with exact resume, NaN guard, metrics JSONL and plots):
//!   [`PairwiseRm`] and [`RankedRm`].
//! - [`pmp`]: preference-model pretraining, then fine-tuning (two runs of the loop).
//! - [`eval`]: pairwise accuracy, mean margin, calibration (ECE), reward statistics, JSON
//!   report.
//! - [`dense`]: several reward models combined with weights, segment-level dense rewards
//!   as a per-token tensor for PPO.
//! - [`normalize`]: running mean/std of rewards fitted on a reference set, applied when the
//!   model is the PPO reward.
//! - [`online`]: reward models as [`rlhf_core::Reward`]s for online RL: [`ModelReward`] and
//!   the ensemble with segment-level dense rewards.
//! - [`run()`]: a whole reward-model run from a [`RewardRunConfig`] (backbone folder, data
//!   file, training, held-out report, saved model); [`evaluate_file`], a saved model on a
//!   preference file.
//! - [`error`]: the error type, [`RmError`].
//!
//! A scalar-head reward model over a small transformer, and the Bradley-Terry loss of its
//! scores on a (chosen, rejected) pair:
//!
//! ```
//! use burn::tensor::{Int, Tensor};
//! use lm::{Transformer, TransformerConfig};
//! use reward_model::{RewardModel, ScalarRewardModel, loss::bradley_terry};
//!
//! let device = lm::select_device().unwrap();
//! let backbone = Transformer::new(&TransformerConfig::llama(64, 32, 2, 4, 2, 64), 0, &device).unwrap();
//! let rm = ScalarRewardModel::new(backbone, 0, &device);
//! // row 0 chosen, row 1 rejected; the score is read at each row's last real token
//! let ids = Tensor::<2, Int>::from_ints([[5, 6, 7, 8], [5, 6, 9, 0]], &device);
//! let mask = Tensor::<2, Int>::from_ints([[1, 1, 1, 1], [1, 1, 1, 0]], &device);
//! let scores = rm.score(ids, mask);
//! let loss = bradley_terry(scores.clone().slice([0..1]), scores.slice([1..2]), None, None);
//! assert!(loss.into_scalar::<f32>() > 0.0);
//! ```

#![warn(missing_docs)]

pub mod dense;
pub mod error;
pub mod eval;
mod eval_file;
mod folder;
mod load;
pub mod loss;
pub mod method;
pub mod model;
pub mod normalize;
pub mod online;
pub mod pmp;
mod run;
mod run_config;

pub use dense::{
    DenseRewards, Granularity, RewardComponent, RewardEnsemble, segment_end_mask, segment_rewards,
};
pub use error::{RmError, RmResult};
pub use eval::{
    CalibrationBin, EvalReport, PairScores, RewardStats, calibration, evaluate_scores, score_pairs,
    wilson_interval,
};
pub use eval_file::evaluate_file;
pub use load::{FolderReward, NORMALIZER_FILE, load_reward};
pub use method::{PairwiseRm, RankedRm};
pub use model::{FreezeLower, RewardModel, ScalarRewardModel};
pub use normalize::{NormalizedRewardModel, RewardNormalizer};
pub use online::ModelReward;
pub use pmp::{PmpOutcome, Stage, train_pmp_then_finetune};
pub use run::{RewardReport, RewardRunError, run};
pub use run_config::{REWARD_DEFAULT_LR, RewardRunConfig};
