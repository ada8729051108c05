//! Training shared by every method (SFT, reward model, DPO, PPO): one loop ([`trainer`]) to
//! which each method supplies only its step ([`method`]), built on reusable pieces:
//! learning-rate schedules ([`schedule`]), global gradient-norm clipping ([`grad_norm`]),
//! JSONL metrics ([`metrics`]), training-curve plots ([`plot`]) and a progress bar
//! ([`progress`]).

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

pub use checkpoint::{TrainerState, list_checkpoints, load_checkpoint, save_checkpoint};
pub use config::{AdamWSettings, TrainerConfig};
pub use error::{TrainError, TrainResult};
pub use grad_norm::{clip_grad_norm, global_grad_norm, grads_all_finite};
pub use method::{BatchSource, StepOutput, TrainMethod};
pub use metrics::{MetricRecord, MetricsWriter, read_metrics};
pub use plot::plot_metrics;
pub use progress::TrainProgress;
pub use schedule::LrSchedule;
pub use trainer::{METRICS_FILE, PLOT_FILE, TrainOutcome, evaluate, train};
