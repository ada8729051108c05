//! Reward-model losses, each a pure function over reward tensors with its formula and paper,
//! plus the validated configurations ([`PairwiseLossConfig`], [`RankingLossConfig`]) the
//! training methods use.
//!
//! | loss | function | paper |
//! |---|---|---|
//! | Bradley-Terry, optional per-pair margin | [`bradley_terry`] | Ouyang et al. 2022 eq. 1; Touvron et al. 2023 (Llama 2) eq. 2 |
//! | reward centering | [`reward_centering`] | Eisenstein et al. 2023; TRL `center_rewards_coefficient` |
//! | soft labels | [`soft_label_bce`] | Bai et al. 2022 (Constitutional AI) §4.1 |
//! | K-wise Plackett-Luce | [`plackett_luce_nll`] | Plackett 1975, Luce 1959; Zhu et al. 2023 eq. 5 |
//! | InstructGPT all-pairs | [`instructgpt_pairwise`] | Ouyang et al. 2022 eq. 1 |
//!
//! Rewards are `[B]` (pairs) or `[B, K]` (rankings, best first). Optional per-item weights
//! `w` turn every mean into `Σ w·ℓ / Σ w` (equal to the plain mean for unit weights).

mod bradley_terry;
mod centering;
mod config;
mod instructgpt;
mod plackett_luce;
mod soft_label;

pub use bradley_terry::bradley_terry;
pub use centering::reward_centering;
pub use config::{
    PairwiseLoss, PairwiseLossConfig, PairwiseLossKind, PairwiseLossOutput, RankingLoss,
    RankingLossConfig, RankingLossKind,
};
pub use instructgpt::instructgpt_pairwise;
pub use plackett_luce::plackett_luce_nll;
pub use soft_label::soft_label_bce;

use burn::tensor::Tensor;

/// `Σ w·x / Σ w` over a `[N]` tensor, or the plain mean when `weight` is `None`; `[1]`.
///
/// A zero total weight gives 0 (the numerator is 0 too), not NaN.
pub fn weighted_mean(values: Tensor<1>, weight: Option<Tensor<1>>) -> Tensor<1> {
    match weight {
        None => values.mean(),
        Some(w) => {
            let total = w.clone().sum().clamp_min(f32::MIN_POSITIVE);
            (values * w).sum() / total
        }
    }
}
