//! # rlhf-core — the contracts the rlhf crates share
//!
//! Small, dependency-light pieces that several crates implement or call, kept here so that
//! none of them has to depend on another's heavy machinery:
//!
//! - [`BatchSource`]: an indexable set of batches that a training loop reads in its own
//!   (seeded) order — implemented by `pref-data`'s batches, read by `train`.
//! - [`reward`]: the [`Reward`] trait that scores rollouts — implemented by reward models
//!   (`reward-model`), closures ([`FnReward`]), graders and AI judges (`rlaif-judge`) — with
//!   its input [`Sample`]/[`RewardInput`] and output [`Scores`].
//! - [`config`]: [`ConfigError`], the one shape of a configuration error (field, expected,
//!   got) every crate's `Config` variant wraps, with the checks configurations repeat.
//! - [`allocator`]: glibc `malloc` settings a training binary sets at start
//!   ([`allocator::tune_for_training`]: keep the heap between steps instead of trimming it).
//! - [`fs`]: atomic file writes ([`write_atomic`], [`AtomicFile`]), the one helper every
//!   writer of checkpoints, caches, reports and datasets uses.
//!
//! A reward over text, scored the way the online trainers call every reward:
//!
//! ```
//! use rlhf_core::{FnReward, Reward, RewardInput, Sample};
//!
//! // +1 for completions that end a sentence, −1 otherwise.
//! let mut reward = FnReward::new("ends_sentence", |s: &Sample| {
//!     if s.completion.trim_end().ends_with('.') { 1.0 } else { -1.0 }
//! });
//! let samples = [
//!     Sample::from_text("Say hi.", "Hi there."),
//!     Sample::from_text("Say hi.", "hi"),
//! ];
//! let scores = reward.score(&RewardInput::new(&samples)).unwrap();
//! assert_eq!(scores.sequence, vec![1.0, -1.0]);
//! ```

#![warn(missing_docs)]

pub mod allocator;
pub mod batch_source;
pub mod config;
pub mod fs;
pub mod reward;

pub use batch_source::BatchSource;
pub use config::ConfigError;
pub use fs::{AtomicFile, write_atomic};
pub use reward::{
    FnReward, Reward, RewardError, RewardInput, Sample, SampleTensors, Scores, WeightedRewards,
};
