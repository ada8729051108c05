//! Settings of a DPO-family loss, validated into a [`DpoLoss`].

use rlhf_core::ConfigError;
use rlhf_core::config::check_positive;
use serde::{Deserialize, Serialize};

use super::{DpoError, DpoLossType};

/// Settings of a DPO-family loss, named as TRL's `DPOConfig` (plus `simpo_gamma` from
/// `CPOConfig`). Defaults are TRL's: `β = 0.1`, `loss_types = [sigmoid]`, equal weights,
/// `label_smoothing = 0`, `simpo_gamma = 0.5`, `discopop_tau = 0.05`.
///
/// Several loss types combine as `Σ_k w_k · ℓ_k` (TRL's `loss_type` list with
/// `loss_weights`, e.g. MPO = `[sigmoid, bco_pair, sft]` with `[0.8, 0.2, 1.0]`, RPO =
/// `[sigmoid, sft]` with `[1, α]`, CPO-SimPO = `[simpo, sft]` with `[1, cpo_alpha]`).
///
/// `beta` is β of every loss: the DPO temperature, IPO's τ, SimPO's β, and ORPO's λ (TRL's
/// `ORPOConfig.beta`). `label_smoothing` is ε of the losses that read it
/// ([`DpoLossType::reads_label_smoothing`]): cDPO for `sigmoid`, CPO's smoothing for `simpo`,
/// the flip rate of `robust`, EXO's ε, AOT's smoothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpoLossConfig {
    /// β > 0.
    pub beta: f64,
    /// The losses to combine (at least one).
    pub loss_types: Vec<DpoLossType>,
    /// One weight ≥ 0 per loss type; `None` weighs each by 1.
    pub loss_weights: Option<Vec<f64>>,
    /// ε: in [0, ½) for sigmoid/simpo/robust/aot/aot_unpaired, in (0, 1) for exo_pair; must
    /// be 0 when no selected loss reads it.
    pub label_smoothing: f64,
    /// SimPO's target reward margin γ (finite).
    pub simpo_gamma: f64,
    /// DiscoPOP's temperature τ > 0.
    pub discopop_tau: f64,
}

impl Default for DpoLossConfig {
    fn default() -> Self {
        Self {
            beta: 0.1,
            loss_types: vec![DpoLossType::Sigmoid],
            loss_weights: None,
            label_smoothing: 0.0,
            simpo_gamma: 0.5,
            discopop_tau: 0.05,
        }
    }
}

impl DpoLossConfig {
    /// TRL's defaults with the given loss types.
    pub fn new(loss_types: Vec<DpoLossType>) -> Self {
        Self {
            loss_types,
            ..Self::default()
        }
    }

    /// Sets β.
    pub fn with_beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// Sets the weights of the loss types.
    pub fn with_loss_weights(mut self, weights: Vec<f64>) -> Self {
        self.loss_weights = Some(weights);
        self
    }

    /// Sets ε.
    pub fn with_label_smoothing(mut self, label_smoothing: f64) -> Self {
        self.label_smoothing = label_smoothing;
        self
    }

    /// Sets SimPO's γ.
    pub fn with_simpo_gamma(mut self, gamma: f64) -> Self {
        self.simpo_gamma = gamma;
        self
    }

    /// Sets DiscoPOP's τ.
    pub fn with_discopop_tau(mut self, tau: f64) -> Self {
        self.discopop_tau = tau;
        self
    }

    /// Validates the settings and builds the loss.
    pub fn init(&self) -> Result<DpoLoss, DpoError> {
        let bad = |field: &str, expected: String, got: String| {
            Err(DpoError::Config(ConfigError::new(field, expected, got)))
        };
        check_positive("beta", self.beta)?;
        if self.loss_types.is_empty() {
            return bad("loss_types", "at least one loss".into(), "none".into());
        }
        let weights = match &self.loss_weights {
            None => vec![1.0; self.loss_types.len()],
            Some(w) if w.len() != self.loss_types.len() => {
                return bad(
                    "loss_weights",
                    format!("one weight per loss type ({})", self.loss_types.len()),
                    format!("{} weights", w.len()),
                );
            }
            Some(w) => {
                if let Some((i, x)) = w
                    .iter()
                    .enumerate()
                    .find(|(_, x)| !(x.is_finite() && **x >= 0.0))
                {
                    return bad(
                        "loss_weights",
                        "finite weights ≥ 0".into(),
                        format!("{x} at index {i}"),
                    );
                }
                w.clone()
            }
        };
        let eps = self.label_smoothing;
        let readers: Vec<_> = self
            .loss_types
            .iter()
            .copied()
            .filter(|t| t.reads_label_smoothing())
            .collect();
        if readers.is_empty() && eps != 0.0 {
            return bad(
                "label_smoothing",
                "0, as none of the selected losses reads it (sigmoid, simpo, robust, \
                 exo_pair, aot, aot_unpaired do)"
                    .into(),
                eps.to_string(),
            );
        }
        for t in readers {
            let ok = if t == DpoLossType::ExoPair {
                eps > 0.0 && eps < 1.0
            } else {
                (0.0..0.5).contains(&eps)
            };
            if !ok {
                let range = if t == DpoLossType::ExoPair {
                    "(0, 1)"
                } else {
                    "[0, 0.5)"
                };
                return bad(
                    "label_smoothing",
                    format!("a value in {range} for loss `{t}`"),
                    eps.to_string(),
                );
            }
        }
        if !self.simpo_gamma.is_finite() {
            return bad(
                "simpo_gamma",
                "a finite value".into(),
                self.simpo_gamma.to_string(),
            );
        }
        check_positive("discopop_tau", self.discopop_tau)?;
        Ok(DpoLoss {
            config: self.clone(),
            weights,
        })
    }
}

/// A validated DPO-family loss; evaluate it with [`DpoLoss::forward`].
#[derive(Clone, Debug)]
pub struct DpoLoss {
    pub(super) config: DpoLossConfig,
    pub(super) weights: Vec<f64>,
}

impl DpoLoss {
    /// The settings it was built from.
    pub fn config(&self) -> &DpoLossConfig {
        &self.config
    }

    /// The weight of each loss type (1 each when none were configured).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Whether any selected loss needs reference log-probs (everything but simpo, orpo and
    /// sft). See [`DpoLossOutput::chosen_rewards`](super::DpoLossOutput::chosen_rewards)
    /// for which implicit rewards are reported.
    pub fn needs_reference(&self) -> bool {
        self.config.loss_types.iter().any(|t| t.needs_reference())
    }
}
