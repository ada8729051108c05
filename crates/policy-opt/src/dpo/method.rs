//! DPO as a [`TrainMethod`] of the shared loop.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use lm::CausalLm;

use super::data::{DpoBatch, DpoBatches};
use super::reference::{FrozenReference, split_pairs};
use super::{DpoError, DpoLoss, PairLogps};
use crate::train::{
    StepError, StepOutput, TrainError, TrainMethod, TrainOutcome, TrainerConfig, train,
};

/// Direct preference optimisation of any [`CausalLm`] with a [`DpoLoss`] (Rafailov et al.
/// 2023; TRL's `DPOTrainer`).
///
/// One step: a single forward pass of the policy over the `[2B, T]` pair batch (chosen rows
/// then rejected rows), completion log-probs summed per row
/// ([`CausalLm::sequence_logprobs`]) and split into `log π_θ(y_w | x)` and
/// `log π_θ(y_l | x)`; the reference's log-probs from the batch's [`ReferenceCache`]
/// (preferred when present) or from the frozen reference; soft labels from
/// [`PairBatch::p_chosen`](pref_data::PairBatch::p_chosen) (with `sigmoid` the loss is then
/// the cross-entropy against `p`); then the configured loss. With pair weights other than 1
/// the loss is `Σ_b w_b ℓ_b / Σ_b w_b`.
///
/// Logged metrics (TRL's names): `rewards/chosen`, `rewards/rejected`,
/// `rewards/accuracies`, `rewards/margins` (see [`DpoLossOutput::metrics`]),
/// `logps/chosen`, `logps/rejected` (batch means of the policy's summed log-probs).
///
/// [`ReferenceCache`]: super::ReferenceCache
/// [`DpoLossOutput::metrics`]: super::DpoLossOutput::metrics
#[derive(Clone, Debug)]
pub struct Dpo<M> {
    loss: DpoLoss,
    frozen: Option<FrozenReference<M>>,
}

impl<M: CausalLm + Module> Dpo<M> {
    /// DPO whose reference log-probs come from the data ([`DpoBatches::with_cache`]), or
    /// a reference-free loss (SimPO, ORPO).
    pub fn new(loss: DpoLoss) -> Self {
        Self { loss, frozen: None }
    }

    /// DPO against a frozen copy of `reference` (typically the initial policy), scored on
    /// every batch that carries no cached values.
    pub fn with_frozen_reference(loss: DpoLoss, reference: &M) -> Self {
        Self {
            loss,
            frozen: Some(FrozenReference::new(reference)),
        }
    }

    /// The loss.
    pub fn loss(&self) -> &DpoLoss {
        &self.loss
    }

    /// The frozen reference, if any.
    pub fn frozen_reference(&self) -> Option<&FrozenReference<M>> {
        self.frozen.as_ref()
    }

    /// Checks, before training, what [`step`](TrainMethod::step) would otherwise fail on:
    /// a loss that needs a reference gets one (frozen or cached), and soft labels go only
    /// to losses that accept them.
    pub fn check_data(&self, data: &DpoBatches) -> Result<(), DpoError> {
        let types = &self.loss.config().loss_types;
        if self.loss.needs_reference() && self.frozen.is_none() && data.cache().is_none() {
            let loss = types
                .iter()
                .find(|t| t.needs_reference())
                .map_or("", |t| t.name());
            return Err(DpoError::MissingReference {
                loss,
                field: "ref_chosen",
            });
        }
        if let Some((index, got)) = data.first_soft_label()
            && let Some(t) = types.iter().find(|t| !t.accepts_soft_labels())
        {
            return Err(DpoError::SoftLabelsUnsupported {
                loss: t.name(),
                index,
                got,
            });
        }
        Ok(())
    }

    /// The loss inputs of a batch: the policy's summed completion log-probs (one forward
    /// pass), completion lengths, soft labels and the reference's log-probs.
    pub fn pair_logps(&self, model: &M, batch: &DpoBatch) -> PairLogps {
        let p = &batch.pairs;
        let b = p.num_pairs();
        let seq = model.sequence_logprobs(
            p.ids.clone(),
            p.attention_mask.clone(),
            p.completion_mask.clone(),
        );
        let (chosen, rejected) = split_pairs(seq.sum, b);
        let (chosen_len, rejected_len) = split_pairs(seq.count.detach(), b);
        let logps = PairLogps::new(chosen, rejected, chosen_len, rejected_len)
            .with_soft_labels(p.p_chosen.clone());
        let reference = batch
            .reference
            .clone()
            .or_else(|| self.frozen.as_ref().map(|f| f.logps(p)));
        match reference {
            Some((c, r)) => logps.with_reference(c, r),
            None => logps,
        }
    }
}

impl<M: CausalLm + Module> TrainMethod for Dpo<M> {
    type Model = M;
    type Batch = DpoBatch;

    fn name(&self) -> &'static str {
        "dpo"
    }

    /// # Errors
    /// If the loss rejects the batch: no reference for a loss that needs one, or soft labels
    /// for a hard-label loss ([`Dpo::check_data`] rules both out before training;
    /// [`train_dpo`] calls it).
    fn step(&self, model: &M, batch: &DpoBatch) -> Result<StepOutput, StepError> {
        let logps = self.pair_logps(model, batch);
        let out = self.loss.forward(&logps)?;
        let loss = if batch.weighted {
            let w = batch.pairs.weight.clone();
            (out.per_pair.clone() * w.clone()).sum() / w.sum().clamp_min(f32::MIN_POSITIVE)
        } else {
            out.loss.clone()
        };
        let mut step = StepOutput::new(loss).with_weight(batch.pairs.num_pairs() as f64);
        for (name, value) in out.metrics() {
            step = step.with_metric(name, value);
        }
        Ok(step
            .with_metric("logps/chosen", logps.policy_chosen.detach().mean())
            .with_metric("logps/rejected", logps.policy_rejected.detach().mean()))
    }
}

/// Errors of [`train_dpo`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DpoTrainError {
    /// The data does not fit the loss (see [`Dpo::check_data`]).
    #[error("{which} data: {source}")]
    Data {
        /// `train` or `valid`.
        which: &'static str,
        /// Why.
        source: DpoError,
    },
    /// The training loop failed.
    #[error(transparent)]
    Train(#[from] TrainError),
}

/// [`Dpo::check_data`] on both splits, then the shared loop ([`train()`]).
pub fn train_dpo<M: CausalLm + Module>(
    method: &Dpo<M>,
    model: M,
    train_data: &DpoBatches,
    valid_data: Option<&DpoBatches>,
    config: &TrainerConfig,
    run_dir: &Path,
    device: &Device,
) -> Result<TrainOutcome<M>, DpoTrainError> {
    for (which, data) in [("train", Some(train_data)), ("valid", valid_data)] {
        if let Some(data) = data {
            method
                .check_data(data)
                .map_err(|source| DpoTrainError::Data { which, source })?;
        }
    }
    let valid = valid_data.map(|v| v as &dyn pref_data::BatchSource<Batch = DpoBatch>);
    Ok(train(
        method, model, train_data, valid, config, run_dir, device,
    )?)
}
