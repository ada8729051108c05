//! The DPO family of preference losses on summed completion log-probabilities.
//!
//! Every loss is a pure function of per-pair log-probs (one file each, with its formula and
//! paper); [`DpoLossConfig`] picks one or a weighted combination, as TRL's `DPOConfig`
//! `loss_type`/`loss_weights` do, and [`DpoLoss::forward`] evaluates it on a [`PairLogps`]
//! batch, returning the loss, per-pair values and TRL's implicit-reward metrics.
//!
//! | [`DpoLossType`] (TRL name) | function | reference | reads ε | soft labels |
//! |---|---|---|---|---|
//! | `sigmoid` (DPO, cDPO) | [`sigmoid_loss`] | yes | cDPO | yes |
//! | `hinge` (SLiC) | [`hinge_loss`] | yes | | |
//! | `ipo` | [`ipo_loss`] | yes | | |
//! | `robust` | [`robust_loss`] | yes | flip rate | |
//! | `exo_pair` | [`exo_pair_loss`] | yes | EXO ε | |
//! | `nca_pair` | [`nca_pair_loss`] | yes | | |
//! | `bco_pair` | [`bco_pair_loss`] | yes | | |
//! | `sppo_hard` | [`sppo_hard_loss`] | yes | | |
//! | `aot` | [`aot_loss`] | yes | smoothing | |
//! | `aot_unpaired` | [`aot_unpaired_loss`] | yes | smoothing | |
//! | `apo_zero` | [`apo_zero_loss`] | yes | | |
//! | `apo_down` | [`apo_down_loss`] | yes | | |
//! | `discopop` | [`discopop_loss`] | yes | | |
//! | `sigmoid_norm` | [`sigmoid_norm_loss`] | yes | | yes |
//! | `sft` (RPO/MPO/CPO term) | [`sft_loss`] | no | | |
//! | `simpo` (`CPOTrainer`) | [`simpo_loss`] | no | CPO smoothing | yes |
//! | `orpo` (`ORPOTrainer`) | [`orpo_loss`] | no | | |
//!
//! Values match TRL 1.16.0 (`DPOTrainer._compute_loss`, `CPOTrainer`, `ORPOTrainer`) to 1e-5
//! on the fixtures of `scripts/make_dpo_fixtures.py`. Where this module departs from TRL 1.x:
//! - `sigmoid` reads `label_smoothing` as cDPO, as TRL ≤ 0.2x's `DPOTrainer` and TRL's
//!   `CPOTrainer` do; TRL 1.x's `DPOTrainer` ignores it for `sigmoid` (set ε = 0 for parity).
//! - Soft labels `p ∈ [0, 1]` (TRL has none): logistic losses become the cross-entropy
//!   against `p` (combined with ε as `q = (1 − ε) p + ε (1 − p)`).
//! - ORPO's NLL defaults to the completion tokens; TRL's prompt-and-completion NLL can be
//!   passed as [`PairLogps::chosen_full_nll`].
//!
//! Left out, as they need per-token inputs rather than summed log-probs: WPO weighting
//! (`use_weighting`), LD-DPO (`ld_alpha`), and f-DPO (`f_divergence_type` other than reverse
//! KL); also AlphaPO (`CPOConfig.alpha`) and BCO's running reward shift δ (dropped by TRL
//! 1.x, see [`bco_pair_loss`]).

mod config;
mod error;
mod forward;
mod input;
mod kind;
mod output;

mod aot;
mod aot_unpaired;
mod apo_down;
mod apo_zero;
mod bco_pair;
mod discopop;
mod exo_pair;
mod hinge;
mod ipo;
mod nca_pair;
mod orpo;
mod robust;
mod sft;
mod sigmoid;
mod sigmoid_norm;
mod simpo;
mod sppo_hard;

pub use config::{DpoLoss, DpoLossConfig};
pub use error::DpoError;
pub use input::PairLogps;
pub use kind::DpoLossType;
pub use output::DpoLossOutput;

pub use aot::aot_loss;
pub use aot_unpaired::aot_unpaired_loss;
pub use apo_down::apo_down_loss;
pub use apo_zero::apo_zero_loss;
pub use bco_pair::bco_pair_loss;
pub use discopop::discopop_loss;
pub use exo_pair::exo_pair_loss;
pub use hinge::hinge_loss;
pub use ipo::ipo_loss;
pub use nca_pair::nca_pair_loss;
pub use orpo::orpo_loss;
pub use robust::robust_loss;
pub use sft::sft_loss;
pub use sigmoid::sigmoid_loss;
pub use sigmoid_norm::sigmoid_norm_loss;
pub use simpo::simpo_loss;
pub use sppo_hard::sppo_hard_loss;

#[cfg(test)]
pub(crate) mod test_util {
    use burn::tensor::{Device, Tensor, TensorData};

    /// A `[n]` tensor on the flex device.
    pub fn t(xs: &[f32]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(xs.to_vec(), [xs.len()]), &Device::flex())
    }

    /// The values of a tensor.
    pub fn v(x: Tensor<1>) -> Vec<f32> {
        x.try_into_vec_as::<f32>().unwrap()
    }

    /// `log σ(x)` in f64.
    pub fn ln_sigmoid(x: f64) -> f64 {
        if x >= 0.0 {
            -(-x).exp().ln_1p()
        } else {
            x - x.exp().ln_1p()
        }
    }

    /// `σ(x)` in f64.
    pub fn sigmoid_f64(x: f64) -> f64 {
        ln_sigmoid(x).exp()
    }
}
