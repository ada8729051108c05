//! Reward-model training as [`TrainMethod`]s of the shared loop ([`train::train`]): the loop
//! supplies AdamW, the schedule, accumulation, checkpoints with exact resume, the NaN guard,
//! the progress bar, metrics JSONL and the PNG plot; these methods supply the step.

use std::marker::PhantomData;

use burn::module::Module;
use burn::tensor::Tensor;
use pref_data::{PairBatch, RankedBatch};
use train::{StepError, StepOutput, TrainMethod};

use crate::error::RmResult;
use crate::loss::{
    PairwiseLoss, PairwiseLossConfig, RankingLoss, RankingLossConfig, weighted_mean,
};
use crate::model::RewardModel;

/// Pairwise reward-model training on [`PairBatch`]es (Bradley-Terry with optional margins,
/// or soft labels, with optional centering; see [`PairwiseLossConfig`]).
///
/// One forward pass scores the `2B` rows (chosen rows `0..B`, rejected `B..2B`). Logged
/// metrics, each a weighted mean over pairs:
/// - `accuracy`: `½ + ½·sign(Δ)·sign(p − ½)` with `Δ = r_chosen − r_rejected` — 1 when the
///   preferred completion scores higher, ½ for a tie (or an undecided label `p = ½`);
/// - `margin`: mean `Δ`;
/// - `reward`: mean reward of all rows (what centering pulls to 0);
/// - `centering`: the centering term, when enabled.
///
/// The batch weight for averaging evaluation batches is the sum of the pair weights.
#[derive(Clone, Debug)]
pub struct PairwiseRm<M> {
    loss: PairwiseLoss,
    _model: PhantomData<M>,
}

impl<M> PairwiseRm<M> {
    /// The method with a validated loss configuration.
    pub fn new(config: &PairwiseLossConfig) -> RmResult<Self> {
        Ok(Self {
            loss: config.init()?,
            _model: PhantomData,
        })
    }

    /// The loss.
    pub fn loss(&self) -> &PairwiseLoss {
        &self.loss
    }
}

impl<M: RewardModel + Module + Clone> TrainMethod for PairwiseRm<M> {
    type Model = M;
    type Batch = PairBatch;

    fn name(&self) -> &'static str {
        "reward_model"
    }

    fn step(&self, model: &M, batch: &PairBatch) -> Result<StepOutput, StepError> {
        let b = batch.num_pairs();
        let rewards = model.score(batch.ids.clone(), batch.attention_mask.clone());
        let chosen = rewards.clone().slice(0..b);
        let rejected = rewards.clone().slice(b..2 * b);
        let out = self.loss.forward(
            chosen.clone(),
            rejected.clone(),
            batch.p_chosen.clone(),
            batch.margin.clone(),
            batch.weight.clone(),
        );
        let w = batch.weight.clone();
        let delta = (chosen - rejected).detach();
        let direction = batch.p_chosen.clone().sub_scalar(0.5).sign();
        let correct = (delta.clone().sign() * direction)
            .mul_scalar(0.5)
            .add_scalar(0.5);
        let mut step = StepOutput::new(out.loss)
            .with_metric("accuracy", weighted_mean(correct, Some(w.clone())))
            .with_metric("margin", weighted_mean(delta, Some(w.clone())))
            .with_metric("reward", rewards.mean())
            .with_weight(w.sum().into_scalar::<f32>() as f64);
        if let Some(c) = out.centering {
            step = step.with_metric("centering", c);
        }
        Ok(step)
    }
}

/// K-wise reward-model training on [`RankedBatch`]es (Plackett-Luce or InstructGPT's
/// all-pairs loss; see [`RankingLossConfig`]).
///
/// The `B·K` rows are scored in one forward pass and reshaped to `[B, K]`, best first.
/// Logged metrics over all `C(K, 2)` ordered pairs `i < j` of each prompt: `accuracy`
/// (fraction with `r_i > r_j`, ties ½) and `margin` (mean `r_i − r_j`), plus `reward` (mean
/// of all rows). Tied completions are ordered as the batch lists them. The batch weight is
/// `B`.
#[derive(Clone, Debug)]
pub struct RankedRm<M> {
    loss: RankingLoss,
    _model: PhantomData<M>,
}

impl<M> RankedRm<M> {
    /// The method with a validated loss configuration.
    pub fn new(config: &RankingLossConfig) -> RmResult<Self> {
        Ok(Self {
            loss: config.init()?,
            _model: PhantomData,
        })
    }
}

impl<M: RewardModel + Module + Clone> TrainMethod for RankedRm<M> {
    type Model = M;
    type Batch = RankedBatch;

    fn name(&self) -> &'static str {
        "reward_model_ranked"
    }

    fn step(&self, model: &M, batch: &RankedBatch) -> Result<StepOutput, StepError> {
        let k = batch.k;
        let b = batch.indices.len();
        let rewards = model
            .score(batch.ids.clone(), batch.attention_mask.clone())
            .reshape([b, k]);
        let loss = self.loss.forward(rewards.clone());
        let r = rewards.detach();
        let (accuracy, margin) = ranked_pair_metrics(r.clone());
        Ok(StepOutput::new(loss)
            .with_metric("accuracy", accuracy)
            .with_metric("margin", margin)
            .with_metric("reward", r.mean())
            .with_weight(b as f64))
    }
}

/// Accuracy and mean difference over all pairs `i < j` of `[B, K]` rewards (best first).
fn ranked_pair_metrics(rewards: Tensor<2>) -> (Tensor<1>, Tensor<1>) {
    let [b, k] = rewards.dims();
    let device = rewards.device();
    let diff = rewards.clone().reshape([b, k, 1]) - rewards.reshape([b, 1, k]);
    let upper: Vec<f32> = (0..k * k)
        .map(|n| f32::from(u8::from(n / k < n % k)))
        .collect();
    let upper = Tensor::<3>::from_data(burn::tensor::TensorData::new(upper, [1, k, k]), &device);
    let pairs = (b * k * k.saturating_sub(1) / 2).max(1) as f64;
    let correct = diff.clone().sign().mul_scalar(0.5).add_scalar(0.5) * upper.clone();
    let accuracy = correct.sum().div_scalar(pairs);
    let margin = (diff * upper).sum().div_scalar(pairs);
    (accuracy, margin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    #[test]
    fn ranked_metrics_by_hand() {
        let d = Device::flex();
        // Row: 3, 1, 2 → pairs (3>1 ✓, 3>2 ✓, 1<2 ✗): accuracy 2/3, margin (2 + 1 − 1)/3.
        let r = Tensor::<2>::from_floats([[3.0, 1.0, 2.0]], &d);
        let (a, m) = ranked_pair_metrics(r);
        assert_relative_eq!(a.into_scalar::<f32>(), 2.0 / 3.0, epsilon = 1e-6);
        assert_relative_eq!(m.into_scalar::<f32>(), 2.0 / 3.0, epsilon = 1e-6);
    }
}
