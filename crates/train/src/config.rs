//! Settings of the shared training loop.

use rlhf_core::ConfigError;
use rlhf_core::config::{check_non_negative, check_non_zero, check_positive};
use serde::{Deserialize, Serialize};

use super::error::TrainError;
use super::schedule::LrSchedule;

/// AdamW hyper-parameters (Loshchilov & Hutter 2019). Defaults follow PyTorch / TRL
/// (`ε = 1e-8`, no weight decay), not burn's (`ε = 1e-5`, decay `1e-4`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdamWSettings {
    /// β₁.
    pub beta1: f32,
    /// β₂.
    pub beta2: f32,
    /// ε.
    pub epsilon: f32,
    /// Decoupled weight decay λ.
    pub weight_decay: f32,
}

impl Default for AdamWSettings {
    fn default() -> Self {
        Self {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Settings of [`train`](super::train).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerConfig {
    /// Optimizer steps to run in total.
    pub total_steps: usize,
    /// Micro-batches per optimizer step (gradient accumulation).
    pub grad_accum: usize,
    /// Learning rate per step.
    pub schedule: LrSchedule,
    /// Optimizer.
    pub adamw: AdamWSettings,
    /// Clip the global gradient L2 norm to this value (`None`: no clipping).
    pub max_grad_norm: Option<f64>,
    /// Evaluate every this many steps (and at the end); 0 disables evaluation.
    pub eval_every: usize,
    /// Evaluate on at most this many validation batches (`None`: all).
    pub eval_batches: Option<usize>,
    /// Save a checkpoint every this many steps (and at the end); 0 saves only at the end.
    pub save_every: usize,
    /// Keep only the newest this many checkpoints (at least 1).
    pub keep_checkpoints: usize,
    /// Seed of the data order.
    pub seed: u64,
    /// Log training metrics every this many steps.
    pub log_every: usize,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            total_steps: 100,
            grad_accum: 1,
            schedule: LrSchedule::cosine(3e-4, 10, 100, 0.1),
            adamw: AdamWSettings::default(),
            max_grad_norm: Some(1.0),
            eval_every: 50,
            eval_batches: None,
            save_every: 50,
            keep_checkpoints: 2,
            seed: 0,
            log_every: 1,
        }
    }
}

impl TrainerConfig {
    /// Rejects settings the loop cannot run with, naming the field.
    pub fn validate(&self) -> Result<(), TrainError> {
        check_non_zero("total_steps", self.total_steps)?;
        check_non_zero("grad_accum", self.grad_accum)?;
        check_non_zero("keep_checkpoints", self.keep_checkpoints)?;
        check_non_zero("log_every", self.log_every)?;
        if let Some(n) = self.max_grad_norm {
            check_positive("max_grad_norm", n)?;
        }
        let a = &self.adamw;
        for (field, v) in [("adamw.beta1", a.beta1), ("adamw.beta2", a.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(ConfigError::new(field, "a value in [0, 1)", v).into());
            }
        }
        check_positive("adamw.epsilon", a.epsilon)?;
        check_non_negative("adamw.weight_decay", a.weight_decay)?;
        self.schedule.validate()
    }
}
