//! Training shared by every method (SFT, reward model, DPO, PPO, GRPO): one engine
//! ([`Trainer`]: optimizer steps with accumulation, clipping, AdamW and the schedule, NaN
//! guard, metrics, checkpoints with the method's own state, exact resume), the offline loop
//! on top of it ([`train()`], to which a method supplies only its step, [`method`]), and
//! reusable pieces:
//! learning-rate schedules ([`schedule`]), global gradient-norm clipping ([`grad_norm`]),
//! JSONL metrics ([`metrics`]), training-curve plots ([`plot`]) and a progress bar
//! ([`progress`]); and [`TrainingConfig`], the `[train]` table of every method's run
//! configuration ([`run_config`]).
//!
//! A method supplies only its step; the loop does the rest. Fitting `y = 2x` with a linear
//! layer:
//!
//! ```
//! use burn::module::Module;
//! use burn::nn::{Linear, LinearConfig};
//! use burn::tensor::{Device, Tensor};
//! use train::{BatchSource, LrSchedule, StepError, StepOutput, TrainMethod, TrainerConfig, train};
//!
//! struct Regression;
//! impl TrainMethod for Regression {
//!     type Model = Linear;
//!     type Batch = (Tensor<2>, Tensor<2>);
//!     fn name(&self) -> &'static str { "regression" }
//!     fn step(&self, model: &Linear, (x, y): &Self::Batch) -> Result<StepOutput, StepError> {
//!         let err = model.forward(x.clone()) - y.clone();
//!         Ok(StepOutput::new((err.clone() * err).mean()))
//!     }
//! }
//!
//! struct Points;
//! impl BatchSource for Points {
//!     type Batch = (Tensor<2>, Tensor<2>);
//!     fn len(&self) -> usize { 4 }
//!     fn batch(&self, i: usize, device: &Device) -> Self::Batch {
//!         let x = i as f32 / 4.0;
//!         (Tensor::from_floats([[x]], device), Tensor::from_floats([[2.0 * x]], device))
//!     }
//! }
//!
//! let device = lm::select_device().unwrap();
//! let model = LinearConfig::new(1, 1).init(&device.clone().autodiff());
//! let config = TrainerConfig {
//!     total_steps: 200,
//!     schedule: LrSchedule::constant(0.05, 0),
//!     eval_every: 0,
//!     ..TrainerConfig::default()
//! };
//! let dir = tempfile::tempdir().unwrap(); // checkpoints, metrics.jsonl, curves.png
//! let out = train(&Regression, model, &Points, None, &config, dir.path(), &device).unwrap();
//! let w: f32 = out.model.weight.val().into_scalar();
//! assert!((w - 2.0).abs() < 0.2, "learned w = {w}");
//! ```

#![warn(missing_docs)]

pub mod adamw;
pub mod checkpoint;
pub mod config;
pub mod engine;
pub mod error;
pub mod grad_norm;
pub mod inplace;
pub mod method;
pub mod metrics;
pub mod plot;
pub mod progress;
pub mod run_config;
pub mod scatter;
pub mod schedule;
pub mod trainer;

pub use adamw::LeanAdamW;
pub use checkpoint::{TrainerState, list_checkpoints, load_checkpoint, save_checkpoint};
pub use config::{AdamWSettings, TrainerConfig};
pub use engine::{METRICS_FILE, PLOT_FILE, TrainOutcome, Trainer};
pub use error::{TrainError, TrainResult};
pub use grad_norm::{clip_grad_norm, global_grad_norm, grads_all_finite};
pub use method::{BatchSource, MetricName, StepError, StepOutput, TrainMethod};
pub use metrics::{MetricRecord, MetricsWriter, read_metrics};
pub use plot::plot_metrics;
pub use progress::TrainProgress;
pub use run_config::{ConfigError, SchedulerKind, TrainingConfig};
pub use scatter::{XySeries, plot_xy};
pub use schedule::LrSchedule;
pub use trainer::{evaluate, train};
