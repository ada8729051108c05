//! The result of a DPO-family loss: the loss, per-pair values and implicit rewards.

use burn::tensor::Tensor;

/// What [`DpoLoss::forward`](super::DpoLoss::forward) returns.
#[derive(Clone, Debug)]
pub struct DpoLossOutput {
    /// `[1]`: the weighted combination `Σ_k w_k · mean_b ℓ_k(b)`, which is also the mean of
    /// `per_pair`.
    pub loss: Tensor<1>,
    /// `[B]`: `Σ_k w_k · ℓ_k(b)`. For `aot`/`aot_unpaired` row `b` holds the `b`-th quantile
    /// term and for `sft` the batch NLL (both batch-level losses, as in TRL).
    pub per_pair: Tensor<1>,
    /// `[B]`, detached: the chosen implicit reward, as TRL's trainers log it:
    /// `β · (log π_θ(y_w) − log π_ref(y_w))` (`DPOTrainer`) when a selected loss uses the
    /// reference, or when the losses are `sft` only and a reference is given; otherwise
    /// (`simpo`, `orpo`, with or without `sft`) `β · log π_θ(y_w) / |y_w|` (`CPOTrainer`,
    /// `ORPOTrainer`).
    pub chosen_rewards: Tensor<1>,
    /// `[B]`, detached: the rejected implicit reward, defined as `chosen_rewards`.
    pub rejected_rewards: Tensor<1>,
}

impl DpoLossOutput {
    /// TRL's reward metrics, each `[1]`, averaged over the batch: `rewards/chosen`,
    /// `rewards/rejected`, `rewards/accuracies` (fraction of pairs with chosen reward strictly
    /// above rejected) and `rewards/margins` (mean of chosen − rejected).
    pub fn metrics(&self) -> Vec<(&'static str, Tensor<1>)> {
        let c = self.chosen_rewards.clone().detach();
        let r = self.rejected_rewards.clone().detach();
        vec![
            ("rewards/chosen", c.clone().mean()),
            ("rewards/rejected", r.clone().mean()),
            (
                "rewards/accuracies",
                c.clone().greater(r.clone()).float().mean(),
            ),
            ("rewards/margins", (c - r).mean()),
        ]
    }
}
