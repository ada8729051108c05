//! The shared loop: SFT resumed from a checkpoint reproduces the uninterrupted run exactly;
//! a non-finite loss stops the run and keeps the last good checkpoint.

use burn::tensor::Device;
use lm::{Transformer, TransformerConfig};
use policy_opt::sft::{Sft, SftBatch, SftBatches, SftDataConfig, SftSequence};
use policy_opt::train::{
    BatchSource, LrSchedule, MetricRecord, StepError, StepOutput, TrainError, TrainMethod,
    TrainerConfig, list_checkpoints, train,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn device() -> Device {
    lm::select_device().unwrap()
}

fn data(n: usize, seed: u64) -> SftBatches {
    let mut rng = StdRng::seed_from_u64(seed);
    let seqs = (0..n)
        .map(|_| {
            let len = rng.random_range(4..14);
            let ids: Vec<u32> = (0..len).map(|_| rng.random_range(1..61u32)).collect();
            let prompt = len / 2;
            SftSequence {
                loss_mask: (0..len).map(|i| u8::from(i >= prompt)).collect(),
                ids,
            }
        })
        .collect();
    SftBatches::new(
        seqs,
        0,
        &SftDataConfig {
            max_len: 16,
            completion_only_loss: true,
            batch_size: 4,
            seed,
        },
    )
}

fn fresh_model(seed: u64) -> Transformer {
    let dev = device().autodiff();
    Transformer::new(
        &TransformerConfig::llama(61, 32, 2, 4, 2, 64).with_max_seq_len(32),
        seed,
        &dev,
    )
    .unwrap()
}

fn config(total_steps: usize) -> TrainerConfig {
    TrainerConfig {
        total_steps,
        grad_accum: 2,
        schedule: LrSchedule::cosine(3e-3, 2, 8, 0.1),
        eval_every: 4,
        save_every: 2,
        keep_checkpoints: 3,
        seed: 5,
        ..TrainerConfig::default()
    }
}

fn losses(records: &[MetricRecord]) -> Vec<(usize, String, u64)> {
    records
        .iter()
        .map(|r| (r.step, r.split.clone(), r.get("loss").unwrap().to_bits()))
        .collect()
}

#[test]
fn resume_reproduces_the_uninterrupted_run() {
    let (train_data, valid) = (data(40, 1), data(8, 2));
    let method = Sft::<Transformer>::new();
    let dev = device();

    let full_dir = tempfile::tempdir().unwrap();
    let full = train(
        &method,
        fresh_model(7),
        &train_data,
        Some(&valid),
        &config(8),
        full_dir.path(),
        &dev,
    )
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    // "Interrupted" after 4 of the 8 steps (same schedule), then resumed with a fresh
    // model object that only gets the checkpoint's weights and optimizer state.
    train(
        &method,
        fresh_model(7),
        &train_data,
        Some(&valid),
        &config(4),
        dir.path(),
        &dev,
    )
    .unwrap();
    let resumed = train(
        &method,
        fresh_model(99),
        &train_data,
        Some(&valid),
        &config(8),
        dir.path(),
        &dev,
    )
    .unwrap();
    assert_eq!(resumed.resumed_from, 4);
    assert_eq!(
        losses(&resumed.records),
        losses(&full.records),
        "loss curves differ bit for bit"
    );
    let first = full.records.first().unwrap().get("loss").unwrap();
    let last_train = full
        .records
        .iter()
        .rev()
        .find(|r| r.split == "train")
        .unwrap()
        .get("loss")
        .unwrap();
    assert!(
        last_train < first,
        "training lowers the loss ({first} → {last_train})"
    );
    assert!(dir.path().join("curves.png").is_file());
    assert_eq!(
        list_checkpoints(dir.path()).unwrap().len(),
        3,
        "older checkpoints are pruned"
    );
}

/// SFT whose loss turns NaN from the `bad_from`-th call on.
struct Poisoned {
    inner: Sft<Transformer>,
    calls: std::cell::Cell<usize>,
    bad_from: usize,
}

impl TrainMethod for Poisoned {
    type Model = Transformer;
    type Batch = SftBatch;
    fn name(&self) -> &'static str {
        "poisoned"
    }
    fn step(&self, model: &Transformer, batch: &SftBatch) -> Result<StepOutput, StepError> {
        self.calls.set(self.calls.get() + 1);
        let mut out = self.inner.step(model, batch)?;
        if self.calls.get() >= self.bad_from {
            out.loss = out.loss * f64::NAN;
        }
        Ok(out)
    }
}

#[test]
fn nan_loss_stops_and_keeps_the_last_good_checkpoint() {
    let train_data = data(20, 3);
    let dir = tempfile::tempdir().unwrap();
    // grad_accum 2: calls 1-4 are steps 1-2 (checkpoint at step 2); call 5 is in step 3.
    let method = Poisoned {
        inner: Sft::new(),
        calls: 0.into(),
        bad_from: 5,
    };
    let cfg = TrainerConfig {
        eval_every: 0,
        ..config(8)
    };
    let err = match train(
        &method,
        fresh_model(1),
        &train_data,
        None,
        &cfg,
        dir.path(),
        &device(),
    ) {
        Err(e) => e,
        Ok(_) => panic!("a NaN loss must stop training"),
    };
    let TrainError::NonFinite {
        step,
        last_checkpoint,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*step, 3);
    let ckpt = last_checkpoint.as_ref().unwrap();
    assert!(
        ckpt.ends_with("step-000002") && ckpt.join("model.bpk").is_file(),
        "{err}"
    );
    assert!(err.to_string().contains("step-000002"), "{err}");
    assert_eq!(list_checkpoints(dir.path()).unwrap().len(), 1);
    assert!(train_data.len() > 0);
}
