//! [`Trainer`]: the training engine every method runs on.
//!
//! It owns what every method shares — the model and its AdamW optimizer, the learning-rate
//! schedule, gradient accumulation and global-norm clipping, the NaN guard, metrics (JSONL and
//! PNG curves), the progress bar, and checkpoints with exact resume — and lets the method
//! decide what a step computes and when it happens:
//!
//! - offline methods (SFT, reward models, DPO) use [`train`](crate::train()), a short loop
//!   over a [`BatchSource`](crate::BatchSource) built on this engine;
//! - online methods (PPO, GRPO, RLOO, REINFORCE++) alternate a rollout phase with epochs of
//!   minibatch steps, call [`Trainer::optimizer_step`] for each update, and store their own
//!   state (a KL controller's β, a reward normaliser, the iteration) with
//!   [`Trainer::checkpoint`]; [`Trainer::method_state`] gives it back on resume.
//!
//! ```no_run
//! # use burn::tensor::{Device, Tensor};
//! # use train::{StepOutput, Trainer, TrainerConfig, TrainError};
//! # fn demo<M: burn::module::Module + Clone>(model: M, loss_of: impl Fn(&M) -> Tensor<1>) -> Result<(), TrainError> {
//! let mut trainer = Trainer::open(model, &TrainerConfig::default(), "runs/demo", "demo")?;
//! let mut iteration: usize = trainer.method_state()?.unwrap_or(0);
//! while !trainer.is_done() {
//!     trainer.optimizer_step(|model, _micro| Ok::<_, TrainError>(StepOutput::new(loss_of(model))))?;
//!     iteration += 1;
//!     trainer.record("iteration", iteration as f64);
//!     if trainer.log_due() {
//!         trainer.flush_log()?;
//!     }
//!     if trainer.checkpoint_due() {
//!         trainer.checkpoint(&iteration)?;
//!     }
//! }
//! let outcome = trainer.finish()?;
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};

use crate::adamw::LeanAdamW;
use burn::tensor::Tensor;
use rlhf_core::ConfigError;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::checkpoint::{TrainerState, list_checkpoints, load_checkpoint, save_checkpoint};
use crate::config::TrainerConfig;
use crate::error::TrainError;
use crate::grad_norm::clip_grad_norm;
use crate::method::{MetricName, StepOutput};
use crate::metrics::{MetricRecord, MetricsWriter, read_metrics};
use crate::plot::plot_metrics;
use crate::progress::{TrainProgress, format_values};

/// Where a run writes its metrics.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The training-curve plot of a run.
pub const PLOT_FILE: &str = "curves.png";

/// What a finished run returns.
pub struct TrainOutcome<M> {
    /// The trained model (on the training device).
    pub model: M,
    /// Step the run resumed from (0 for a fresh run).
    pub resumed_from: usize,
    /// The last checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
    /// Every metric record of the run (resumed runs include the earlier records).
    pub records: Vec<MetricRecord>,
}

/// The training engine (see the [module docs](self)).
pub struct Trainer<M> {
    model: Option<M>,
    optim: ModuleOptimizer,
    config: TrainerConfig,
    run_dir: PathBuf,
    label: String,
    step: usize,
    resumed_from: usize,
    resumed_state: Option<(PathBuf, serde_json::Value)>,
    last_checkpoint: Option<PathBuf>,
    writer: Option<MetricsWriter>,
    progress: TrainProgress,
    t0: Instant,
    window: Window,
    plot_keys: Option<Vec<String>>,
}

/// Metrics gathered since the last log: device sums read back only when logging.
#[derive(Default)]
struct Window {
    steps: usize,
    device: Vec<(MetricName, Tensor<1>)>,
    host: Vec<(MetricName, f64, usize)>,
}

impl Window {
    fn add_device(&mut self, name: MetricName, value: Tensor<1>) {
        let value = value.detach().reshape([1]);
        match self.device.iter_mut().find(|(k, _)| *k == name) {
            Some((_, sum)) => *sum = sum.clone() + value,
            None => self.device.push((name, value)),
        }
    }

    fn add_host(&mut self, name: MetricName, value: f64) {
        match self.host.iter_mut().find(|(k, _, _)| *k == name) {
            Some((_, sum, n)) => {
                *sum += value;
                *n += 1;
            }
            None => self.host.push((name, value, 1)),
        }
    }

    /// Means: device sums over the steps of the window, host values over their count.
    fn means(&mut self) -> Vec<(MetricName, f64)> {
        let mut out = Vec::with_capacity(self.device.len() + self.host.len());
        if !self.device.is_empty() {
            let (names, sums): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.device).into_iter().unzip();
            let values = Tensor::cat(sums, 0).into_data();
            let steps = self.steps.max(1) as f64;
            match values.iter::<f32>().collect::<Vec<_>>() {
                v if v.len() == names.len() => {
                    out.extend(names.into_iter().zip(v).map(|(k, x)| (k, x as f64 / steps)))
                }
                _ => out.extend(names.into_iter().map(|k| (k, f64::NAN))),
            }
        }
        for (k, sum, n) in std::mem::take(&mut self.host) {
            out.push((k, sum / n.max(1) as f64));
        }
        self.steps = 0;
        out
    }
}

impl<M: Module + Clone> Trainer<M> {
    /// Opens a run in `run_dir` labelled `label` (progress bar, plot title): validates
    /// `config`, creates the folder, builds AdamW, and — when `run_dir` holds checkpoints —
    /// loads the newest into `model` (built with the same architecture) and the optimizer, so
    /// the run continues after it. `model` must live on an autodiff device.
    pub fn open(
        model: M,
        config: &TrainerConfig,
        run_dir: impl AsRef<Path>,
        label: impl Into<String>,
    ) -> Result<Self, TrainError> {
        config.validate()?;
        let run_dir = run_dir.as_ref().to_path_buf();
        let label = label.into();
        std::fs::create_dir_all(&run_dir).map_err(|e| TrainError::Checkpoint {
            path: run_dir.clone(),
            source: e.into(),
        })?;
        let mut optim: ModuleOptimizer = LeanAdamW::new(&config.adamw).into_module_optimizer();
        let mut model = model;
        let mut step = 0;
        let mut last_checkpoint = None;
        let mut resumed_state = None;
        if let Some((_, dir)) = list_checkpoints(&run_dir)?.pop() {
            let (m, o, state) = load_checkpoint(&dir, model, optim)?;
            (model, optim, step) = (m, o, state.step);
            if let Some(v) = state.method {
                resumed_state = Some((dir.join("state.json"), v));
            }
            last_checkpoint = Some(dir);
        }
        let metrics_path = run_dir.join(METRICS_FILE);
        let writer = if step > 0 {
            MetricsWriter::append_truncating_after(&metrics_path, step)?
        } else {
            MetricsWriter::create(&metrics_path)?
        };
        let progress = if step > 0 {
            TrainProgress::resumed(config.total_steps, step, &label)
        } else {
            TrainProgress::new(config.total_steps, &label)
        };
        Ok(Self {
            model: Some(model),
            optim,
            config: config.clone(),
            run_dir,
            label,
            step,
            resumed_from: step,
            resumed_state,
            last_checkpoint,
            writer: Some(writer),
            progress,
            t0: Instant::now(),
            window: Window::default(),
            plot_keys: None,
        })
    }

    /// Optimizer steps done (skipped ones included, see [`skip_steps`](Self::skip_steps)).
    pub fn step(&self) -> usize {
        self.step
    }

    /// Whether every step of the configured `total_steps` is done.
    pub fn is_done(&self) -> bool {
        self.step >= self.config.total_steps
    }

    /// The step this process resumed from (0 for a fresh run).
    pub fn resumed_from(&self) -> usize {
        self.resumed_from
    }

    /// The settings.
    pub fn config(&self) -> &TrainerConfig {
        &self.config
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.run_dir
    }

    /// The newest checkpoint written or resumed from.
    pub fn last_checkpoint(&self) -> Option<&Path> {
        self.last_checkpoint.as_deref()
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        self.model
            .as_ref()
            .expect("the trainer holds its model between steps")
    }

    /// The learning rate of the next optimizer step.
    pub fn lr(&self) -> f64 {
        self.config.schedule.lr(self.step)
    }

    /// The method state stored with the checkpoint this run resumed from (see
    /// [`checkpoint`](Self::checkpoint)); `None` for a fresh run or a method without state.
    pub fn method_state<T: DeserializeOwned>(&self) -> Result<Option<T>, TrainError> {
        match &self.resumed_state {
            None => Ok(None),
            Some((path, v)) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|source| TrainError::MethodState {
                    path: path.clone(),
                    source,
                }),
        }
    }

    /// One optimizer step: `micro(model, k)` computes micro-batch `k` of
    /// `config.grad_accum`; their gradients of `loss / grad_accum` are accumulated, clipped to
    /// the global L2 norm `config.max_grad_norm` and applied by AdamW at [`lr`](Self::lr).
    ///
    /// Metrics stay on the device until [`flush_log`](Self::flush_log); the loss and the
    /// gradient norm are read back once per step for the NaN guard: a non-finite loss or
    /// norm stops with [`TrainError::NonFinite`] naming the step and the last good
    /// checkpoint, without updating the model. An error of `micro` is returned as is, the
    /// model unchanged.
    pub fn optimizer_step<E, F>(&mut self, micro: F) -> Result<(), E>
    where
        E: From<TrainError>,
        F: FnMut(&M, usize) -> Result<StepOutput, E>,
    {
        self.optimizer_step_with(self.config.grad_accum, micro)
    }

    /// [`optimizer_step`](Self::optimizer_step) over `n` micro-batches instead of
    /// `config.grad_accum` (for methods whose batches vary, e.g. after dropping samples);
    /// the gradient is that of the mean of their losses.
    pub fn optimizer_step_with<E, F>(&mut self, n: usize, mut micro: F) -> Result<(), E>
    where
        E: From<TrainError>,
        F: FnMut(&M, usize) -> Result<StepOutput, E>,
    {
        if n == 0 {
            return Err(TrainError::Config(ConfigError::new(
                "micro-batches",
                "at least 1 per optimizer step",
                0,
            ))
            .into());
        }
        if self.is_done() {
            return Err(TrainError::Config(ConfigError::new(
                "total_steps",
                "a step left to run",
                format_args!("{} (all done)", self.config.total_steps),
            ))
            .into());
        }
        let model = self
            .model
            .take()
            .expect("the trainer holds its model between steps");
        let scale = 1.0 / n as f64;
        let mut acc = GradientsAccumulator::<M>::new();
        let mut loss_sum: Option<Tensor<1>> = None;
        let mut metrics: Vec<(MetricName, Tensor<1>)> = Vec::new();
        for k in 0..n {
            let out = match micro(&model, k) {
                Ok(out) => out,
                Err(e) => {
                    self.model = Some(model);
                    return Err(e);
                }
            };
            let loss = out.loss.reshape([1]) * scale;
            let detached = loss.clone().detach();
            loss_sum = Some(match loss_sum {
                Some(s) => s + detached,
                None => detached,
            });
            for (name, v) in out.metrics {
                metrics.push((name, v.detach().reshape([1]) * scale));
            }
            let grads = loss.backward();
            acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
        }
        let loss_sum = loss_sum.expect("n ≥ 1 micro-batches");
        let (grads, norm) = clip_grad_norm(
            &model,
            acc.grads(),
            self.config.max_grad_norm.unwrap_or(f64::INFINITY),
        );
        let loss = loss_sum.clone().into_scalar::<f32>() as f64;
        if !(loss.is_finite() && norm.is_finite()) {
            let (what, value) = if loss.is_finite() {
                ("gradient norm", norm)
            } else {
                ("loss", loss)
            };
            self.progress.abandon(&format!("non-finite {what}"));
            self.model = Some(model);
            return Err(TrainError::NonFinite {
                step: self.step + 1,
                what,
                value,
                last_checkpoint: self.last_checkpoint.clone(),
            }
            .into());
        }
        let lr = self.lr();
        self.model = Some(self.optim.step(lr, model, grads));
        self.step += 1;
        self.window.steps += 1;
        self.window.add_device("loss".into(), loss_sum);
        for (name, v) in metrics {
            self.window.add_device(name, v);
        }
        self.window.add_host("grad_norm".into(), norm);
        self.window.add_host("lr".into(), lr);
        self.progress.set_position(self.step);
        Ok(())
    }

    /// Advances the schedule by `n` steps without updating the model (e.g. the minibatches
    /// an online method skips after an early stop on KL), so the learning rate and the step
    /// count stay on the planned course. Stops at `total_steps`.
    pub fn skip_steps(&mut self, n: usize) {
        self.step = (self.step + n).min(self.config.total_steps);
        self.progress.set_position(self.step);
    }

    /// A host value to log with the next training record, averaged over the times it was
    /// recorded since the last log (e.g. rollout statistics).
    pub fn record(&mut self, name: impl Into<MetricName>, value: f64) {
        self.window.add_host(name.into(), value);
    }

    /// Whether a training record is due: at every `log_every`-th step and at the last.
    pub fn log_due(&self) -> bool {
        self.window.steps > 0 && (self.step.is_multiple_of(self.config.log_every) || self.is_done())
    }

    /// Writes the means of the metrics gathered since the last log as a `train` record at
    /// the current step, shows them on the progress bar, and returns them.
    pub fn flush_log(&mut self) -> Result<Vec<(MetricName, f64)>, TrainError> {
        let values = self.window.means();
        let shown: Vec<(&str, f64)> = values.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        self.progress.update(self.step, &shown);
        self.log("train", &values)?;
        Ok(values)
    }

    /// Writes `values` as a record of `split` (e.g. `valid`) at the current step.
    pub fn log(&mut self, split: &str, values: &[(MetricName, f64)]) -> Result<(), TrainError> {
        let pairs: Vec<(&str, f64)> = values.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        let record = MetricRecord::from_pairs(self.step, split, &pairs)
            .with_wall_time(self.t0.elapsed().as_secs_f64());
        self.writer
            .as_mut()
            .expect("the writer lives until finish")
            .log(&record)
    }

    /// Prints a line above the progress bar (nothing when the bar is hidden).
    pub fn println(&self, line: impl AsRef<str>) {
        self.progress.println(line);
    }

    /// Formats `(name, value)` pairs as the progress bar shows them.
    pub fn format(values: &[(MetricName, f64)]) -> String {
        let pairs: Vec<(&str, f64)> = values.iter().map(|(k, v)| (k.as_ref(), *v)).collect();
        format_values(&pairs)
    }

    /// Whether a checkpoint is due: every `save_every` steps (when > 0) and at the last step.
    pub fn checkpoint_due(&self) -> bool {
        (self.config.save_every > 0 && self.step.is_multiple_of(self.config.save_every))
            || self.is_done()
    }

    /// Writes a checkpoint of the model, the optimizer, the step and `method_state` (any
    /// serialisable state of the method; `()` for none), then keeps only the newest
    /// `keep_checkpoints`. Returns its folder.
    pub fn checkpoint<S: Serialize + ?Sized>(
        &mut self,
        method_state: &S,
    ) -> Result<PathBuf, TrainError> {
        let method =
            serde_json::to_value(method_state).map_err(|source| TrainError::MethodState {
                path: self.run_dir.clone(),
                source,
            })?;
        let state = TrainerState {
            step: self.step,
            config: self.config.clone(),
            method: (!method.is_null()).then_some(method),
        };
        let dir = save_checkpoint(
            &self.run_dir,
            self.model(),
            &self.optim,
            &state,
            self.config.keep_checkpoints,
        )?;
        self.last_checkpoint = Some(dir.clone());
        Ok(dir)
    }

    /// Plots these metrics in `curves.png` at [`finish`](Self::finish) (default: `loss` and
    /// every other metric but the learning rate).
    pub fn set_plot_keys(&mut self, keys: impl IntoIterator<Item = impl Into<String>>) {
        self.plot_keys = Some(keys.into_iter().map(Into::into).collect());
    }

    /// Ends the run: flushes pending metrics, finishes the progress bar, draws `curves.png`
    /// and returns the model with every record of the run.
    pub fn finish(mut self) -> Result<TrainOutcome<M>, TrainError> {
        if self.window.steps > 0 || !self.window.host.is_empty() {
            self.flush_log()?;
        }
        self.progress.finish();
        self.writer.take();
        let metrics_path = self.run_dir.join(METRICS_FILE);
        let records = read_metrics(&metrics_path)?;
        let keys = match self.plot_keys.take() {
            Some(k) => k,
            None => default_plot_keys(&records),
        };
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        if !records.is_empty() && !keys.is_empty() {
            plot_metrics(&records, &keys, &self.run_dir.join(PLOT_FILE), &self.label)?;
        }
        Ok(TrainOutcome {
            model: self.model.take().expect("the trainer holds its model"),
            resumed_from: self.resumed_from,
            last_checkpoint: self.last_checkpoint,
            records,
        })
    }
}

/// Curves worth a look: the loss first, then every other metric except the learning rate.
fn default_plot_keys(records: &[MetricRecord]) -> Vec<String> {
    let mut keys = vec!["loss".to_string()];
    for r in records {
        for k in r.values.keys() {
            if !keys.contains(k) && k != "lr" {
                keys.push(k.clone());
            }
        }
    }
    keys
}
