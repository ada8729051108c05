//! Online RL: PPO with KL control (RLHF), GRPO, RLOO and REINFORCE++ in one loop.
//!
//! - [`config`]: [`OnlineConfig`] and each algorithm's settings ([`Algorithm`]), with TRL's
//!   and OpenRLHF's defaults;
//! - [`model`]: [`ActorCritic`], the policy with an optional value head or critic;
//! - [`run`]: [`train_online`], the loop (rollout → advantages → minibatch epochs on the
//!   shared [`train::Trainer`] engine → metrics, checkpoints with exact resume);
//! - [`eval`]: [`evaluate_policy`], reward and KL on held-out prompts.
//!
//! The rollout machinery is [`crate::rollout`], the estimators [`crate::advantage`], the
//! losses [`crate::objective`]; this module only composes them per algorithm.

pub mod config;
mod error;
mod estimate;
pub mod eval;
mod loss;
pub mod model;
pub mod run;

pub use config::{
    Algorithm, GrpoConfig, LossType, LrDecay, OnDivergence, OnlineConfig, PpoConfig,
    ReinforcePpConfig, RlooConfig,
};
pub use error::OnlineError;
pub use eval::{PolicyEval, evaluate_policy};
pub use model::{ActorCritic, PolicyModule, RlForward, ValueFunction};
pub use run::{ONLINE_PLOT_KEYS, OnlineInputs, OnlineOutcome, OnlineState, train_online};
