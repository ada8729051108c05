//! The DPO family against TRL's numbers, gradients, invariants and input validation.
//!
//! Fixtures: `tests/fixtures/dpo/losses.json`, written by `scripts/make_dpo_fixtures.py`,
//! which calls TRL's own `DPOTrainer._compute_loss`, `CPOTrainer` and `ORPOTrainer` code.

use std::collections::{BTreeSet, HashMap};

use burn::tensor::{Device, Tensor, TensorData};
use policy_opt::dpo::{DpoError, DpoLossConfig, DpoLossType, PairLogps};
use proptest::prelude::*;
use serde::Deserialize;

const TOL: f64 = 1e-5;

#[derive(Deserialize)]
struct Fixture {
    trl_version: String,
    batches: HashMap<String, Batch>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Batch {
    policy_chosen: Vec<f32>,
    policy_rejected: Vec<f32>,
    ref_chosen: Vec<f32>,
    ref_rejected: Vec<f32>,
    chosen_len: Vec<f32>,
    rejected_len: Vec<f32>,
    p_chosen: Vec<f32>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    batch: String,
    soft_labels: bool,
    config: DpoLossConfig,
    loss: f64,
    per_pair: Option<Vec<f64>>,
    chosen_rewards: Vec<f64>,
    rejected_rewards: Vec<f64>,
    metrics: HashMap<String, f64>,
}

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/dpo/losses.json"
    );
    let text =
        std::fs::read_to_string(path).expect("fixture file (run scripts/make_dpo_fixtures.py)");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn t(xs: &[f32], dev: &Device) -> Tensor<1> {
    Tensor::from_data(TensorData::new(xs.to_vec(), [xs.len()]), dev)
}

fn v(x: Tensor<1>) -> Vec<f32> {
    x.try_into_vec_as::<f32>().unwrap()
}

fn s(x: Tensor<1>) -> f64 {
    v(x)[0] as f64
}

fn pair_logps(b: &Batch, soft: bool, dev: &Device) -> PairLogps {
    let p = PairLogps::new(
        t(&b.policy_chosen, dev),
        t(&b.policy_rejected, dev),
        t(&b.chosen_len, dev),
        t(&b.rejected_len, dev),
    )
    .with_reference(t(&b.ref_chosen, dev), t(&b.ref_rejected, dev));
    if soft {
        p.with_soft_labels(t(&b.p_chosen, dev))
    } else {
        p
    }
}

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= TOL * want.abs().max(1.0)
}

/// Every case of the fixture: loss, per-pair losses, per-pair rewards and the four metrics,
/// to 1e-5 (relative above 1).
#[test]
fn every_loss_matches_trl() {
    let fx = fixture();
    assert!(
        fx.trl_version.starts_with("1."),
        "fixture from TRL {}",
        fx.trl_version
    );
    let dev = Device::flex();
    let mut failures = Vec::new();
    let mut checks = 0usize;
    let mut covered = BTreeSet::new();
    let mut check = |case: &str, what: String, got: f64, want: f64| {
        checks += 1;
        if !close(got, want) {
            failures.push(format!("{case}: {what}: got {got}, want {want}"));
        }
    };
    for case in &fx.cases {
        let batch = &fx.batches[&case.batch];
        let loss = case
            .config
            .init()
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let out = loss
            .forward(&pair_logps(batch, case.soft_labels, &dev))
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        covered.extend(case.config.loss_types.iter().map(|t| t.name()));
        check(&case.name, "loss".into(), s(out.loss.clone()), case.loss);
        if let Some(want) = &case.per_pair {
            for (i, (g, w)) in v(out.per_pair.clone()).iter().zip(want).enumerate() {
                check(&case.name, format!("per_pair[{i}]"), *g as f64, *w);
            }
        }
        for (i, (g, w)) in v(out.chosen_rewards.clone())
            .iter()
            .zip(&case.chosen_rewards)
            .enumerate()
        {
            check(&case.name, format!("chosen_rewards[{i}]"), *g as f64, *w);
        }
        for (i, (g, w)) in v(out.rejected_rewards.clone())
            .iter()
            .zip(&case.rejected_rewards)
            .enumerate()
        {
            check(&case.name, format!("rejected_rewards[{i}]"), *g as f64, *w);
        }
        let metrics = out.metrics();
        assert_eq!(metrics.len(), 4);
        for (name, value) in metrics {
            let want = case.metrics[name];
            check(&case.name, name.to_string(), s(value), want);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checks} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let all: BTreeSet<_> = DpoLossType::ALL.iter().map(|t| t.name()).collect();
    assert_eq!(covered, all, "every loss type has fixtures");
    assert!(
        fx.cases.len() >= 300 && checks > 5000,
        "{} cases, {checks} checks",
        fx.cases.len()
    );
}

/// The fixture really spans several β, ε, length and soft-label cases.
#[test]
fn fixtures_span_betas_smoothing_lengths_and_soft_labels() {
    let fx = fixture();
    let betas: BTreeSet<_> = fx.cases.iter().map(|c| c.config.beta.to_bits()).collect();
    let eps: BTreeSet<_> = fx
        .cases
        .iter()
        .map(|c| c.config.label_smoothing.to_bits())
        .collect();
    assert!(
        betas.len() >= 5 && eps.len() >= 5,
        "{} β, {} ε",
        betas.len(),
        eps.len()
    );
    assert!(fx.cases.iter().filter(|c| c.soft_labels).count() >= 20);
    let lens: BTreeSet<u32> = fx
        .batches
        .values()
        .flat_map(|b| {
            b.chosen_len
                .iter()
                .chain(&b.rejected_len)
                .map(|x| *x as u32)
        })
        .collect();
    assert!(
        lens.contains(&1) && lens.iter().any(|l| *l >= 300),
        "{lens:?}"
    );
    assert!(fx.cases.iter().any(|c| c.config.loss_types.len() >= 3));
}

// ------------------------------------------------------------------------------------------
// Gradients
// ------------------------------------------------------------------------------------------

fn mixed(dev: &Device) -> (PairLogps, Batch) {
    let fx = fixture();
    let b = fx
        .batches
        .into_iter()
        .find(|(k, _)| k == "mixed")
        .unwrap()
        .1;
    (pair_logps(&b, false, dev), b)
}

/// Autodiff gradient of the loss with respect to the policy's chosen and rejected log-probs.
fn grads(config: &DpoLossConfig, p: &PairLogps) -> (Vec<f32>, Vec<f32>) {
    let pc = p.policy_chosen.clone().require_grad();
    let pr = p.policy_rejected.clone().require_grad();
    let q = PairLogps {
        policy_chosen: pc.clone(),
        policy_rejected: pr.clone(),
        ..p.clone()
    };
    let out = config.init().unwrap().forward(&q).unwrap();
    let g = out.loss.backward();
    // A loss that does not read an input (sft: the rejected side) leaves it without gradient.
    let b = p.batch_size();
    let read = |x: Option<Tensor<1>>| x.map_or_else(|| vec![0.0; b], v);
    (read(pc.grad(&g)), read(pr.grad(&g)))
}

/// Sigmoid DPO: the gradient raises the chosen and lowers the rejected log-prob of every
/// pair, and equals the closed form −β(1 − σ(z))/B.
#[test]
fn sigmoid_gradient_raises_chosen_and_lowers_rejected() {
    let dev = Device::flex().autodiff();
    let (p, b) = mixed(&dev);
    let beta = 0.1;
    let config = DpoLossConfig::new(vec![DpoLossType::Sigmoid]).with_beta(beta);
    let (gc, gr) = grads(&config, &p);
    let n = b.policy_chosen.len() as f64;
    for i in 0..b.policy_chosen.len() {
        assert!(gc[i] < 0.0, "dL/dlogπ(y_w)[{i}] = {}", gc[i]);
        assert!(gr[i] > 0.0, "dL/dlogπ(y_l)[{i}] = {}", gr[i]);
        let z = beta
            * ((b.policy_chosen[i] - b.ref_chosen[i]) as f64
                - (b.policy_rejected[i] - b.ref_rejected[i]) as f64);
        let want = -beta * (1.0 - 1.0 / (1.0 + (-z).exp())) / n;
        approx::assert_relative_eq!(gc[i] as f64, want, max_relative = 1e-4);
        approx::assert_relative_eq!(gr[i] as f64, -want, max_relative = 1e-4);
    }
}

/// Central finite differences of every loss type agree with autodiff.
#[test]
fn finite_differences_match_autodiff_for_every_loss() {
    let dev = Device::flex().autodiff();
    let (p, b) = mixed(&dev);
    let plain = Device::flex();
    let h = 3e-2f32;
    for lt in DpoLossType::ALL {
        let eps = match lt {
            DpoLossType::ExoPair => 0.05,
            t if t.reads_label_smoothing() => 0.1,
            _ => 0.0,
        };
        let config = DpoLossConfig::new(vec![lt])
            .with_beta(0.1)
            .with_label_smoothing(eps);
        let (gc, gr) = grads(&config, &p);
        let loss = config.init().unwrap();
        let eval = |pc: &[f32], pr: &[f32]| {
            let q = PairLogps::new(
                t(pc, &plain),
                t(pr, &plain),
                t(&b.chosen_len, &plain),
                t(&b.rejected_len, &plain),
            )
            .with_reference(t(&b.ref_chosen, &plain), t(&b.ref_rejected, &plain));
            s(loss.forward(&q).unwrap().loss)
        };
        for i in 0..b.policy_chosen.len() {
            for (side, g) in [(0, &gc), (1, &gr)] {
                let bump = |d: f32| {
                    let (mut pc, mut pr) = (b.policy_chosen.clone(), b.policy_rejected.clone());
                    if side == 0 {
                        pc[i] += d
                    } else {
                        pr[i] += d
                    }
                    eval(&pc, &pr)
                };
                let fd = (bump(h) - bump(-h)) / (2.0 * h as f64);
                let ad = g[i] as f64;
                assert!(
                    (fd - ad).abs() <= 2e-3 * ad.abs().max(0.05),
                    "{lt} side {side} pair {i}: finite difference {fd} vs autodiff {ad}"
                );
            }
        }
    }
}

/// The implicit rewards are reported detached from the graph; the loss is not.
#[test]
fn rewards_are_detached() {
    let dev = Device::flex().autodiff();
    let (p, _) = mixed(&dev);
    let q = PairLogps {
        policy_chosen: p.policy_chosen.clone().require_grad(),
        ..p
    };
    let out = DpoLossConfig::default()
        .init()
        .unwrap()
        .forward(&q)
        .unwrap();
    assert!(out.loss.is_tracked());
    assert!(!out.chosen_rewards.is_tracked() && !out.rejected_rewards.is_tracked());
    for (_, m) in out.metrics() {
        assert!(!m.is_tracked());
    }
}

// ------------------------------------------------------------------------------------------
// Invariants
// ------------------------------------------------------------------------------------------

/// A random batch: policy chosen/rejected, reference chosen/rejected, lengths, soft labels.
type Data = (
    Vec<f32>,
    Vec<f32>,
    Vec<f32>,
    Vec<f32>,
    Vec<f32>,
    Vec<f32>,
    Vec<f32>,
);

fn batch_strategy() -> impl Strategy<Value = Data> {
    (1usize..6).prop_flat_map(|n| {
        (
            prop::collection::vec(-60.0f32..-0.5, n),
            prop::collection::vec(-60.0f32..-0.5, n),
            prop::collection::vec(-60.0f32..-0.5, n),
            prop::collection::vec(-60.0f32..-0.5, n),
            prop::collection::vec(1u32..80, n)
                .prop_map(|v| v.into_iter().map(|x| x as f32).collect()),
            prop::collection::vec(1u32..80, n)
                .prop_map(|v| v.into_iter().map(|x| x as f32).collect()),
            prop::collection::vec(0.0f32..=1.0, n),
        )
    })
}

fn build((pc, pr, rc, rr, cl, rl, _): &Data, swap: bool, dev: &Device) -> PairLogps {
    if swap {
        PairLogps::new(t(pr, dev), t(pc, dev), t(rl, dev), t(cl, dev))
            .with_reference(t(rr, dev), t(rc, dev))
    } else {
        PairLogps::new(t(pc, dev), t(pr, dev), t(cl, dev), t(rl, dev))
            .with_reference(t(rc, dev), t(rr, dev))
    }
}

fn assert_all_close(a: &[f32], b: &[f32], tol: f32) -> Result<(), TestCaseError> {
    for (x, y) in a.iter().zip(b) {
        prop_assert!((x - y).abs() <= tol * y.abs().max(1.0), "{a:?} vs {b:?}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Soft labels p = 1 give the plain (cDPO) loss of the soft-label losses.
    #[test]
    fn soft_labels_of_one_are_hard(data in batch_strategy(), beta in 0.01f64..2.0, eps in 0.0f64..0.45) {
        let dev = Device::flex();
        for lt in [DpoLossType::Sigmoid, DpoLossType::SigmoidNorm, DpoLossType::Simpo] {
            let eps = if lt == DpoLossType::SigmoidNorm { 0.0 } else { eps };
            let loss = DpoLossConfig::new(vec![lt]).with_beta(beta).with_label_smoothing(eps).init().unwrap();
            let hard = loss.forward(&build(&data, false, &dev)).unwrap();
            let ones = vec![1.0f32; data.0.len()];
            let soft = loss.forward(&build(&data, false, &dev).with_soft_labels(t(&ones, &dev))).unwrap();
            assert_all_close(&v(soft.per_pair), &v(hard.per_pair), 1e-5)?;
        }
    }

    /// Swapping chosen and rejected together with p → 1 − p leaves the soft loss unchanged.
    #[test]
    fn swapping_the_pair_with_complementary_labels_is_symmetric(
        data in batch_strategy(), beta in 0.01f64..2.0, eps in 0.0f64..0.45,
    ) {
        let dev = Device::flex();
        let p = &data.6;
        let q: Vec<f32> = p.iter().map(|x| 1.0 - x).collect();
        for lt in [DpoLossType::Sigmoid, DpoLossType::SigmoidNorm, DpoLossType::Simpo] {
            let (eps, gamma) = match lt {
                DpoLossType::SigmoidNorm => (0.0, 0.5),
                DpoLossType::Simpo => (eps, 0.0), // γ breaks the symmetry on purpose
                _ => (eps, 0.5),
            };
            let loss = DpoLossConfig::new(vec![lt])
                .with_beta(beta)
                .with_label_smoothing(eps)
                .with_simpo_gamma(gamma)
                .init()
                .unwrap();
            let a = loss.forward(&build(&data, false, &dev).with_soft_labels(t(p, &dev))).unwrap();
            let b = loss.forward(&build(&data, true, &dev).with_soft_labels(t(&q, &dev))).unwrap();
            assert_all_close(&v(a.per_pair), &v(b.per_pair), 1e-5)?;
        }
    }

    /// cDPO with ε is the soft loss with p = 1 − ε; robust with ε = 0 is DPO.
    #[test]
    fn smoothing_identities(data in batch_strategy(), beta in 0.01f64..2.0, eps in 0.0f64..0.45) {
        let dev = Device::flex();
        let init = |lt, e: f64| DpoLossConfig::new(vec![lt]).with_beta(beta).with_label_smoothing(e).init().unwrap();
        let cdpo = init(DpoLossType::Sigmoid, eps).forward(&build(&data, false, &dev)).unwrap();
        let p = vec![(1.0 - eps) as f32; data.0.len()];
        let soft = init(DpoLossType::Sigmoid, 0.0).forward(&build(&data, false, &dev).with_soft_labels(t(&p, &dev))).unwrap();
        assert_all_close(&v(cdpo.per_pair), &v(soft.per_pair), 1e-5)?;
        let dpo = init(DpoLossType::Sigmoid, 0.0).forward(&build(&data, false, &dev)).unwrap();
        let robust = init(DpoLossType::Robust, 0.0).forward(&build(&data, false, &dev)).unwrap();
        assert_all_close(&v(robust.per_pair), &v(dpo.per_pair), 1e-6)?;
    }

    /// A weighted combination is the weighted sum of its parts, per pair and in the mean.
    #[test]
    fn combination_is_the_weighted_sum(data in batch_strategy(), w in prop::collection::vec(0.0f64..3.0, 4)) {
        let dev = Device::flex();
        let types = vec![DpoLossType::Sigmoid, DpoLossType::Ipo, DpoLossType::Sft, DpoLossType::ApoDown];
        let combo = DpoLossConfig::new(types.clone()).with_loss_weights(w.clone()).init().unwrap();
        let out = combo.forward(&build(&data, false, &dev)).unwrap();
        let mut want = vec![0.0f32; data.0.len()];
        let mut want_loss = 0.0f64;
        for (lt, wk) in types.into_iter().zip(&w) {
            let single = DpoLossConfig::new(vec![lt]).init().unwrap().forward(&build(&data, false, &dev)).unwrap();
            for (acc, x) in want.iter_mut().zip(v(single.per_pair)) {
                *acc += *wk as f32 * x;
            }
            want_loss += wk * s(single.loss);
        }
        assert_all_close(&v(out.per_pair), &want, 1e-4)?;
        prop_assert!((s(out.loss) - want_loss).abs() <= 1e-4 * want_loss.abs().max(1.0));
    }

    /// Sigmoid DPO's gradient signs hold for any batch, β and hard labels.
    #[test]
    fn sigmoid_gradient_signs(data in batch_strategy(), beta in 0.01f64..0.5) {
        let dev = Device::flex().autodiff();
        let config = DpoLossConfig::new(vec![DpoLossType::Sigmoid]).with_beta(beta);
        let (gc, gr) = grads(&config, &build(&data, false, &dev));
        prop_assert!(gc.iter().all(|g| *g < 0.0) && gr.iter().all(|g| *g > 0.0), "{gc:?} {gr:?}");
    }

    /// Metrics: margins = chosen − rejected, accuracies a fraction.
    #[test]
    fn metric_relations(data in batch_strategy(), beta in 0.01f64..1.0) {
        let dev = Device::flex();
        let out = DpoLossConfig::default().with_beta(beta).init().unwrap().forward(&build(&data, false, &dev)).unwrap();
        let m: HashMap<_, _> = out.metrics().into_iter().map(|(k, x)| (k, s(x))).collect();
        prop_assert!((m["rewards/margins"] - (m["rewards/chosen"] - m["rewards/rejected"])).abs() < 1e-4);
        let acc = m["rewards/accuracies"] * data.0.len() as f64;
        prop_assert!((acc - acc.round()).abs() < 1e-4 && (0.0..=1.0).contains(&m["rewards/accuracies"]));
    }
}

// ------------------------------------------------------------------------------------------
// Reference-free losses
// ------------------------------------------------------------------------------------------

/// SimPO and ORPO run without a reference, and a reference given to them changes nothing.
#[test]
fn reference_free_losses_ignore_the_reference() {
    let dev = Device::flex();
    let (with_ref, b) = mixed(&dev);
    let without = PairLogps::new(
        t(&b.policy_chosen, &dev),
        t(&b.policy_rejected, &dev),
        t(&b.chosen_len, &dev),
        t(&b.rejected_len, &dev),
    );
    for types in [
        vec![DpoLossType::Simpo],
        vec![DpoLossType::Orpo],
        vec![DpoLossType::Simpo, DpoLossType::Sft],
    ] {
        let loss = DpoLossConfig::new(types).init().unwrap();
        assert!(!loss.needs_reference());
        let a = loss.forward(&with_ref).unwrap();
        let c = loss.forward(&without).unwrap();
        assert_eq!(v(a.per_pair), v(c.per_pair));
        assert_eq!(v(a.chosen_rewards), v(c.chosen_rewards));
    }
}

/// ORPO uses the supplied prompt-and-completion NLL in place of the completion-token one.
#[test]
fn orpo_takes_the_full_sequence_nll() {
    let dev = Device::flex();
    let (p, b) = mixed(&dev);
    let loss = DpoLossConfig::new(vec![DpoLossType::Orpo]).init().unwrap();
    let default = v(loss.forward(&p).unwrap().per_pair);
    let full = v(loss
        .forward(&p.clone().with_chosen_full_nll(t(&[0.25], &dev)))
        .unwrap()
        .per_pair);
    let completion_nll = -b.policy_chosen.iter().sum::<f32>() / b.chosen_len.iter().sum::<f32>();
    for (d, f) in default.iter().zip(&full) {
        approx::assert_relative_eq!(d - f, completion_nll - 0.25, epsilon = 1e-5);
    }
}

// ------------------------------------------------------------------------------------------
// Validation
// ------------------------------------------------------------------------------------------

fn config_err(c: DpoLossConfig) -> (String, String) {
    match c.init() {
        Err(DpoError::Config(e)) => (e.field.clone(), e.to_string()),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn config_validation() {
    use DpoLossType::*;
    let base = || DpoLossConfig::new(vec![Sigmoid]);
    for beta in [0.0, -0.1, f64::NAN, f64::INFINITY] {
        assert_eq!(config_err(base().with_beta(beta)).0, "beta");
    }
    assert_eq!(config_err(DpoLossConfig::new(vec![])).0, "loss_types");
    let (f, m) = config_err(DpoLossConfig::new(vec![Sigmoid, Sft]).with_loss_weights(vec![1.0]));
    assert_eq!(f, "loss_weights");
    assert!(m.contains("(2)") && m.contains("got 1"), "{m}");
    assert_eq!(
        config_err(base().with_loss_weights(vec![-1.0])).0,
        "loss_weights"
    );
    assert_eq!(
        config_err(base().with_loss_weights(vec![f64::NAN])).0,
        "loss_weights"
    );
    // ε ranges per loss.
    for (lt, bad) in [
        (Robust, 0.5),
        (Sigmoid, 0.5),
        (Simpo, -0.1),
        (Aot, 0.7),
        (ExoPair, 0.0),
        (ExoPair, 1.0),
    ] {
        let (f, m) = config_err(DpoLossConfig::new(vec![lt]).with_label_smoothing(bad));
        assert_eq!(f, "label_smoothing");
        assert!(m.contains(lt.name()), "{m}");
    }
    assert!(
        DpoLossConfig::new(vec![ExoPair])
            .with_label_smoothing(0.7)
            .init()
            .is_ok()
    );
    assert!(
        DpoLossConfig::new(vec![Robust])
            .with_label_smoothing(0.49)
            .init()
            .is_ok()
    );
    // A smoothing no selected loss reads is an error, not silently dropped.
    let (f, m) = config_err(DpoLossConfig::new(vec![Hinge, SigmoidNorm]).with_label_smoothing(0.1));
    assert_eq!(f, "label_smoothing");
    assert!(m.contains("none of the selected losses"), "{m}");
    assert_eq!(config_err(base().with_discopop_tau(0.0)).0, "discopop_tau");
    assert_eq!(
        config_err(base().with_simpo_gamma(f64::NAN)).0,
        "simpo_gamma"
    );
    // JSON: TRL names, unknown fields and loss names rejected.
    let c: DpoLossConfig = serde_json::from_str(
        r#"{"beta":0.2,"loss_types":["sigmoid","sft"],"loss_weights":[1,0.5]}"#,
    )
    .unwrap();
    assert_eq!(c.loss_types, vec![Sigmoid, Sft]);
    assert_eq!(c.discopop_tau, 0.05);
    assert!(serde_json::from_str::<DpoLossConfig>(r#"{"loss_types":["cdpo"]}"#).is_err());
    assert!(serde_json::from_str::<DpoLossConfig>(r#"{"betta":0.2}"#).is_err());
}

#[test]
fn input_validation() {
    let dev = Device::flex();
    let (p, _) = mixed(&dev);
    let sigmoid = DpoLossConfig::default().init().unwrap();

    // Missing reference.
    let no_ref = PairLogps {
        ref_chosen: None,
        ..p.clone()
    };
    assert_eq!(
        sigmoid.forward(&no_ref).unwrap_err(),
        DpoError::MissingReference {
            loss: "sigmoid",
            field: "ref_chosen"
        }
    );
    // Shapes.
    let short = PairLogps {
        rejected_len: t(&[1.0, 2.0], &dev),
        ..p.clone()
    };
    match sigmoid.forward(&short).unwrap_err() {
        DpoError::Shape {
            field,
            expected,
            got,
        } => {
            assert_eq!((field, expected, got), ("rejected_len", vec![6], vec![2]));
        }
        e => panic!("{e}"),
    }
    let empty = PairLogps::new(t(&[], &dev), t(&[], &dev), t(&[], &dev), t(&[], &dev));
    assert!(matches!(
        sigmoid.forward(&empty),
        Err(DpoError::Shape { .. })
    ));
    let nll = p.clone().with_chosen_full_nll(t(&[0.1, 0.2], &dev));
    assert!(matches!(
        sigmoid.forward(&nll),
        Err(DpoError::Shape {
            field: "chosen_full_nll",
            ..
        })
    ));
    // Lengths ≥ 1.
    let zero_len = PairLogps {
        chosen_len: t(&[1.0, 7.0, 0.0, 3.0, 45.0, 12.0], &dev),
        ..p.clone()
    };
    match sigmoid.forward(&zero_len).unwrap_err() {
        DpoError::Value {
            field, index, got, ..
        } => assert_eq!((field, index, got), ("chosen_len", 2, 0.0)),
        e => panic!("{e}"),
    }
    // Labels in [0, 1].
    let bad_p = p
        .clone()
        .with_soft_labels(t(&[1.0, 1.0, 1.2, 1.0, 1.0, 1.0], &dev));
    assert!(matches!(
        sigmoid.forward(&bad_p),
        Err(DpoError::Value {
            field: "p_chosen",
            index: 2,
            ..
        })
    ));
    let nan_p = p
        .clone()
        .with_soft_labels(t(&[1.0, f32::NAN, 1.0, 1.0, 1.0, 1.0], &dev));
    assert!(matches!(
        sigmoid.forward(&nan_p),
        Err(DpoError::Value {
            field: "p_chosen",
            index: 1,
            ..
        })
    ));
    // Soft labels only where defined; hard labels (all 1) are fine everywhere.
    let hinge = DpoLossConfig::new(vec![DpoLossType::Sigmoid, DpoLossType::Hinge])
        .init()
        .unwrap();
    let soft = p
        .clone()
        .with_soft_labels(t(&[1.0, 0.5, 1.0, 1.0, 1.0, 1.0], &dev));
    assert_eq!(
        hinge.forward(&soft).unwrap_err(),
        DpoError::SoftLabelsUnsupported {
            loss: "hinge",
            index: 1,
            got: 0.5
        }
    );
    let hard = p.clone().with_soft_labels(t(&[1.0; 6], &dev));
    assert!(hinge.forward(&hard).is_ok());
    // ORPO needs negative average log-probs.
    let orpo = DpoLossConfig::new(vec![DpoLossType::Orpo]).init().unwrap();
    let certain = PairLogps {
        policy_rejected: t(&[-1.0, -1.0, -1.0, 0.0, -1.0, -1.0], &dev),
        ..p.clone()
    };
    assert!(matches!(
        orpo.forward(&certain),
        Err(DpoError::Value {
            field: "policy_rejected",
            index: 3,
            ..
        })
    ));
    // Messages name the field and the expectation.
    let msg = sigmoid.forward(&zero_len).unwrap_err().to_string();
    assert!(
        msg.contains("chosen_len[2]") && msg.contains("≥ 1"),
        "{msg}"
    );
}
