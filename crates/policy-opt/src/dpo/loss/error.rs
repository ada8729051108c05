//! The error type of the DPO losses.

use rlhf_core::ConfigError;

/// Errors raised when building ([`DpoLossConfig::init`](super::DpoLossConfig::init)) or
/// evaluating ([`DpoLoss::forward`](super::DpoLoss::forward)) a DPO-family loss.
///
/// Every message names the field at fault and the expected versus the received value. The
/// enum is `#[non_exhaustive]`; match it with a wildcard arm.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DpoError {
    /// A configuration field is out of its domain.
    #[error("invalid DPO loss config: {0}")]
    Config(#[from] ConfigError),

    /// A loss that compares against a reference model got no reference log-probs.
    #[error(
        "DPO loss `{loss}` needs reference log-probs, but `PairLogps::{field}` is None \
         (reference-free losses: simpo, orpo, sft)"
    )]
    MissingReference {
        /// TRL's name of the loss, e.g. `sigmoid`.
        loss: &'static str,
        /// The missing field, `ref_chosen` or `ref_rejected`.
        field: &'static str,
    },

    /// An input tensor of [`PairLogps`](super::PairLogps) has the wrong shape.
    #[error("PairLogps::{field} has shape {got:?}, expected {expected:?}")]
    Shape {
        /// The field, e.g. `rejected_len`.
        field: &'static str,
        /// The shape it must have.
        expected: Vec<usize>,
        /// The shape it has.
        got: Vec<usize>,
    },

    /// An input value is out of its domain (a completion length below 1, a soft label
    /// outside [0, 1], a non-negative average log-prob for ORPO, a non-finite value).
    #[error("PairLogps::{field}[{index}] = {got}: expected {expected}")]
    Value {
        /// The field, e.g. `p_chosen`.
        field: &'static str,
        /// The 0-based pair index.
        index: usize,
        /// What the value must satisfy.
        expected: &'static str,
        /// The value found.
        got: f32,
    },

    /// Soft labels (some `p_chosen` < 1) were given to a loss that is only defined for hard
    /// labels.
    #[error(
        "DPO loss `{loss}` takes hard labels only, but PairLogps::p_chosen[{index}] = {got} \
         (soft labels are accepted by sigmoid, sigmoid_norm and simpo)"
    )]
    SoftLabelsUnsupported {
        /// TRL's name of the loss.
        loss: &'static str,
        /// The first pair whose label is soft.
        index: usize,
        /// Its label.
        got: f32,
    },

    /// An input could not be read back from the device for validation.
    #[error("PairLogps::{field} could not be read back from the device: {message}")]
    Device {
        /// The field being read.
        field: &'static str,
        /// The backend's error.
        message: String,
    },
}
