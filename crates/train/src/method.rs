//! What a training method supplies to the shared loop: its data and its step.

use std::borrow::Cow;

use burn::module::Module;
use burn::tensor::Tensor;

pub use rlhf_core::BatchSource;

/// The name of a logged metric: a `&'static str` for fixed names (`"loss"`,
/// `"rewards/chosen"`) or a `String` built at run time (an ensemble member's
/// `"reward/helpful"`).
pub type MetricName = Cow<'static, str>;

/// A scalar computed by a step: a loss term or a statistic to log.
pub struct StepOutput {
    /// The value to minimise, shape `[1]` (on an autodiff device during training).
    pub loss: Tensor<1>,
    /// Further scalars to log (shape `[1]` each), e.g. accuracy or mean reward. They stay on
    /// the device: the loop sums them there and reads them back only when it logs.
    pub metrics: Vec<(MetricName, Tensor<1>)>,
    /// Weight of this batch when averaging over several (e.g. its number of loss tokens).
    pub weight: f64,
}

impl StepOutput {
    /// A loss with no metric, weight 1.
    pub fn new(loss: Tensor<1>) -> Self {
        Self {
            loss,
            metrics: Vec::new(),
            weight: 1.0,
        }
    }

    /// Adds a metric (detached here, so logging never keeps a graph alive).
    pub fn with_metric(mut self, name: impl Into<MetricName>, value: Tensor<1>) -> Self {
        self.metrics.push((name.into(), value.detach()));
        self
    }

    /// Sets the averaging weight.
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }
}

/// A boxed error of a method's step (its own error type, kept as the source).
pub type StepError = Box<dyn std::error::Error + Send + Sync>;

/// A training method over a fixed dataset: how one batch becomes a loss. Everything else —
/// accumulation, clipping, the optimizer, schedules, evaluation, checkpoints, metrics, plots,
/// NaN guard — is the shared loop's ([`train`](crate::train()), on the
/// [`Trainer`](crate::Trainer) engine that online methods drive directly).
pub trait TrainMethod {
    /// The model being trained.
    type Model: Module + Clone;
    /// The batch type.
    type Batch;

    /// Short name used in logs and progress bars (e.g. `"sft"`).
    fn name(&self) -> &'static str;

    /// Loss and metrics of one micro-batch. Called on the training model (autodiff device)
    /// during training and on its `valid()` copy during evaluation. A batch the method
    /// cannot use is an error, which stops the run naming the step.
    fn step(&self, model: &Self::Model, batch: &Self::Batch) -> Result<StepOutput, StepError>;

    /// Extra evaluation metrics derived from the averaged evaluation loss (e.g. perplexity).
    fn eval_extras(&self, _mean_loss: f64) -> Vec<(MetricName, f64)> {
        Vec::new()
    }
}
