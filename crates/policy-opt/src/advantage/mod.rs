//! Advantage estimators for online RL from rewards: what the policy-gradient losses of
//! [`crate::objective`] are weighted by.
//!
//! | estimator | function | input | reference |
//! |---|---|---|---|
//! | GAE(γ, λ) (PPO with a critic) | [`gae`] | per-token rewards, values | Schulman et al. 2016; TRL `PPOTrainer`, verl |
//! | masked whitening | [`masked_whiten`], [`whiten`] | advantages / rewards | TRL `masked_whiten` |
//! | GRPO / Dr. GRPO | [`group_advantages`] | sequence rewards in groups | Shao et al. 2024; TRL 1.16 `GRPOTrainer` |
//! | RLOO | [`rloo_advantages`] | sequence rewards in groups | Ahmadian et al. 2024; TRL 1.16 `RLOOTrainer` |
//! | REINFORCE++ | [`reinforce_pp`] | per-token rewards | Hu 2025; OpenRLHF |
//! | REINFORCE++-baseline | [`reinforce_pp_baseline`] | sequence scores in groups, per-token KL | Hu 2025; OpenRLHF |
//!
//! Conventions shared by all of them:
//! - `[B, T]` tensors are per-token values of a batch of rows; a `mask` (any
//!   [`TokenMask`]: `Tensor<2, Int>`, float or `Bool`, non-zero = selected) selects the
//!   completion tokens. A row's selected positions, in order, are its trajectory: prompt and
//!   padding (left or right) and holes inside a completion are skipped, never read (NaN there is
//!   harmless), and every output is exactly 0 there.
//! - Sequence-level rewards `[N]` come in consecutive groups of the samples of one prompt
//!   (`[p0 s0, p0 s1, …, p1 s0, …]`), TRL's layout.
//! - Nothing returns NaN for valid input: empty masks, empty rows, groups of equal rewards and
//!   groups of one give zeros. Invalid input (wrong shapes, parameters out of range, NaN or
//!   infinite selected values) is an [`RlError`].
//! - Inputs are detached rollout values. The estimators read them to the host (a few thousand
//!   numbers at most), compute in f64 and return f32 tensors on the inputs' device;
//!   [`masked_whiten`]/[`whiten`] run on the device.
//!
//! Values are checked against TRL 1.16, OpenRLHF and verl on the fixtures written by
//! `scripts/make_rl_fixtures.py` (`tests/rl_estimators.rs`).

#![warn(missing_docs)]

mod gae;
mod group;
pub(crate) mod host;
mod reinforce_pp;
mod rloo;
mod whiten;

pub use crate::rl_error::{RlError, RlResult};
pub use gae::gae;
pub use group::{GRPO_STD_EPS, ScaleRewards, group_advantages};
pub use kl_control::TokenMask;
pub use reinforce_pp::{REINFORCE_PP_VAR_FLOOR, reinforce_pp, reinforce_pp_baseline};
pub use rloo::rloo_advantages;
pub use whiten::{WHITEN_EPS, masked_whiten, whiten};

use burn::tensor::Tensor;

/// Per-token advantages and returns, both `[B, T]` and exactly 0 outside the mask.
#[derive(Clone, Debug)]
pub struct AdvantagesAndReturns {
    /// The advantages `A` that weigh the policy gradient.
    pub advantages: Tensor<2>,
    /// The returns: the value-function targets for [`gae`] (`A + V`), the discounted
    /// reward-to-go for [`reinforce_pp`].
    pub returns: Tensor<2>,
}

#[cfg(test)]
pub(crate) mod test_util {
    use burn::tensor::{Device, Int, Tensor, TensorData};

    /// A `[n]` tensor on the flex device.
    pub fn t1(xs: &[f32]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(xs.to_vec(), [xs.len()]), &Device::flex())
    }

    /// A `[B, T]` tensor on the flex device from rows of equal length.
    pub fn t2(rows: &[&[f32]]) -> Tensor<2> {
        let t = rows[0].len();
        let v: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(v, [rows.len(), t]), &Device::flex())
    }

    /// A `[B, T]` integer mask on the flex device.
    pub fn m2(rows: &[&[i32]]) -> Tensor<2, Int> {
        let t = rows[0].len();
        let v: Vec<i32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(v, [rows.len(), t]), &Device::flex())
    }

    /// The values of a `[n]` tensor.
    pub fn v1(x: Tensor<1>) -> Vec<f32> {
        x.try_into_vec_as::<f32>().unwrap()
    }

    /// The rows of a `[B, T]` tensor.
    pub fn rows(x: Tensor<2>) -> Vec<Vec<f32>> {
        let [_, t] = x.dims();
        let v = x.try_into_vec_as::<f32>().unwrap();
        v.chunks(t).map(<[f32]>::to_vec).collect()
    }
}
