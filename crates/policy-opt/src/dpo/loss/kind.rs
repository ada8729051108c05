//! The list of DPO-family losses, named as TRL names them.

use std::fmt;
use std::str::FromStr;

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use super::DpoError;

/// One loss of the DPO family. The serialized names are TRL's `loss_type` strings
/// (`DPOConfig.loss_type`, plus `"simpo"` from `CPOConfig` and `"orpo"` for `ORPOTrainer`).
///
/// Each variant's formula and paper are documented on its loss function (see the
/// [module](super) table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DpoLossType {
    /// DPO's logistic loss, with cDPO label smoothing and soft labels: [`sigmoid_loss`](super::sigmoid_loss).
    Sigmoid,
    /// SLiC's hinge loss: [`hinge_loss`](super::hinge_loss).
    Hinge,
    /// IPO's squared loss on length-normalised log-ratios: [`ipo_loss`](super::ipo_loss).
    Ipo,
    /// Robust DPO (label-flip rate ε): [`robust_loss`](super::robust_loss).
    Robust,
    /// EXO for pairs: [`exo_pair_loss`](super::exo_pair_loss).
    ExoPair,
    /// NCA for pairs: [`nca_pair_loss`](super::nca_pair_loss).
    NcaPair,
    /// BCO for pairs: [`bco_pair_loss`](super::bco_pair_loss).
    BcoPair,
    /// SPPO with hard probabilities: [`sppo_hard_loss`](super::sppo_hard_loss).
    SppoHard,
    /// AOT, paired: [`aot_loss`](super::aot_loss).
    Aot,
    /// AOT, unpaired: [`aot_unpaired_loss`](super::aot_unpaired_loss).
    AotUnpaired,
    /// APO-zero: [`apo_zero_loss`](super::apo_zero_loss).
    ApoZero,
    /// APO-down: [`apo_down_loss`](super::apo_down_loss).
    ApoDown,
    /// DiscoPOP: [`discopop_loss`](super::discopop_loss).
    Discopop,
    /// Length-normalised DPO (Tülu 3): [`sigmoid_norm_loss`](super::sigmoid_norm_loss).
    SigmoidNorm,
    /// NLL of the chosen completions (RPO/MPO/CPO term): [`sft_loss`](super::sft_loss).
    Sft,
    /// SimPO (reference-free): [`simpo_loss`](super::simpo_loss).
    Simpo,
    /// ORPO (reference-free, odds ratio + NLL): [`orpo_loss`](super::orpo_loss).
    Orpo,
}

impl DpoLossType {
    /// Every variant, in declaration order.
    pub const ALL: [DpoLossType; 17] = [
        Self::Sigmoid,
        Self::Hinge,
        Self::Ipo,
        Self::Robust,
        Self::ExoPair,
        Self::NcaPair,
        Self::BcoPair,
        Self::SppoHard,
        Self::Aot,
        Self::AotUnpaired,
        Self::ApoZero,
        Self::ApoDown,
        Self::Discopop,
        Self::SigmoidNorm,
        Self::Sft,
        Self::Simpo,
        Self::Orpo,
    ];

    /// TRL's name of the loss (`"sigmoid"`, `"exo_pair"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sigmoid => "sigmoid",
            Self::Hinge => "hinge",
            Self::Ipo => "ipo",
            Self::Robust => "robust",
            Self::ExoPair => "exo_pair",
            Self::NcaPair => "nca_pair",
            Self::BcoPair => "bco_pair",
            Self::SppoHard => "sppo_hard",
            Self::Aot => "aot",
            Self::AotUnpaired => "aot_unpaired",
            Self::ApoZero => "apo_zero",
            Self::ApoDown => "apo_down",
            Self::Discopop => "discopop",
            Self::SigmoidNorm => "sigmoid_norm",
            Self::Sft => "sft",
            Self::Simpo => "simpo",
            Self::Orpo => "orpo",
        }
    }

    /// Whether the loss compares the policy against a reference model (everything but
    /// `simpo`, `orpo` and `sft`).
    pub fn needs_reference(self) -> bool {
        !matches!(self, Self::Simpo | Self::Orpo | Self::Sft)
    }

    /// Whether the loss accepts soft labels `p_chosen` (a logistic loss on a margin, which
    /// becomes the cross-entropy against `p`): `sigmoid`, `sigmoid_norm`, `simpo`.
    pub fn accepts_soft_labels(self) -> bool {
        matches!(self, Self::Sigmoid | Self::SigmoidNorm | Self::Simpo)
    }

    /// Whether the loss reads `label_smoothing` (and the range it must lie in):
    /// `sigmoid` (cDPO), `simpo`, `robust`, `aot`, `aot_unpaired` take ε ∈ [0, 0.5);
    /// `exo_pair` takes ε ∈ (0, 1).
    pub fn reads_label_smoothing(self) -> bool {
        matches!(
            self,
            Self::Sigmoid
                | Self::Simpo
                | Self::Robust
                | Self::Aot
                | Self::AotUnpaired
                | Self::ExoPair
        )
    }
}

impl fmt::Display for DpoLossType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DpoLossType {
    type Err = DpoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| {
                DpoError::Config(ConfigError::new(
                    "loss_types",
                    format_args!("one of {}", Self::ALL.map(Self::name).join(", ")),
                    format_args!("{s:?}"),
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for t in DpoLossType::ALL {
            assert_eq!(t.name().parse::<DpoLossType>().unwrap(), t);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.name()));
            assert_eq!(serde_json::from_str::<DpoLossType>(&json).unwrap(), t);
        }
        let err = "cdpo".parse::<DpoLossType>().unwrap_err();
        assert!(err.to_string().contains("\"cdpo\""), "{err}");
    }

    #[test]
    fn reference_free_losses() {
        let free: Vec<_> = DpoLossType::ALL
            .into_iter()
            .filter(|t| !t.needs_reference())
            .collect();
        assert_eq!(
            free,
            [DpoLossType::Sft, DpoLossType::Simpo, DpoLossType::Orpo]
        );
    }
}
