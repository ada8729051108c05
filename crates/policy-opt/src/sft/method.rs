//! SFT as a [`TrainMethod`] of the shared loop.

use std::marker::PhantomData;

use burn::module::Module;
use lm::CausalLm;

use super::data::SftBatch;
use super::loss::sft_loss_from_logprobs;
use crate::train::{MetricName, StepError, StepOutput, TrainMethod};

/// Supervised fine-tuning of any [`CausalLm`] module with [`sft_loss`](super::sft_loss)
/// (computed as [`sft_loss_from_logprobs`] of [`CausalLm::sequence_logprobs`]).
#[derive(Clone, Debug, Default)]
pub struct Sft<M> {
    _model: PhantomData<M>,
}

impl<M> Sft<M> {
    /// The method.
    pub fn new() -> Self {
        Self {
            _model: PhantomData,
        }
    }
}

impl<M: CausalLm + Module + Clone> TrainMethod for Sft<M> {
    type Model = M;
    type Batch = SftBatch;

    fn name(&self) -> &'static str {
        "sft"
    }

    fn step(&self, model: &M, batch: &SftBatch) -> Result<StepOutput, StepError> {
        // `sft_loss` of the logits, computed through `sequence_logprobs` so that the model's
        // fused head projects only the scored positions and never holds the logits.
        let lp = model.sequence_logprobs(
            batch.ids.clone(),
            batch.mask.clone(),
            batch.loss_mask.clone(),
        );
        let (loss, tokens) = sft_loss_from_logprobs(&lp);
        let weight = tokens.into_scalar::<f32>() as f64;
        Ok(StepOutput::new(loss).with_weight(weight))
    }

    fn eval_extras(&self, mean_loss: f64) -> Vec<(MetricName, f64)> {
        vec![("perplexity".into(), mean_loss.exp())]
    }
}
