//! What a training method supplies to the shared loop: its data and its step.

use burn::module::Module;
use burn::tensor::Tensor;

pub use pref_data::BatchSource;

/// A scalar computed by a step: a loss term or a statistic to log.
pub struct StepOutput {
    /// The value to minimise, shape `[1]` (on an autodiff device during training).
    pub loss: Tensor<1>,
    /// Further scalars to log (shape `[1]` each), e.g. accuracy or mean reward.
    pub metrics: Vec<(&'static str, Tensor<1>)>,
    /// Weight of this batch when averaging over several (e.g. its number of loss tokens).
    pub weight: f64,
}

/// A training method: how one batch becomes a loss. Everything else — accumulation,
/// clipping, the optimizer, schedules, evaluation, checkpoints, metrics, plots, NaN guard —
/// is the shared loop's.
pub trait TrainMethod {
    /// The model being trained.
    type Model: Module + Clone;
    /// The batch type.
    type Batch;

    /// Short name used in logs and progress bars (e.g. `"sft"`).
    fn name(&self) -> &'static str;

    /// Loss and metrics of one micro-batch. Called on the training model (autodiff device)
    /// during training and on its `valid()` copy during evaluation.
    fn step(&self, model: &Self::Model, batch: &Self::Batch) -> StepOutput;

    /// Extra evaluation metrics derived from the averaged evaluation loss (e.g. perplexity).
    fn eval_extras(&self, _mean_loss: f64) -> Vec<(&'static str, f64)> {
        Vec::new()
    }
}
