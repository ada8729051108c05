//! [`train`]: the loop of the offline methods (SFT, reward models, DPO) over a fixed
//! dataset, on the [`Trainer`] engine.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rlhf_core::ConfigError;

use crate::config::TrainerConfig;
use crate::engine::{TrainOutcome, Trainer};
use crate::error::TrainError;
use crate::method::{BatchSource, MetricName, TrainMethod};

/// Runs `method` on `model` for `config.total_steps` optimizer steps, writing checkpoints,
/// `metrics.jsonl` and `curves.png` under `run_dir`.
///
/// - Data order: epoch `e` visits the batches of `train_data` in a permutation seeded by
///   `(config.seed, e)`; micro-batch `k` of the run is position `k mod n` of epoch `k / n`.
///   A resumed run therefore sees exactly the batches the uninterrupted run would have.
/// - Each optimizer step accumulates `grad_accum` micro-batch gradients of `loss / grad_accum`,
///   clips the global L2 norm, and applies AdamW at the scheduled learning rate
///   ([`Trainer::optimizer_step`]).
/// - If `run_dir` holds checkpoints, the newest is loaded and the run continues after it.
/// - A non-finite loss or gradient norm stops the run with [`TrainError::NonFinite`]; a
///   step the method cannot compute stops it with [`TrainError::Step`]; the checkpoints
///   written before either are kept untouched.
///
/// `model` must live on an autodiff device; `device` is where batches are placed.
pub fn train<M, S>(
    method: &S,
    model: M,
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
        return Err(ConfigError::new("train_data", "at least one batch", "none").into());
    }
    let mut trainer = Trainer::open(model, config, run_dir, method.name())?;
    let order = EpochOrder::new(train_data.len(), config.seed);
    while !trainer.is_done() {
        let step = trainer.step();
        trainer.optimizer_step(|model, micro| {
            let batch = train_data.batch(order.index(step * config.grad_accum + micro), device);
            method
                .step(model, &batch)
                .map_err(|source| TrainError::Step {
                    method: method.name().into(),
                    step: step + 1,
                    source,
                })
        })?;
        if trainer.log_due() {
            trainer.flush_log()?;
        }
        let done = trainer.step();
        let eval_due =
            config.eval_every > 0 && (done.is_multiple_of(config.eval_every) || trainer.is_done());
        if let (true, Some(valid)) = (eval_due, valid_data) {
            let values = evaluate(
                method,
                &trainer.model().valid(),
                valid,
                config.eval_batches,
                device,
            )?;
            trainer.println(format!("step {done}: {}", Trainer::<M>::format(&values)));
            trainer.log("valid", &values)?;
        }
        if trainer.checkpoint_due() {
            trainer.checkpoint(&())?;
        }
    }
    trainer.finish()
}

/// Weighted means of the loss and metrics of `method` over (at most `limit`) batches of
/// `data`, on an inference copy of the model, plus the method's extras.
pub fn evaluate<S: TrainMethod>(
    method: &S,
    model: &S::Model,
    data: &dyn BatchSource<Batch = S::Batch>,
    limit: Option<usize>,
    device: &Device,
) -> Result<Vec<(MetricName, f64)>, TrainError> {
    let device = device.clone().without_autodiff();
    let n = limit.map_or(data.len(), |l| l.min(data.len()));
    let mut sums: Vec<(MetricName, f64)> = Vec::new();
    let mut total = 0.0;
    for i in 0..n {
        let out = method
            .step(model, &data.batch(i, &device))
            .map_err(|source| TrainError::Step {
                method: format!("{} (evaluation, batch {i})", method.name()),
                step: 0,
                source,
            })?;
        let w = out.weight;
        add(
            &mut sums,
            "loss".into(),
            out.loss.into_scalar::<f32>() as f64 * w,
        );
        for (k, v) in out.metrics {
            add(&mut sums, k, v.into_scalar::<f32>() as f64 * w);
        }
        total += w;
    }
    let mut values: Vec<(MetricName, f64)> = sums
        .into_iter()
        .map(|(k, v)| (k, v / f64::max(total, f64::MIN_POSITIVE)))
        .collect();
    let loss = values.first().map_or(f64::NAN, |v| v.1);
    values.extend(method.eval_extras(loss));
    Ok(values)
}

fn add(values: &mut Vec<(MetricName, f64)>, key: MetricName, v: f64) {
    match values.iter_mut().find(|(k, _)| *k == key) {
        Some((_, s)) => *s += v,
        None => values.push((key, v)),
    }
}

/// Seeded permutation of batch indices per epoch.
pub(crate) struct EpochOrder {
    n: usize,
    seed: u64,
    cache: std::cell::RefCell<(usize, Vec<usize>)>,
}

impl EpochOrder {
    pub(crate) fn new(n: usize, seed: u64) -> Self {
        Self {
            n,
            seed,
            cache: std::cell::RefCell::new((usize::MAX, Vec::new())),
        }
    }

    pub(crate) fn index(&self, k: usize) -> usize {
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
