//! The `[train]` table of a method's run configuration ([`TrainingConfig`]) and the one
//! shape of a configuration error ([`ConfigError`], re-exported from `rlhf-core`).
//!
//! Every value is given once: the total number of steps is `steps`, and the learning-rate
//! schedule is built from it ([`TrainingConfig::trainer_config`]), so it is never repeated
//! inside a schedule. Defaults are those of Hugging Face `TrainingArguments` as TRL's
//! trainers set them, except where a field says otherwise.

use serde::{Deserialize, Serialize};

use crate::config::{AdamWSettings, TrainerConfig};
use crate::error::TrainError;
use crate::schedule::LrSchedule;

pub use rlhf_core::ConfigError;

/// The shape of the learning-rate schedule after warmup (see [`LrSchedule`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulerKind {
    /// Linear decay to `min_lr_ratio × peak` at the last step (TRL's default, `linear`).
    Linear,
    /// Half-cosine decay to `min_lr_ratio × peak` at the last step.
    Cosine,
    /// Constant after warmup.
    Constant,
}

/// The `[train]` table of a run configuration: optimizer, schedule, loop, checkpoints.
///
/// Defaults are TRL's (`TrainingArguments` as `SFTConfig`, `RewardConfig` and `DPOConfig`
/// set it) where TRL has the same knob; each field says where it differs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingConfig {
    /// Optimizer steps in total, warmup included. Default 100. TRL counts epochs
    /// (`num_train_epochs` 3) unless `max_steps` is set; here steps are the one measure, and
    /// the data is cycled in a seeded order per epoch.
    pub steps: usize,
    /// Examples (SFT) or pairs (reward model, DPO) per micro-batch. Default 8 (TRL's
    /// `per_device_train_batch_size`).
    pub batch_size: usize,
    /// Micro-batches per optimizer step. Default 1 (TRL's `gradient_accumulation_steps`).
    pub grad_accum: usize,
    /// Peak learning rate. Unset: the method's TRL default (SFT 2e-5 from `SFTConfig`,
    /// reward model 1e-4 from `RewardConfig`, DPO 1e-6 from `DPOConfig`).
    pub learning_rate: Option<f64>,
    /// Schedule after warmup: `linear`, `cosine` or `constant`. Default `linear` (TRL's
    /// `lr_scheduler_type`).
    pub lr_scheduler: SchedulerKind,
    /// Linear warmup steps from 0 to the peak. Default 0 (TRL's `warmup_steps`).
    pub warmup_steps: usize,
    /// Final learning rate of `linear`/`cosine` as a fraction of the peak, in `[0, 1]`.
    /// Default 0 (Hugging Face's schedules decay to 0).
    pub min_lr_ratio: f64,
    /// AdamW (Loshchilov & Hutter 2019): `beta1` 0.9, `beta2` 0.999, `epsilon` 1e-8,
    /// `weight_decay` 0 — PyTorch's and TRL's, not burn's (ε 1e-5, decay 1e-4).
    pub adamw: AdamWSettings,
    /// Clip the global gradient L2 norm to this value; 0 turns clipping off. Default 1.0
    /// (TRL's `max_grad_norm`).
    pub max_grad_norm: f64,
    /// Evaluate on the held-out split every this many steps (and at the end); 0: only before
    /// and after training, in the report. Default 0 (TRL's `eval_strategy = "no"`).
    pub eval_every: usize,
    /// Held-out batches per evaluation; 0: all. Default 0.
    pub eval_batches: usize,
    /// Save a checkpoint every this many steps (and at the end); 0: only at the end.
    /// Default 500 (TRL's `save_steps`).
    pub save_every: usize,
    /// Keep only the newest this many checkpoints (at least 1). Default 2 (TRL keeps all
    /// unless `save_total_limit` is set).
    pub keep_checkpoints: usize,
    /// Write training metrics every this many steps. Default 10 (TRL's `logging_steps`).
    pub log_every: usize,
    /// Seed of the data order, the split and fresh weights. Default 42 (TRL's `seed`).
    pub seed: u64,
}

impl Default for TrainingConfig {
    fn default() -> Self {
        Self {
            steps: 100,
            batch_size: 8,
            grad_accum: 1,
            learning_rate: None,
            lr_scheduler: SchedulerKind::Linear,
            warmup_steps: 0,
            min_lr_ratio: 0.0,
            adamw: AdamWSettings::default(),
            max_grad_norm: 1.0,
            eval_every: 0,
            eval_batches: 0,
            save_every: 500,
            keep_checkpoints: 2,
            log_every: 10,
            seed: 42,
        }
    }
}

impl TrainingConfig {
    /// The peak learning rate: `learning_rate`, else the method's `default_lr`.
    pub fn lr(&self, default_lr: f64) -> f64 {
        self.learning_rate.unwrap_or(default_lr)
    }

    /// The schedule: `lr_scheduler` from `warmup_steps` to `steps`.
    pub fn schedule(&self, default_lr: f64) -> LrSchedule {
        let (lr, w) = (self.lr(default_lr), self.warmup_steps);
        match self.lr_scheduler {
            SchedulerKind::Linear => LrSchedule::linear_decay(lr, w, self.steps, self.min_lr_ratio),
            SchedulerKind::Cosine => LrSchedule::cosine(lr, w, self.steps, self.min_lr_ratio),
            SchedulerKind::Constant => LrSchedule::constant(lr, w),
        }
    }

    /// The settings of the shared loop ([`train`](crate::train())).
    pub fn trainer_config(&self, default_lr: f64) -> TrainerConfig {
        TrainerConfig {
            total_steps: self.steps,
            grad_accum: self.grad_accum,
            schedule: self.schedule(default_lr),
            adamw: self.adamw.clone(),
            max_grad_norm: (self.max_grad_norm > 0.0).then_some(self.max_grad_norm),
            eval_every: self.eval_every,
            eval_batches: (self.eval_batches > 0).then_some(self.eval_batches),
            save_every: self.save_every,
            keep_checkpoints: self.keep_checkpoints,
            seed: self.seed,
            log_every: self.log_every,
        }
    }

    /// Checks every field (names relative to the `[train]` table; see
    /// [`ConfigError::within`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let at_least_1 = |field: &str, v: usize| {
            if v == 0 {
                Err(ConfigError::new(field, "at least 1", 0))
            } else {
                Ok(())
            }
        };
        at_least_1("steps", self.steps)?;
        at_least_1("batch_size", self.batch_size)?;
        at_least_1("grad_accum", self.grad_accum)?;
        at_least_1("keep_checkpoints", self.keep_checkpoints)?;
        at_least_1("log_every", self.log_every)?;
        if let Some(lr) = self.learning_rate
            && !(lr.is_finite() && lr > 0.0)
        {
            return Err(ConfigError::new("learning_rate", "a finite number > 0", lr));
        }
        if self.warmup_steps > self.steps {
            return Err(ConfigError::new(
                "warmup_steps",
                format!("at most `steps` ({})", self.steps),
                self.warmup_steps,
            ));
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(ConfigError::new(
                "min_lr_ratio",
                "a number in [0, 1]",
                self.min_lr_ratio,
            ));
        }
        if !(self.max_grad_norm.is_finite() && self.max_grad_norm >= 0.0) {
            return Err(ConfigError::new(
                "max_grad_norm",
                "a finite number ≥ 0 (0: no clipping)",
                self.max_grad_norm,
            ));
        }
        let a = &self.adamw;
        for (field, v) in [("adamw.beta1", a.beta1), ("adamw.beta2", a.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(ConfigError::new(field, "a number in [0, 1)", v));
            }
        }
        if !(a.epsilon.is_finite() && a.epsilon > 0.0) {
            return Err(ConfigError::new(
                "adamw.epsilon",
                "a finite number > 0",
                a.epsilon,
            ));
        }
        if !(a.weight_decay.is_finite() && a.weight_decay >= 0.0) {
            return Err(ConfigError::new(
                "adamw.weight_decay",
                "a finite number ≥ 0",
                a.weight_decay,
            ));
        }
        // Whatever the loop itself would refuse (kept in one place).
        self.trainer_config(1.0).validate().map_err(|e| match e {
            TrainError::Config(e) | TrainError::Schedule(e) => e,
            other => ConfigError::new("train", "settings the training loop accepts", other),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_give_one_step_count() {
        let c = TrainingConfig::default();
        c.validate().unwrap();
        let t = c.trainer_config(1e-6);
        assert_eq!(t.total_steps, 100);
        assert_eq!(t.schedule, LrSchedule::linear_decay(1e-6, 0, 100, 0.0));
        assert_eq!(t.max_grad_norm, Some(1.0));
        assert_eq!(t.eval_batches, None);
    }

    #[test]
    fn validation_names_the_field() {
        let c = TrainingConfig {
            learning_rate: Some(f64::NAN),
            ..TrainingConfig::default()
        };
        let e = c.validate().unwrap_err().within("train");
        assert_eq!(e.field, "train.learning_rate");
        assert_eq!(e.got, "NaN", "{e}");
        let c = TrainingConfig {
            steps: 0,
            ..TrainingConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "steps");
    }
}
