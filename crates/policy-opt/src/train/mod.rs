//! Building blocks shared by every trainer (SFT, reward model, DPO, PPO): learning-rate
//! schedules, global gradient-norm clipping, JSONL metrics, training-curve plots and a
//! progress bar. The training loop itself lives elsewhere; each method supplies only its step.

#![warn(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod error;
pub mod grad_norm;
pub mod method;
pub mod metrics;
pub mod plot;
pub mod progress;
pub mod schedule;
pub mod trainer;

pub use error::{TrainError, TrainResult};
pub use grad_norm::{clip_grad_norm, global_grad_norm, grads_all_finite};
pub use metrics::{MetricRecord, MetricsWriter, read_metrics};
pub use plot::plot_metrics;
pub use progress::TrainProgress;
pub use schedule::LrSchedule;
pub use checkpoint::{TrainerState, list_checkpoints, load_checkpoint, save_checkpoint};
pub use config::{AdamWSettings, TrainerConfig};
pub use method::{BatchSource, StepOutput, TrainMethod};
pub use trainer::{METRICS_FILE, PLOT_FILE, TrainOutcome, evaluate, train};
