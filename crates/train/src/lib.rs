//! Training shared by every method (SFT, reward model, DPO, PPO, GRPO): one engine
//! ([`Trainer`]: optimizer steps with accumulation, clipping, AdamW and the schedule, NaN
//! guard, metrics, checkpoints with the method's own state, exact resume), the offline loop
//! on top of it ([`train()`], to which a method supplies only its step, [`method`]), and
//! reusable pieces:
//! learning-rate schedules ([`schedule`]), global gradient-norm clipping ([`grad_norm`]),
//! JSONL metrics ([`metrics`]), training-curve plots ([`plot`]) and a progress bar
//! ([`progress`]); and [`TrainingConfig`], the `[train]` table of every method's run
//! configuration ([`run_config`]).

#![warn(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod engine;
pub mod error;
pub mod grad_norm;
pub mod method;
pub mod metrics;
pub mod plot;
pub mod progress;
pub mod run_config;
pub mod scatter;
pub mod schedule;
pub mod trainer;

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
