//! Online RL: PPO with KL control (RLHF), GRPO, RLOO and REINFORCE++ in one loop.
//!
//! - [`config`]: [`OnlineConfig`] and each algorithm's settings ([`Algorithm`]), with TRL's
//!   and OpenRLHF's defaults;
//! - [`model`]: [`ActorCritic`], the policy with an optional value head or critic;
//! - [`train_loop`]: [`train_online`], the loop (rollout → advantages → minibatch epochs on
//!   the shared [`train::Trainer`] engine → metrics, checkpoints with exact resume);
//! - [`eval`]: [`evaluate_policy`], reward and KL on held-out prompts;
//! - [`run()`]: the one-call entry point from an [`OnlineRunConfig`] (model folder, prompt
//!   file, reward, settings), [`run_with_reward`] for any [`rlhf_core::Reward`] made in
//!   code, and [`evaluate_run`] for saved policies.
//!
//! The rollout machinery is [`crate::rollout`], the estimators [`crate::advantage`], the
//! losses [`crate::objective`]; this module only composes them per algorithm.

pub mod config;
mod error;
mod estimate;
pub mod eval;
mod loss;
pub mod model;
mod pairs;
mod reward_source;
mod run;
mod run_config;
pub mod train_loop;

pub use config::{
    Algorithm, GrpoConfig, LossType, LrDecay, OnDivergence, OnlineConfig, PpoConfig,
    ReinforcePpConfig, RlooConfig,
};
pub use error::OnlineError;
pub use eval::{PolicyEval, PolicyEvalSummary, evaluate_policy};
pub use model::{ActorCritic, PolicyModule, RlForward, ValueFunction};
pub use pairs::{RankedPairsReport, write_ranked_pairs};
pub use reward_source::{GraderSource, RewardModelSource, RewardSource};
pub use run::{
    EvalPoint, OnlineReport, SampleComparison, evaluate_run, evaluate_run_with_reward, run,
    run_with_reward, run_with_rewards,
};
pub use run_config::OnlineRunConfig;
pub use train_loop::{ONLINE_PLOT_KEYS, OnlineInputs, OnlineOutcome, OnlineState, train_online};
