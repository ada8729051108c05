//! The one training loop every method runs in.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::checkpoint::{TrainerState, list_checkpoints, load_checkpoint, save_checkpoint};
use super::config::TrainerConfig;
use super::error::TrainError;
use super::grad_norm::clip_grad_norm;
use super::method::{BatchSource, TrainMethod};
use super::metrics::{MetricRecord, MetricsWriter, read_metrics};
use super::plot::plot_metrics;
use super::progress::TrainProgress;

/// Where a run writes its files.
pub const METRICS_FILE: &str = "metrics.jsonl";
/// The training-curve plot of a run.
pub const PLOT_FILE: &str = "curves.png";

/// What [`train`] returns.
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

/// Runs `method` on `model` for `config.total_steps` optimizer steps, writing checkpoints,
/// `metrics.jsonl` and `curves.png` under `run_dir`.
///
/// - Data order: epoch `e` visits the batches of `train_data` in a permutation seeded by
///   `(config.seed, e)`; micro-batch `k` of the run is position `k mod n` of epoch `k / n`.
///   A resumed run therefore sees exactly the batches the uninterrupted run would have.
/// - Each optimizer step accumulates `grad_accum` micro-batch gradients of `loss / grad_accum`,
///   clips the global L2 norm, and applies AdamW at the scheduled learning rate.
/// - If `run_dir` holds checkpoints, the newest is loaded and the run continues after it.
/// - A non-finite loss or gradient norm stops the run with [`TrainError::NonFinite`]; the
///   checkpoints written before it are kept untouched.
///
/// `model` must live on an autodiff device; `device` is where batches are placed.
pub fn train<M, S>(
    method: &S,
    mut model: M,
    train_data: &dyn BatchSource<Batch = S::Batch>,
    valid_data: Option<&dyn BatchSource<Batch = S::Batch>>,
    config: &TrainerConfig,
    run_dir: &Path,
    device: &Device,
) -> Result<TrainOutcome<M>, TrainError>
where
    M: Module + Clone,
    S: TrainMethod<Model = M>,
{
    config.validate()?;
    if train_data.is_empty() {
        return Err(TrainError::Config {
            field: "train_data",
            message: "holds no batch".into(),
        });
    }
    std::fs::create_dir_all(run_dir).map_err(|e| TrainError::Checkpoint {
        path: run_dir.into(),
        message: e.to_string(),
    })?;
    let a = &config.adamw;
    let mut optim: ModuleOptimizer = AdamWConfig::new()
        .with_beta_1(a.beta1)
        .with_beta_2(a.beta2)
        .with_epsilon(a.epsilon)
        .with_weight_decay(a.weight_decay)
        .init();

    let mut start = 0;
    let mut last_checkpoint = None;
    if let Some((_, dir)) = list_checkpoints(run_dir)?.pop() {
        let (m, o, state) = load_checkpoint(&dir, model, optim)?;
        (model, optim, start) = (m, o, state.step);
        last_checkpoint = Some(dir);
    }
    let metrics_path = run_dir.join(METRICS_FILE);
    let mut writer = if start > 0 {
        MetricsWriter::append_truncating_after(&metrics_path, start)?
    } else {
        MetricsWriter::create(&metrics_path)?
    };
    let order = EpochOrder::new(train_data.len(), config.seed);
    let progress = if start > 0 {
        TrainProgress::resumed(config.total_steps, start, method.name())
    } else {
        TrainProgress::new(config.total_steps, method.name())
    };
    let t0 = Instant::now();
    let mut sums: Vec<(&'static str, f64)> = Vec::new();
    let mut window = 0usize;

    for step in start..config.total_steps {
        let lr = config.schedule.lr(step);
        let mut acc = GradientsAccumulator::<M>::new();
        let mut step_values: Vec<(&'static str, f64)> = Vec::new();
        for micro in 0..config.grad_accum {
            let index = order.index(step * config.grad_accum + micro);
            let batch = train_data.batch(index, device);
            let out = method.step(&model, &batch);
            let loss = out.loss.clone().into_scalar::<f32>() as f64;
            if !loss.is_finite() {
                progress.abandon("non-finite loss");
                return Err(TrainError::NonFinite {
                    step: step + 1,
                    what: "loss",
                    value: loss,
                    last_checkpoint,
                });
            }
            add(&mut step_values, "loss", loss / config.grad_accum as f64);
            for (k, v) in out.metrics {
                add(
                    &mut step_values,
                    k,
                    v.into_scalar::<f32>() as f64 / config.grad_accum as f64,
                );
            }
            let grads = (out.loss / config.grad_accum as f64).backward();
            acc.accumulate(&model, GradientsParams::from_grads(grads, &model));
        }
        let (grads, norm) = clip_grad_norm(
            &model,
            acc.grads(),
            config.max_grad_norm.unwrap_or(f64::INFINITY),
        );
        if !norm.is_finite() {
            progress.abandon("non-finite gradient");
            return Err(TrainError::NonFinite {
                step: step + 1,
                what: "gradient norm",
                value: norm,
                last_checkpoint,
            });
        }
        model = optim.step(lr, model, grads);
        let done = step + 1;
        step_values.push(("grad_norm", norm));
        step_values.push(("lr", lr));
        for (k, v) in &step_values {
            add(&mut sums, k, *v);
        }
        window += 1;
        progress.update(done, &step_values);

        if done % config.log_every == 0 || done == config.total_steps {
            let mean: Vec<(&str, f64)> =
                sums.iter().map(|(k, v)| (*k, v / window as f64)).collect();
            writer.log(
                &MetricRecord::from_pairs(done, "train", &mean)
                    .with_wall_time(t0.elapsed().as_secs_f64()),
            )?;
            sums.clear();
            window = 0;
        }
        let eval_due =
            config.eval_every > 0 && (done % config.eval_every == 0 || done == config.total_steps);
        if let (true, Some(valid)) = (eval_due, valid_data) {
            let values = evaluate(method, &model.valid(), valid, config.eval_batches, device);
            progress.println(format!(
                "step {done}: {}",
                super::progress::format_values(&values)
            ));
            writer.log(
                &MetricRecord::from_pairs(done, "valid", &values)
                    .with_wall_time(t0.elapsed().as_secs_f64()),
            )?;
        }
        let save_due =
            (config.save_every > 0 && done % config.save_every == 0) || done == config.total_steps;
        if save_due {
            let state = TrainerState {
                step: done,
                config: config.clone(),
            };
            last_checkpoint = Some(save_checkpoint(
                run_dir,
                &model,
                &optim,
                &state,
                config.keep_checkpoints,
            )?);
        }
    }
    progress.finish();
    drop(writer);
    let records = read_metrics(&metrics_path)?;
    let keys = plot_keys(&records);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    plot_metrics(&records, &keys, &run_dir.join(PLOT_FILE), method.name())?;
    Ok(TrainOutcome {
        model,
        resumed_from: start,
        last_checkpoint,
        records,
    })
}

/// Weighted means of the loss and metrics of `method` over (at most `limit`) batches of
/// `data`, on an inference copy of the model, plus the method's extras.
pub fn evaluate<S: TrainMethod>(
    method: &S,
    model: &S::Model,
    data: &dyn BatchSource<Batch = S::Batch>,
    limit: Option<usize>,
    device: &Device,
) -> Vec<(&'static str, f64)> {
    let device = device.clone().without_autodiff();
    let n = limit.map_or(data.len(), |l| l.min(data.len()));
    let mut sums: Vec<(&'static str, f64)> = Vec::new();
    let mut total = 0.0;
    for i in 0..n {
        let out = method.step(model, &data.batch(i, &device));
        let w = out.weight;
        add(&mut sums, "loss", out.loss.into_scalar::<f32>() as f64 * w);
        for (k, v) in out.metrics {
            add(&mut sums, k, v.into_scalar::<f32>() as f64 * w);
        }
        total += w;
    }
    let mut values: Vec<(&'static str, f64)> = sums
        .into_iter()
        .map(|(k, v)| (k, v / total.max(f64::MIN_POSITIVE)))
        .collect();
    let loss = values.first().map_or(f64::NAN, |v| v.1);
    values.extend(method.eval_extras(loss));
    values
}

fn add(values: &mut Vec<(&'static str, f64)>, key: &'static str, v: f64) {
    match values.iter_mut().find(|(k, _)| *k == key) {
        Some((_, s)) => *s += v,
        None => values.push((key, v)),
    }
}

/// Curves worth a look: the loss first, then every other metric except the learning rate.
fn plot_keys(records: &[MetricRecord]) -> Vec<String> {
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

/// Seeded permutation of batch indices per epoch.
struct EpochOrder {
    n: usize,
    seed: u64,
    cache: std::cell::RefCell<(usize, Vec<usize>)>,
}

impl EpochOrder {
    fn new(n: usize, seed: u64) -> Self {
        Self {
            n,
            seed,
            cache: std::cell::RefCell::new((usize::MAX, Vec::new())),
        }
    }

    fn index(&self, k: usize) -> usize {
        let (epoch, pos) = (k / self.n, k % self.n);
        let mut cache = self.cache.borrow_mut();
        if cache.0 != epoch {
            let mut perm: Vec<usize> = (0..self.n).collect();
            let mut rng = StdRng::seed_from_u64(
                self.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            perm.shuffle(&mut rng);
            *cache = (epoch, perm);
        }
        cache.1[pos]
    }
}

#[cfg(test)]
mod tests {
    use super::EpochOrder;

    #[test]
    fn epoch_order_is_a_permutation_and_seeded() {
        let a = EpochOrder::new(10, 3);
        let first: Vec<usize> = (0..10).map(|k| a.index(k)).collect();
        let mut sorted = first.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        let second: Vec<usize> = (10..20).map(|k| a.index(k)).collect();
        assert_ne!(first, second, "epochs are reshuffled");
        let b = EpochOrder::new(10, 3);
        assert_eq!(
            (0..20).map(|k| b.index(k)).collect::<Vec<_>>(),
            [first, second].concat()
        );
    }
}
