//! Settings of the shared training loop.

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
        let bad = |field: &'static str, message: String| Err(TrainError::Config { field, message });
        if self.total_steps == 0 {
            return bad("total_steps", "must be at least 1, got 0".into());
        }
        if self.grad_accum == 0 {
            return bad("grad_accum", "must be at least 1, got 0".into());
        }
        if self.keep_checkpoints == 0 {
            return bad("keep_checkpoints", "must be at least 1, got 0".into());
        }
        if self.log_every == 0 {
            return bad("log_every", "must be at least 1, got 0".into());
        }
        if let Some(n) = self.max_grad_norm
            && !(n.is_finite() && n > 0.0)
        {
            return bad(
                "max_grad_norm",
                format!("must be a positive number, got {n}"),
            );
        }
        let a = &self.adamw;
        if !(0.0..1.0).contains(&a.beta1) || !(0.0..1.0).contains(&a.beta2) {
            return bad(
                "adamw.beta1/beta2",
                format!("must lie in [0, 1), got {} and {}", a.beta1, a.beta2),
            );
        }
        if a.epsilon <= 0.0 || a.epsilon.is_nan() || a.weight_decay < 0.0 {
            return bad(
                "adamw.epsilon/weight_decay",
                format!(
                    "need ε > 0 and λ ≥ 0, got {} and {}",
                    a.epsilon, a.weight_decay
                ),
            );
        }
        self.schedule.validate()
    }
}
