//! [`OnlineConfig`]: every setting of an online run, with the algorithm's own in
//! [`Algorithm`]. Defaults follow TRL (1.16 for GRPO and RLOO; the last TRL `PPOTrainer`,
//! `trl/experimental/ppo`, for PPO) and OpenRLHF (REINFORCE++) where they have the same knob.

use kl_control::{FixedKlConfig, KlControllerConfig, KlEstimator};
use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};
use train::AdamWSettings;

use super::OnlineError;
use crate::advantage::ScaleRewards;
use crate::objective::ImportanceLevel;
use crate::rollout::RolloutConfig;

/// PPO with a KL penalty in the reward (Schulman et al. 2017; Ziegler et al. 2019; Stiennon et
/// al. 2020; Ouyang et al. 2022): per-token rewards `−β·KL_t` plus the sequence score on the
/// last completion token (plus dense rewards), GAE over completion tokens, whitened advantages,
/// the clipped surrogate and the clipped value loss.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PpoConfig {
    /// The KL coefficient β: fixed (TRL's `kl_coef`, default 0.05) or adaptive to a target
    /// (Ziegler et al. 2019, §2.2).
    pub kl: KlControllerConfig,
    /// Per-token KL estimator in the reward (TRL's `kl_estimator`, default `k1`).
    pub kl_estimator: KlEstimator,
    /// Discount γ (default 1.0, TRL's).
    pub gamma: f64,
    /// GAE λ (Schulman et al. 2016; default 0.95, TRL's).
    pub lam: f64,
    /// Clip range ε of the ratio (TRL's `cliprange`, default 0.2).
    pub cliprange: f64,
    /// Clip range of the value prediction (TRL's `cliprange_value`, default 0.2).
    pub cliprange_value: f64,
    /// Weight of the value loss (TRL's `vf_coef`, default 0.1).
    pub vf_coef: f64,
    /// Weight of the entropy bonus (default 0: off, as in TRL).
    pub entropy_coef: f64,
    /// Whiten the per-token rewards before GAE (TRL's `whiten_rewards`, default false).
    pub whiten_rewards: bool,
    /// Whiten the advantages over the rollout's completion tokens (TRL always does; default
    /// true).
    pub whiten_advantages: bool,
    /// Passes over each rollout (TRL's `num_ppo_epochs`, default 4).
    pub epochs: usize,
    /// Stop the epochs of an iteration early once a minibatch's approximate KL
    /// `½·mean((log π_θ − log π_old)²)` exceeds this (OpenAI Spinning Up's `target_kl`
    /// check, default none).
    pub kl_early_stop: Option<f64>,
}

impl Default for PpoConfig {
    fn default() -> Self {
        Self {
            kl: KlControllerConfig::Fixed(FixedKlConfig::new(0.05)),
            kl_estimator: KlEstimator::K1,
            gamma: 1.0,
            lam: 0.95,
            cliprange: 0.2,
            cliprange_value: 0.2,
            vf_coef: 0.1,
            entropy_coef: 0.0,
            whiten_rewards: false,
            whiten_advantages: true,
            epochs: 4,
            kl_early_stop: None,
        }
    }
}

/// How GRPO reduces its per-token loss (TRL's `loss_type`; verl's `loss_agg_mode` in
/// brackets; see [`crate::objective::LossAggregation`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossType {
    /// Mean of the sequences' token means (DeepSeekMath eq. 3) [seq-mean-token-mean].
    Grpo,
    /// Token mean over the micro-batch [token-mean].
    Bnpo,
    /// Token sum / (B · max_new_tokens) (Dr. GRPO, Liu et al. 2025) [seq-mean-token-sum-norm].
    DrGrpo,
    /// Token sum / completion tokens of the whole minibatch (DAPO, Yu et al. 2025; TRL 1.16's
    /// default) [token-mean].
    #[default]
    Dapo,
}

/// GRPO (Shao et al. 2024, "DeepSeekMath", §4): group-normalised advantages of `G` samples per
/// prompt, the KL as a k3 loss term, the clipped surrogate with separate low/high ε (DAPO),
/// optional sequence-level ratios (GSPO) and dynamic sampling (DAPO).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrpoConfig {
    /// KL coefficient β of the k3 loss term (TRL 1.16's `beta`, default 0.0: no reference is
    /// needed; DeepSeekMath used 0.04).
    pub beta: f64,
    /// Lower clip ε (TRL's `epsilon`, default 0.2).
    pub epsilon_low: f64,
    /// Upper clip ε (TRL's `epsilon_high`, default = `epsilon_low`; DAPO recommends 0.28).
    pub epsilon_high: f64,
    /// Reward scaling of the group advantages (TRL's `scale_rewards`, default `group`;
    /// `none` is Dr. GRPO).
    pub scale_rewards: ScaleRewards,
    /// Loss aggregation (TRL's `loss_type`, default `dapo`).
    pub loss_type: LossType,
    /// Token or sequence (GSPO) importance ratios (TRL's `importance_sampling_level`, default
    /// `token`).
    pub importance_sampling_level: ImportanceLevel,
    /// Drop groups whose rewards are all equal (no signal) before the update (DAPO's dynamic
    /// sampling, Yu et al. 2025, §3.2, without its re-sampling; default false).
    pub dynamic_sampling: bool,
    /// Weight of the entropy bonus (default 0).
    pub entropy_coef: f64,
    /// Passes over each rollout (TRL's `num_iterations` μ, default 1).
    pub epochs: usize,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        Self {
            beta: 0.0,
            epsilon_low: 0.2,
            epsilon_high: 0.2,
            scale_rewards: ScaleRewards::Group,
            loss_type: LossType::Dapo,
            importance_sampling_level: ImportanceLevel::Token,
            dynamic_sampling: false,
            entropy_coef: 0.0,
            epochs: 1,
        }
    }
}

/// RLOO (Ahmadian et al. 2024, "Back to Basics"), as TRL 1.16's `RLOOTrainer`: the sequence
/// reward minus `β·Σ_t (log π_old − log π_ref)`, a leave-one-out baseline over the `k`
/// samples of each prompt, and a sequence-level clipped ratio.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RlooConfig {
    /// KL coefficient β in the reward (TRL's `beta`, default 0.05).
    pub beta: f64,
    /// Lower clip ε (TRL's `epsilon`, default 0.2).
    pub epsilon_low: f64,
    /// Upper clip ε (TRL's `epsilon_high`, default = `epsilon_low`).
    pub epsilon_high: f64,
    /// Normalise the advantages over the rollout to mean 0, std 1 (TRL's
    /// `normalize_advantages`, default false).
    pub normalize_advantages: bool,
    /// Passes over each rollout (TRL's `num_iterations`, default 1).
    pub epochs: usize,
}

impl Default for RlooConfig {
    fn default() -> Self {
        Self {
            beta: 0.05,
            epsilon_low: 0.2,
            epsilon_high: 0.2,
            normalize_advantages: false,
            epochs: 1,
        }
    }
}

/// REINFORCE++ (Hu 2025), as OpenRLHF's `advantage_estimator = reinforce`: the KL in the
/// per-token reward, discounted returns, advantages normalised over every completion token of
/// the rollout, the clipped surrogate. With `baseline`, REINFORCE++-baseline: the group mean
/// of the scores subtracted first (`G ≥ 2` samples per prompt).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReinforcePpConfig {
    /// KL coefficient β in the reward (OpenRLHF's `init_kl_coef`, default 0.01).
    pub beta: f64,
    /// Per-token KL estimator in the reward (OpenRLHF's `kl_estimator`, default `k1`).
    pub kl_estimator: KlEstimator,
    /// Discount γ (default 1.0).
    pub gamma: f64,
    /// Clip range ε (OpenRLHF's `eps_clip`, default 0.2).
    pub cliprange: f64,
    /// Subtract the group mean of the scores (REINFORCE++-baseline; default false).
    pub baseline: bool,
    /// Passes over each rollout (default 1).
    pub epochs: usize,
}

impl Default for ReinforcePpConfig {
    fn default() -> Self {
        Self {
            beta: 0.01,
            kl_estimator: KlEstimator::K1,
            gamma: 1.0,
            cliprange: 0.2,
            baseline: false,
            epochs: 1,
        }
    }
}

/// The online algorithm and its settings (`kind = "ppo" | "grpo" | "rloo" | "reinforce_pp"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Algorithm {
    /// [`PpoConfig`].
    Ppo(PpoConfig),
    /// [`GrpoConfig`].
    Grpo(GrpoConfig),
    /// [`RlooConfig`].
    Rloo(RlooConfig),
    /// [`ReinforcePpConfig`].
    ReinforcePp(ReinforcePpConfig),
}

impl Default for Algorithm {
    fn default() -> Self {
        Self::Grpo(GrpoConfig::default())
    }
}

impl Algorithm {
    /// `ppo`, `grpo`, `rloo` or `reinforce_pp`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ppo(_) => "ppo",
            Self::Grpo(_) => "grpo",
            Self::Rloo(_) => "rloo",
            Self::ReinforcePp(_) => "reinforce_pp",
        }
    }

    /// Passes over each rollout.
    pub fn epochs(&self) -> usize {
        match self {
            Self::Ppo(c) => c.epochs,
            Self::Grpo(c) => c.epochs,
            Self::Rloo(c) => c.epochs,
            Self::ReinforcePp(c) => c.epochs,
        }
    }

    /// Whether the algorithm needs reference log-probs with these settings (a KL term with
    /// β > 0, or an adaptive β).
    pub fn needs_reference(&self) -> bool {
        match self {
            Self::Ppo(c) => match &c.kl {
                KlControllerConfig::Fixed(f) => f.beta > 0.0,
                KlControllerConfig::Adaptive(_) => true,
            },
            Self::Grpo(c) => c.beta > 0.0,
            Self::Rloo(c) => c.beta > 0.0,
            Self::ReinforcePp(c) => c.beta > 0.0,
        }
    }
}

/// How the learning rate decays after warmup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrDecay {
    /// Constant.
    Constant,
    /// Linear to `min_lr_ratio · lr` (TRL's default `lr_scheduler_type = "linear"`).
    #[default]
    Linear,
    /// Half cosine to `min_lr_ratio · lr`.
    Cosine,
}

/// What to do when an importance ratio explodes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDivergence {
    /// Stop the run with an error naming the step (the last good checkpoint is kept).
    #[default]
    Error,
    /// Clamp `log π_θ − log π_old` to `±max_log_ratio` (no gradient beyond) and go on.
    Clip,
}

/// Every setting of an online run.
///
/// The number of optimizer steps is derived: `iterations × epochs × minibatches`, each
/// optimizer step accumulating `grad_accum` micro-batches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineConfig {
    /// The algorithm (default GRPO).
    pub algorithm: Algorithm,
    /// Sampling (default: [`RolloutConfig`]'s, with 8 samples per prompt for GRPO, TRL's
    /// `num_generations`; see [`OnlineConfig::for_algorithm`]).
    pub rollout: RolloutConfig,
    /// Rollout → update iterations (default 100).
    pub iterations: usize,
    /// Minibatches per epoch (TRL's `num_mini_batches`, default 1).
    pub minibatches: usize,
    /// Micro-batches per minibatch (gradient accumulation, default 1).
    pub grad_accum: usize,
    /// Peak learning rate (default 1e-6, TRL GRPO's and RLOO's; TRL PPO used 3e-6).
    pub lr: f64,
    /// Fraction of the optimizer steps spent warming up linearly (TRL's `warmup_ratio`,
    /// default 0).
    pub warmup_ratio: f64,
    /// Decay after warmup (default linear, as TRL).
    pub lr_decay: LrDecay,
    /// Final learning rate as a fraction of `lr` (default 0).
    pub min_lr_ratio: f64,
    /// AdamW (PyTorch/TRL defaults: ε 1e-8, no weight decay).
    pub adamw: AdamWSettings,
    /// Clip the global gradient norm (TRL's `max_grad_norm`, default 1.0).
    pub max_grad_norm: Option<f64>,
    /// Rescale sequence scores by running mean and std before the advantages (OpenRLHF's
    /// `normalize_reward`; the statistics are checkpointed; default false).
    pub normalize_scores: bool,
    /// Largest `|log π_θ − log π_old|` tolerated on a completion token (default 20, i.e. a
    /// ratio of e²⁰): beyond it, see `on_divergence`.
    pub max_log_ratio: f64,
    /// Stop (default) or clip when `max_log_ratio` is exceeded.
    pub on_divergence: OnDivergence,
    /// Stop with an error when the rollout's mean KL to the reference (nats per sequence)
    /// exceeds this (default none).
    pub max_kl: Option<f64>,
    /// Evaluate on the held-out prompts every this many iterations and at the end (0: never;
    /// default 0).
    pub eval_every: usize,
    /// Checkpoint every this many iterations and at the end (0: only at the end; default 10).
    pub save_every: usize,
    /// Checkpoints kept (default 2).
    pub keep_checkpoints: usize,
    /// Seed of prompt order, sampling and minibatch shuffles (default 0).
    pub seed: u64,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::default(),
            rollout: RolloutConfig {
                samples_per_prompt: 8,
                ..RolloutConfig::default()
            },
            iterations: 100,
            minibatches: 1,
            grad_accum: 1,
            lr: 1e-6,
            warmup_ratio: 0.0,
            lr_decay: LrDecay::Linear,
            min_lr_ratio: 0.0,
            adamw: AdamWSettings::default(),
            max_grad_norm: Some(1.0),
            normalize_scores: false,
            max_log_ratio: 20.0,
            on_divergence: OnDivergence::Error,
            max_kl: None,
            eval_every: 0,
            save_every: 10,
            keep_checkpoints: 2,
            seed: 0,
        }
    }
}

impl OnlineConfig {
    /// The defaults with `algorithm`, sampling as many completions per prompt as its peer
    /// does by default: PPO and REINFORCE++ 1, GRPO 8 (TRL's `num_generations`), RLOO 2
    /// (TRL's `num_generations` for RLOO).
    pub fn for_algorithm(algorithm: Algorithm) -> Self {
        let samples_per_prompt = match &algorithm {
            Algorithm::Ppo(_) | Algorithm::ReinforcePp(_) => 1,
            Algorithm::Grpo(_) => 8,
            Algorithm::Rloo(_) => 2,
        };
        let mut config = Self {
            algorithm,
            ..Self::default()
        };
        config.rollout.samples_per_prompt = samples_per_prompt;
        config
    }

    /// Optimizer steps per iteration: `epochs × minibatches`.
    pub fn steps_per_iteration(&self) -> usize {
        self.algorithm.epochs() * self.minibatches
    }

    /// Optimizer steps of the whole run.
    pub fn total_steps(&self) -> usize {
        self.iterations * self.steps_per_iteration()
    }

    /// The learning-rate schedule over [`total_steps`](Self::total_steps).
    pub fn schedule(&self) -> train::LrSchedule {
        let total = self.total_steps();
        let warmup = (self.warmup_ratio * total as f64).ceil() as usize;
        match self.lr_decay {
            LrDecay::Constant => train::LrSchedule::constant(self.lr, warmup),
            LrDecay::Linear => {
                train::LrSchedule::linear_decay(self.lr, warmup, total, self.min_lr_ratio)
            }
            LrDecay::Cosine => train::LrSchedule::cosine(self.lr, warmup, total, self.min_lr_ratio),
        }
    }

    /// The settings of the shared [`train::Trainer`] engine this run drives.
    pub fn trainer_config(&self) -> train::TrainerConfig {
        train::TrainerConfig {
            total_steps: self.total_steps(),
            grad_accum: self.grad_accum,
            schedule: self.schedule(),
            adamw: self.adamw.clone(),
            max_grad_norm: self.max_grad_norm,
            eval_every: 0,
            eval_batches: None,
            save_every: 0,
            keep_checkpoints: self.keep_checkpoints,
            seed: self.seed,
            log_every: usize::MAX,
        }
    }

    /// Checks every setting before any work, naming the first bad field.
    pub fn validate(&self) -> Result<(), OnlineError> {
        let bad = |field: &str, expected: &str, got: String| {
            Err(OnlineError::Config(ConfigError::new(field, expected, got)))
        };
        self.rollout.validate().map_err(|e| match e {
            crate::rollout::RolloutError::Config(e) => OnlineError::Config(e.within("rollout")),
            other => OnlineError::Rollout {
                iteration: 0,
                source: other,
            },
        })?;
        for (field, v) in [
            ("iterations", self.iterations),
            ("minibatches", self.minibatches),
            ("grad_accum", self.grad_accum),
            ("keep_checkpoints", self.keep_checkpoints),
            ("algorithm.epochs", self.algorithm.epochs()),
        ] {
            if v == 0 {
                return bad(field, "at least 1", "0".into());
            }
        }
        let rows = self.rollout.rows();
        if rows < self.minibatches * self.grad_accum {
            return bad(
                "minibatches",
                &format!(
                    "minibatches × grad_accum ≤ the {rows} samples of an iteration \
                     (prompts_per_iteration × samples_per_prompt)"
                ),
                format!("{} × {}", self.minibatches, self.grad_accum),
            );
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", "a finite number > 0", self.lr.to_string());
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad(
                "warmup_ratio",
                "a number in [0, 1]",
                self.warmup_ratio.to_string(),
            );
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return bad(
                "min_lr_ratio",
                "a number in [0, 1]",
                self.min_lr_ratio.to_string(),
            );
        }
        if !(self.max_log_ratio.is_finite() && self.max_log_ratio > 0.0) {
            return bad(
                "max_log_ratio",
                "a finite number > 0",
                self.max_log_ratio.to_string(),
            );
        }
        if let Some(k) = self.max_kl
            && !(k.is_finite() && k > 0.0)
        {
            return bad("max_kl", "a finite number > 0", k.to_string());
        }
        let g = self.rollout.samples_per_prompt;
        let unit = |field, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                bad(field, "a number in [0, 1)", v.to_string())
            }
        };
        let non_negative = |field, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                bad(field, "a finite number ≥ 0", v.to_string())
            }
        };
        match &self.algorithm {
            Algorithm::Ppo(c) => {
                c.kl.init().map_err(|e| {
                    OnlineError::Config(match e {
                        kl_control::KlError::Config(e) => e.within("algorithm.kl"),
                        other => ConfigError::new("algorithm.kl", "a valid KL controller", other),
                    })
                })?;
                if !(0.0..=1.0).contains(&c.gamma) {
                    return bad("algorithm.gamma", "a number in [0, 1]", c.gamma.to_string());
                }
                if !(0.0..=1.0).contains(&c.lam) {
                    return bad("algorithm.lam", "a number in [0, 1]", c.lam.to_string());
                }
                unit("algorithm.cliprange", c.cliprange)?;
                non_negative("algorithm.cliprange_value", c.cliprange_value)?;
                non_negative("algorithm.vf_coef", c.vf_coef)?;
                non_negative("algorithm.entropy_coef", c.entropy_coef)?;
                if let Some(k) = c.kl_early_stop
                    && !(k.is_finite() && k > 0.0)
                {
                    return bad(
                        "algorithm.kl_early_stop",
                        "a finite number > 0",
                        k.to_string(),
                    );
                }
            }
            Algorithm::Grpo(c) => {
                non_negative("algorithm.beta", c.beta)?;
                unit("algorithm.epsilon_low", c.epsilon_low)?;
                non_negative("algorithm.epsilon_high", c.epsilon_high)?;
                non_negative("algorithm.entropy_coef", c.entropy_coef)?;
                if g < 2 {
                    return bad(
                        "rollout.samples_per_prompt",
                        "at least 2 for GRPO's group-relative advantages",
                        g.to_string(),
                    );
                }
            }
            Algorithm::Rloo(c) => {
                non_negative("algorithm.beta", c.beta)?;
                unit("algorithm.epsilon_low", c.epsilon_low)?;
                non_negative("algorithm.epsilon_high", c.epsilon_high)?;
                if g < 2 {
                    return bad(
                        "rollout.samples_per_prompt",
                        "at least 2 for RLOO's leave-one-out baseline",
                        g.to_string(),
                    );
                }
            }
            Algorithm::ReinforcePp(c) => {
                non_negative("algorithm.beta", c.beta)?;
                unit("algorithm.cliprange", c.cliprange)?;
                if !(0.0..=1.0).contains(&c.gamma) {
                    return bad("algorithm.gamma", "a number in [0, 1]", c.gamma.to_string());
                }
                if c.baseline && g < 2 {
                    return bad(
                        "rollout.samples_per_prompt",
                        "at least 2 for REINFORCE++-baseline's group mean",
                        g.to_string(),
                    );
                }
            }
        }
        Ok(())
    }
}
