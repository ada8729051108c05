//! Validated loss configurations used by the training methods.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{
    bradley_terry, instructgpt_pairwise, plackett_luce_nll, reward_centering, soft_label_bce,
};
use crate::error::{RmError, RmResult};

/// Which pairwise loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PairwiseLossKind {
    /// [`bradley_terry`]: hard labels, the first completion of each pair is preferred;
    /// `p_chosen` is not read (use [`PairwiseLossKind::SoftLabel`] for soft labels).
    /// Also read as `bradley_terry`.
    #[serde(alias = "bradley_terry")]
    BradleyTerry,
    /// [`soft_label_bce`] against each pair's `p_chosen`. Also read as `soft_label`.
    #[serde(alias = "soft_label")]
    SoftLabel,
}

/// Settings of the pairwise loss. [`init`](Self::init) validates them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PairwiseLossConfig {
    /// The preference term.
    pub kind: PairwiseLossKind,
    /// Subtract each pair's margin inside the sigmoid (Llama 2); Bradley-Terry only.
    pub use_margin: bool,
    /// Coefficient `c ≥ 0` of the [`reward_centering`] term; 0 turns it off (TRL's
    /// `center_rewards_coefficient`, which suggests 0.01).
    pub center_rewards_coefficient: f64,
}

impl Default for PairwiseLossConfig {
    /// Bradley-Terry, margins used where the data has them, no centering (TRL's defaults).
    fn default() -> Self {
        Self {
            kind: PairwiseLossKind::BradleyTerry,
            use_margin: true,
            center_rewards_coefficient: 0.0,
        }
    }
}

impl PairwiseLossConfig {
    /// The loss, or an error naming the bad setting.
    pub fn init(&self) -> RmResult<PairwiseLoss> {
        let c = self.center_rewards_coefficient;
        if !(c.is_finite() && c >= 0.0) {
            return Err(RmError::config(
                "center_rewards_coefficient",
                "a finite number ≥ 0",
                c,
            ));
        }
        if self.use_margin && self.kind == PairwiseLossKind::SoftLabel {
            return Err(RmError::config(
                "use_margin",
                "false with soft labels (margins belong to the Bradley-Terry loss)",
                true,
            ));
        }
        Ok(PairwiseLoss {
            config: self.clone(),
        })
    }
}

/// The terms of a pairwise loss.
pub struct PairwiseLossOutput {
    /// The total: preference term + `c ·` centering term, `[1]`.
    pub loss: Tensor<1>,
    /// The preference term alone (Bradley-Terry or soft-label cross-entropy), `[1]`.
    pub preference: Tensor<1>,
    /// The centering term `mean((r_c + r_r)²)` before its coefficient, when enabled, `[1]`.
    pub centering: Option<Tensor<1>>,
}

/// A validated pairwise loss (see [`PairwiseLossConfig`]).
#[derive(Clone, Debug)]
pub struct PairwiseLoss {
    config: PairwiseLossConfig,
}

impl PairwiseLoss {
    /// Its settings.
    pub fn config(&self) -> &PairwiseLossConfig {
        &self.config
    }

    /// The loss of `B` pairs: rewards `chosen` and `rejected` `[B]`, label probabilities
    /// `p_chosen` `[B]`, margins `[B]` (0 where none) and weights `[B]`.
    pub fn forward(
        &self,
        chosen: Tensor<1>,
        rejected: Tensor<1>,
        p_chosen: Tensor<1>,
        margin: Tensor<1>,
        weight: Tensor<1>,
    ) -> PairwiseLossOutput {
        let preference = match self.config.kind {
            PairwiseLossKind::BradleyTerry => bradley_terry(
                chosen.clone(),
                rejected.clone(),
                self.config.use_margin.then_some(margin),
                Some(weight.clone()),
            ),
            PairwiseLossKind::SoftLabel => soft_label_bce(
                chosen.clone(),
                rejected.clone(),
                p_chosen,
                Some(weight.clone()),
            ),
        };
        let c = self.config.center_rewards_coefficient;
        if c > 0.0 {
            let centering = reward_centering(chosen, rejected, Some(weight));
            PairwiseLossOutput {
                loss: preference.clone() + centering.clone().mul_scalar(c),
                preference,
                centering: Some(centering),
            }
        } else {
            PairwiseLossOutput {
                loss: preference.clone(),
                preference,
                centering: None,
            }
        }
    }
}

/// Which K-wise ranking loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RankingLossKind {
    /// [`plackett_luce_nll`], scoring the first `top` choices (`None`: all).
    PlackettLuce {
        /// Number of leading choices scored.
        top: Option<usize>,
    },
    /// [`instructgpt_pairwise`]: all C(K, 2) pairs, each prompt counting once.
    InstructGptPairs,
}

/// Settings of a ranking loss. [`init`](Self::init) validates them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankingLossConfig {
    /// The loss.
    pub kind: RankingLossKind,
}

impl RankingLossConfig {
    /// The loss, or an error naming the bad setting.
    pub fn init(&self) -> RmResult<RankingLoss> {
        if let RankingLossKind::PlackettLuce { top: Some(0) } = self.kind {
            return Err(RmError::config("top", "at least 1 (or none for all)", 0));
        }
        Ok(RankingLoss { kind: self.kind })
    }
}

/// A validated ranking loss (see [`RankingLossConfig`]).
#[derive(Clone, Debug)]
pub struct RankingLoss {
    kind: RankingLossKind,
}

impl RankingLoss {
    /// Its kind.
    pub fn kind(&self) -> RankingLossKind {
        self.kind
    }

    /// The loss of `rewards` `[B, K]`, rows best first, `[1]`.
    pub fn forward(&self, rewards: Tensor<2>) -> Tensor<1> {
        match self.kind {
            RankingLossKind::PlackettLuce { top } => plackett_luce_nll(rewards, top, None),
            RankingLossKind::InstructGptPairs => instructgpt_pairwise(rewards, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    #[test]
    fn init_rejects_bad_settings() {
        let bad = PairwiseLossConfig {
            center_rewards_coefficient: -0.1,
            ..Default::default()
        };
        let e = bad.init().unwrap_err().to_string();
        assert!(e.contains("center_rewards_coefficient"), "{e}");
        let bad = PairwiseLossConfig {
            kind: PairwiseLossKind::SoftLabel,
            use_margin: true,
            center_rewards_coefficient: 0.0,
        };
        assert!(bad.init().unwrap_err().to_string().contains("use_margin"));
        let bad = RankingLossConfig {
            kind: RankingLossKind::PlackettLuce { top: Some(0) },
        };
        assert!(bad.init().unwrap_err().to_string().contains("top"));
    }

    #[test]
    fn centering_is_added_with_its_coefficient() {
        let d = Device::flex();
        let t = |v: [f32; 2]| Tensor::<1>::from_floats(v, &d);
        let loss = PairwiseLossConfig {
            center_rewards_coefficient: 0.5,
            ..Default::default()
        }
        .init()
        .unwrap();
        let out = loss.forward(
            t([1.0, 0.0]),
            t([1.0, 2.0]),
            t([1.0, 1.0]),
            t([0.0, 0.0]),
            t([1.0, 1.0]),
        );
        // BT: (ln 2 + softplus(2)) / 2; centering: (4 + 4) / 2 = 4.
        let bt = (2f32.ln() + (1.0 + 2f32.exp()).ln()) / 2.0;
        assert_relative_eq!(out.preference.into_scalar::<f32>(), bt, epsilon = 1e-6);
        assert_relative_eq!(out.centering.unwrap().into_scalar::<f32>(), 4.0);
        assert_relative_eq!(out.loss.into_scalar::<f32>(), bt + 2.0, epsilon = 1e-6);
    }
}
