//! The DPO trainer: frozen and cached references give the same loss; a stale cache is
//! refused; resume is exact; soft labels reach the loss; the batched forward splits chosen
//! and rejected rows correctly; the sampled KL vanishes against itself.

use approx::assert_abs_diff_eq;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use lm::{CausalLm, GenerationConfig, SamplingConfig, Transformer, TransformerConfig, generate};
use policy_opt::dpo::{
    Dpo, DpoBatches, DpoError, DpoLossConfig, DpoLossType, DpoTrainError, ReferenceCache,
    ReferenceError, module_fingerprint, sampled_kl, train_dpo,
};
use policy_opt::train::{BatchSource, LrSchedule, MetricRecord, TrainMethod, TrainerConfig};
use pref_data::{BatchConfig, PairBatches, TokenizedPair};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const VOCAB: usize = 61;

fn device() -> Device {
    lm::select_device().unwrap()
}

fn pairs(n: usize, seed: u64, p_chosen: f32) -> Vec<TokenizedPair> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut toks = |lo: usize, hi: usize| -> Vec<u32> {
        let len = rng.random_range(lo..hi);
        (0..len)
            .map(|_| rng.random_range(1..VOCAB as u32))
            .collect()
    };
    (0..n)
        .map(|i| TokenizedPair {
            prompt: toks(2, 7),
            chosen: toks(1, 6),
            rejected: toks(1, 6),
            p_chosen,
            margin: None,
            weight: 1.0,
            group: i,
        })
        .collect()
}

fn batches(n: usize, seed: u64, p_chosen: f32) -> PairBatches {
    PairBatches::new(
        pairs(n, seed, p_chosen),
        0,
        &BatchConfig {
            batch_size: 4,
            seed,
            ..BatchConfig::default()
        },
    )
    .unwrap()
}

fn model(seed: u64) -> Transformer {
    Transformer::new(
        &TransformerConfig::llama(VOCAB, 32, 2, 4, 2, 64).with_max_seq_len(32),
        seed,
        &device().autodiff(),
    )
    .unwrap()
}

fn sigmoid() -> policy_opt::dpo::DpoLoss {
    DpoLossConfig::new(vec![DpoLossType::Sigmoid])
        .with_beta(0.5)
        .init()
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

fn values(records: &[MetricRecord], key: &str) -> Vec<(usize, String, f64)> {
    records
        .iter()
        .map(|r| (r.step, r.split.clone(), r.get(key).unwrap()))
        .collect()
}

#[test]
fn frozen_and_cached_references_give_the_same_loss() {
    let dev = device();
    let (reference, policy) = (model(7), model(8));
    let data = batches(24, 1, 1.0);
    let cache = ReferenceCache::compute(&reference, &data, &dev).unwrap();
    assert_eq!(cache.len(), 24);
    let cached = DpoBatches::with_cache(data.clone(), cache).unwrap();
    let plain = DpoBatches::new(data.clone());
    let m_cached = Dpo::<Transformer>::new(sigmoid());
    let m_frozen = Dpo::with_frozen_reference(sigmoid(), &reference);
    m_cached.check_data(&cached).unwrap();
    m_frozen.check_data(&plain).unwrap();

    // Every batch, on the training (autodiff) device: same loss and metrics.
    let ad = dev.clone().autodiff();
    for i in 0..data.len() {
        let a = m_cached.step(&policy, &cached.batch(i, &ad)).unwrap();
        let b = m_frozen.step(&policy, &plain.batch(i, &ad)).unwrap();
        let (la, lb) = (
            a.loss.into_scalar::<f32>() as f64,
            b.loss.into_scalar::<f32>() as f64,
        );
        assert!(la > 0.05, "a non-trivial loss ({la})");
        assert_abs_diff_eq!(la, lb, epsilon = 1e-5);
        for ((ka, va), (kb, vb)) in a.metrics.into_iter().zip(b.metrics) {
            assert_eq!(ka, kb);
            assert_abs_diff_eq!(
                va.into_scalar::<f32>(),
                vb.into_scalar::<f32>(),
                epsilon = 1e-5
            );
        }
    }

    // A short training run with each: the same curve.
    let cfg = TrainerConfig {
        eval_every: 2,
        ..config(4)
    };
    let valid = batches(8, 2, 1.0);
    let valid_cache = ReferenceCache::compute(&reference, &valid, &dev).unwrap();
    let valid_cached = DpoBatches::with_cache(valid.clone(), valid_cache).unwrap();
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let r1 = train_dpo(
        &m_cached,
        reference.clone(),
        &cached,
        Some(&valid_cached),
        &cfg,
        d1.path(),
        &dev,
    )
    .unwrap();
    let r2 = train_dpo(
        &m_frozen,
        reference.clone(),
        &plain,
        Some(&DpoBatches::new(valid)),
        &cfg,
        d2.path(),
        &dev,
    )
    .unwrap();
    let (c1, c2) = (values(&r1.records, "loss"), values(&r2.records, "loss"));
    assert_eq!(c1.len(), c2.len());
    for ((s1, p1, l1), (s2, p2, l2)) in c1.iter().zip(&c2) {
        assert_eq!((s1, p1), (s2, p2));
        assert_abs_diff_eq!(l1, l2, epsilon = 1e-5);
    }
    // The policy started at the reference: the first loss is ln 2 exactly.
    assert_abs_diff_eq!(c1[0].2, std::f64::consts::LN_2, epsilon = 1e-3);
    // Training moved the policy, not the frozen copy.
    let frozen = m_frozen.frozen_reference().unwrap().model();
    assert_eq!(module_fingerprint(frozen), module_fingerprint(&reference));
    assert_ne!(
        module_fingerprint(&r2.model),
        module_fingerprint(&reference)
    );
}

#[test]
fn a_stale_cache_is_refused() {
    let dev = device();
    let (reference, other) = (model(7), model(9));
    let data = batches(12, 1, 1.0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ref.json");
    let (cache, computed) =
        ReferenceCache::load_or_compute(&path, &reference, &data, &dev).unwrap();
    assert!(computed && path.is_file());
    let (again, computed) =
        ReferenceCache::load_or_compute(&path, &reference, &data, &dev).unwrap();
    assert!(!computed);
    assert_eq!(again, cache, "the file round-trips exactly");

    let err = ReferenceCache::load(&path, &data, &other).unwrap_err();
    assert!(
        matches!(
            &err,
            ReferenceError::Stale {
                what: "reference model",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ref.json"), "{err}");
    let err = ReferenceCache::load(&path, &batches(12, 2, 1.0), &reference).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::Stale { what: "data", .. }),
        "{err}"
    );
    let err = DpoBatches::with_cache(batches(12, 2, 1.0), cache).unwrap_err();
    assert!(
        matches!(&err, ReferenceError::Stale { what: "data", .. }),
        "{err}"
    );
    std::fs::write(&path, "{\"format\": 3}").unwrap();
    let err = ReferenceCache::load(&path, &data, &reference).unwrap_err();
    assert!(matches!(&err, ReferenceError::Json { .. }), "{err}");
}

#[test]
fn resume_reproduces_the_uninterrupted_run() {
    let dev = device();
    let reference = model(7);
    let train_data = batches(40, 1, 1.0);
    let valid = batches(8, 2, 1.0);
    let with_cache = |d: &PairBatches| {
        let cache = ReferenceCache::compute(&reference, d, &dev).unwrap();
        DpoBatches::with_cache(d.clone(), cache).unwrap()
    };
    let (train_data, valid) = (with_cache(&train_data), with_cache(&valid));
    let method = Dpo::<Transformer>::new(sigmoid());
    let run = |steps, init: u64, dir: &std::path::Path| {
        // The policy starts from the reference's weights (seed 7); a resumed run gets a
        // model with other weights that the checkpoint overwrites.
        train_dpo(
            &method,
            model(init),
            &train_data,
            Some(&valid),
            &config(steps),
            dir,
            &dev,
        )
        .unwrap()
    };
    let full_dir = tempfile::tempdir().unwrap();
    let full = run(8, 7, full_dir.path());
    let dir = tempfile::tempdir().unwrap();
    run(4, 7, dir.path());
    let resumed = run(8, 99, dir.path());
    assert_eq!(resumed.resumed_from, 4);
    let bits = |r: &[MetricRecord]| -> Vec<(usize, String, u64)> {
        values(r, "loss")
            .into_iter()
            .map(|(s, p, v)| (s, p, v.to_bits()))
            .collect()
    };
    assert_eq!(bits(&resumed.records), bits(&full.records));
    for key in [
        "loss",
        "rewards/chosen",
        "rewards/rejected",
        "rewards/accuracies",
        "rewards/margins",
        "logps/chosen",
        "logps/rejected",
    ] {
        assert!(
            full.records.iter().all(|r| r.get(key).is_some()),
            "every record logs {key}"
        );
    }
    let margins = values(&full.records, "rewards/margins");
    let last = margins.iter().rev().find(|m| m.1 == "train").unwrap().2;
    assert!(last > 0.0, "training opens a positive margin ({last})");
    assert!(dir.path().join("curves.png").is_file());
}

#[test]
fn batched_log_probs_split_into_chosen_and_rejected_rows() {
    let dev = device().without_autodiff();
    let policy = model(8).valid();
    let data = batches(8, 3, 1.0);
    let method = Dpo::<Transformer>::new(sigmoid());
    let plain = DpoBatches::new(data.clone());
    let one = |prompt: &[u32], completion: &[u32]| -> f32 {
        let ids: Vec<i64> = prompt.iter().chain(completion).map(|&t| t as i64).collect();
        let n = ids.len();
        let cm: Vec<i64> = (0..n).map(|i| i64::from(i >= prompt.len())).collect();
        let t = |v: Vec<i64>| Tensor::<2, Int>::from_data(TensorData::new(v, [1, n]), &dev);
        policy
            .sequence_logprobs(t(ids), t(vec![1; n]), t(cm))
            .sum
            .into_scalar::<f32>()
    };
    for b in 0..plain.len() {
        let batch = plain.batch(b, &dev);
        let logps = method.pair_logps(&policy, &batch);
        let chosen: Vec<f32> = logps.policy_chosen.try_into_vec_as().unwrap();
        let rejected: Vec<f32> = logps.policy_rejected.try_into_vec_as().unwrap();
        let clen: Vec<f32> = logps.chosen_len.try_into_vec_as().unwrap();
        for (k, &i) in batch.pairs.indices.iter().enumerate() {
            let p = &data.pairs()[i];
            assert_abs_diff_eq!(chosen[k], one(&p.prompt, &p.chosen), epsilon = 1e-4);
            assert_abs_diff_eq!(rejected[k], one(&p.prompt, &p.rejected), epsilon = 1e-4);
            assert_eq!(clen[k], p.chosen.len() as f32);
        }
    }
}

#[test]
fn soft_labels_make_the_sigmoid_loss_a_cross_entropy() {
    let dev = device().without_autodiff();
    let (reference, policy) = (model(7).valid(), model(8).valid());
    let p = 0.7f32;
    let data = batches(8, 4, p);
    let cache = ReferenceCache::compute(&reference, &data, &dev).unwrap();
    let soft = DpoBatches::with_cache(data, cache).unwrap();
    let method = Dpo::<Transformer>::new(sigmoid());
    method.check_data(&soft).unwrap();
    let batch = soft.batch(0, &dev);
    let logps = method.pair_logps(&policy, &batch);
    let v = |t: Tensor<1>| -> Vec<f64> {
        t.try_into_vec_as::<f32>()
            .unwrap()
            .into_iter()
            .map(f64::from)
            .collect()
    };
    let (pc, pr) = (v(logps.policy_chosen), v(logps.policy_rejected));
    let (rc, rr) = (v(logps.ref_chosen.unwrap()), v(logps.ref_rejected.unwrap()));
    let ln_sig = |x: f64| -(-x).exp().ln_1p();
    let p = f64::from(p);
    let want: f64 = (0..pc.len())
        .map(|i| {
            let z = 0.5 * ((pc[i] - rc[i]) - (pr[i] - rr[i]));
            -(p * ln_sig(z) + (1.0 - p) * ln_sig(-z))
        })
        .sum::<f64>()
        / pc.len() as f64;
    let got = method
        .step(&policy, &batch)
        .unwrap()
        .loss
        .into_scalar::<f32>() as f64;
    assert_abs_diff_eq!(got, want, epsilon = 1e-5);

    // Hard-label losses refuse them before training.
    let hinge =
        Dpo::<Transformer>::new(DpoLossConfig::new(vec![DpoLossType::Hinge]).init().unwrap());
    let err = hinge.check_data(&soft).unwrap_err();
    assert!(
        matches!(err, DpoError::SoftLabelsUnsupported { loss: "hinge", .. }),
        "{err}"
    );
}

#[test]
fn a_reference_loss_without_a_reference_is_refused() {
    let dev = device();
    let data = DpoBatches::new(batches(8, 1, 1.0));
    let method = Dpo::<Transformer>::new(sigmoid());
    let dir = tempfile::tempdir().unwrap();
    let err = match train_dpo(&method, model(1), &data, None, &config(2), dir.path(), &dev) {
        Err(e) => e,
        Ok(_) => panic!("sigmoid DPO without a reference must be refused"),
    };
    assert!(
        matches!(
            &err,
            DpoTrainError::Data {
                which: "train",
                source: DpoError::MissingReference { .. }
            }
        ),
        "{err}"
    );
    // A reference-free loss (SimPO) needs none.
    let simpo =
        Dpo::<Transformer>::new(DpoLossConfig::new(vec![DpoLossType::Simpo]).init().unwrap());
    simpo.check_data(&data).unwrap();
}

#[test]
fn sampled_kl_is_zero_against_itself_and_positive_against_another_model() {
    let dev = device().without_autodiff();
    let (a, b) = (model(7).valid(), model(8).valid());
    let ids = Tensor::<2, Int>::from_ints([[3, 4, 5], [0, 6, 7]], &dev);
    let mask = Tensor::<2, Int>::from_ints([[1, 1, 1], [0, 1, 1]], &dev);
    let cfg = GenerationConfig {
        sampling: SamplingConfig::sample(1.0),
        seed: 3,
        ..GenerationConfig::new(6)
    };
    let g = generate(&a, ids, mask, &cfg).unwrap();
    let same = sampled_kl(&a, &a, &g).unwrap();
    assert_eq!(same.tokens, 12);
    assert_abs_diff_eq!(same.per_token, 0.0, epsilon = 1e-7);
    let other = sampled_kl(&a, &b, &g).unwrap();
    assert!(other.per_token > 1e-4, "{other:?}");
    assert_abs_diff_eq!(
        other.per_sequence,
        other.per_token * 6.0,
        epsilon = 1e-4 * other.per_sequence.max(1.0)
    );
}
