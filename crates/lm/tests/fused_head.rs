//! The fused head (`lm::fused_head`) equals the unfused computation — burn's own matmul,
//! log-softmax and gather — in values and in the gradients it sends to the hidden states,
//! the weights and the bias: tied and untied projections, temperatures 1 and ≠ 1,
//! entropies, block sizes that do and do not divide the rows and the vocabulary, rows whose
//! gradient is zero (masked), skipped rows, frozen weights, and weights large enough for the
//! deferred weight gradient (alone and tied to an embedding lookup).

mod common;

use approx::assert_relative_eq;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{DType, Device, Gradients, Int, Tensor, TensorData};
use common::*;
use lm::fused_head::{
    OutputProjection, fused_head_available, fused_logprob_entropy, fused_next_token_stats,
};
use lm::logprobs::{chunked_next_token_stats, shift_mask};
use lm::{CausalLm, Gemma3, Gemma3Config, Transformer, TransformerConfig};

/// The fused head is Flex's backend extension, so these tests run on Flex whatever
/// `RLHF_DEVICE` says (this shadows `common::device`); on other devices the models take the
/// chunked path, which the other suites cover.
fn device() -> Device {
    Device::flex()
}

fn randn(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    assert!(!got.is_empty(), "{what}: empty");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 + 1e-5 * b.abs(),
            "{what}[{i}]: fused {a} vs unfused {b}"
        );
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tied,
    Linear,
    LinearBias,
}

/// Log-probs, entropies, and the gradients of hidden states, weight and bias.
type Outputs = (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>);

/// Log-probs, entropies and the gradients of `Σ w₁·logp + Σ w₂·H` with respect to the
/// hidden states, the weight and the bias, fused (`Some(block)`) or unfused (`None`).
fn run(kind: Kind, v: usize, tau: f32, block: Option<usize>, frozen_weight: bool) -> Outputs {
    run_d(kind, v, 6, tau, block, frozen_weight)
}

/// [`run`] with hidden size `d`.
fn run_d(
    kind: Kind,
    v: usize,
    d: usize,
    tau: f32,
    block: Option<usize>,
    frozen_weight: bool,
) -> Outputs {
    let dev = device().autodiff();
    let (b, t) = (3, 7);
    let h = Tensor::<3>::from_data(TensorData::new(randn(b * t * d, 1, 2.0), [b, t, d]), &dev)
        .require_grad();
    let w_shape = match kind {
        Kind::Tied => [v, d],
        _ => [d, v],
    };
    let mut w = Tensor::<2>::from_data(TensorData::new(randn(v * d, 2, 1.5), w_shape), &dev);
    if !frozen_weight {
        w = w.require_grad();
    }
    let bias = Tensor::<1>::from_data(TensorData::new(randn(v, 3, 1.0), [v]), &dev).require_grad();
    let proj = match kind {
        Kind::Tied => OutputProjection::Tied(w.clone()),
        Kind::Linear => OutputProjection::Linear {
            weight: w.clone(),
            bias: None,
        },
        Kind::LinearBias => OutputProjection::Linear {
            weight: w.clone(),
            bias: Some(bias.clone()),
        },
    };
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 11 + 5) % v) as i64).collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &dev);
    // Zero weights on some positions: rows whose upstream gradient vanishes.
    let mut w1 = randn(b * (t - 1), 4, 1.0);
    let mut w2 = randn(b * (t - 1), 5, 1.0);
    for i in [0, 1, 2, 9, 13] {
        w1[i] = 0.0;
        w2[i] = 0.0;
    }
    w2[4] = 0.0; // logp only
    w1[5] = 0.0; // entropy only
    let w1 = Tensor::<2>::from_data(TensorData::new(w1, [b, t - 1]), &dev);
    let w2 = Tensor::<2>::from_data(TensorData::new(w2, [b, t - 1]), &dev);
    let stats = match block {
        Some(block) => {
            assert!(fused_head_available(h.dtype(), &h.device(), &proj));
            fused_next_token_stats(h.clone(), ids, &proj, tau, true, block, None)
        }
        None => chunked_next_token_stats(h.clone(), ids, usize::MAX, tau, true, |x| proj.logits(x)),
    };
    let ent = stats.entropy.unwrap();
    let loss = (stats.logprobs.clone() * w1).sum() + (ent.clone() * w2).sum();
    let grads = loss.backward();
    let g = |x: Option<Tensor<2>>| x.map(floats).unwrap_or_default();
    (
        floats(stats.logprobs),
        floats(ent),
        floats(h.grad(&grads).unwrap()),
        g(w.grad(&grads)),
        match kind {
            Kind::LinearBias => floats(bias.grad(&grads).unwrap()),
            _ => vec![],
        },
    )
}

#[test]
fn fused_equals_unfused_in_values_and_gradients() {
    for kind in [Kind::Tied, Kind::Linear, Kind::LinearBias] {
        for tau in [1.0, 0.7] {
            // Budgets (logits per block) for 18 rows: everything in one block; 5 → one
            // row at a time in blocks of 5 tokens (37 = 7·5 + 2); 37·3 → one row and the
            // whole vocabulary; 1 → one logit; for 1 100 tokens, 4 096 → chunks of 4 rows
            // (18 = 4·4 + 2) in blocks of 1 024 tokens (1 100 = 1 024 + 76).
            let cases = [
                (37, usize::MAX),
                (37, 1 << 20),
                (37, 5),
                (37, 37 * 3),
                (37, 1),
                (1100, 4096),
                (1100, usize::MAX),
            ];
            for (v, block) in cases {
                let want = run(kind, v, tau, None, false);
                let got = run(kind, v, tau, Some(block), false);
                let what = format!("{kind:?} V={v} τ={tau} block={block}");
                close(&got.0, &want.0, &format!("{what} logp"));
                close(&got.1, &want.1, &format!("{what} entropy"));
                close(&got.2, &want.2, &format!("{what} d/dh"));
                close(&got.3, &want.3, &format!("{what} d/dW"));
                if matches!(kind, Kind::LinearBias) {
                    close(&got.4, &want.4, &format!("{what} d/db"));
                }
            }
        }
    }
}

/// A weight of 64 MiB or more gets its gradient from the deferred node that runs after
/// the rest of the backward pass (see `lm::fused_head`): the same values as unfused.
#[test]
fn large_weights_take_the_deferred_gradient_with_the_same_values() {
    let (v, d) = (65_536, 256); // 64 MiB of f32
    for kind in [Kind::Tied, Kind::LinearBias] {
        let want = run_d(kind, v, d, 0.8, None, false);
        let got = run_d(kind, v, d, 0.8, Some(1 << 16), false);
        let what = format!("{kind:?} V={v} d={d}");
        close(&got.0, &want.0, &format!("{what} logp"));
        close(&got.2, &want.2, &format!("{what} d/dh"));
        close(&got.3, &want.3, &format!("{what} d/dW"));
        if matches!(kind, Kind::LinearBias) {
            close(&got.4, &want.4, &format!("{what} d/db"));
        }
    }
}

/// The deferred gradient of a large tied table is added to the rows its embedding lookup
/// contributes, whichever of the two runs first: equal to burn's embedding and unfused head.
#[test]
fn large_tied_table_gathers_lookup_and_head_gradients() {
    let dev = device().autodiff();
    let (v, d, b, t) = (65_536, 256, 2, 5);
    let table = Tensor::<2>::from_data(TensorData::new(randn(v * d, 11, 0.5), [v, d]), &dev);
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 9_973 + 17) % v) as i64).collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &dev);
    let run = |fused: bool| {
        let e = table.clone().require_grad();
        let x = if fused {
            lm::embedding_op::embedding_lookup(e.clone(), ids.clone())
        } else {
            burn::tensor::module::embedding(e.clone(), ids.clone())
        };
        let h = x.clone() * x.tanh();
        let proj = OutputProjection::Tied(e.clone());
        let stats = if fused {
            fused_next_token_stats(h, ids.clone(), &proj, 1.0, false, 1 << 16, None)
        } else {
            chunked_next_token_stats(h, ids.clone(), usize::MAX, 1.0, false, |x| proj.logits(x))
        };
        let grads = stats.logprobs.sum().backward();
        floats(e.grad(&grads).unwrap())
    };
    close(&run(true), &run(false), "tied table gradient");
}

#[test]
fn frozen_weights_get_no_gradient_and_hidden_gradients_stay_exact() {
    for kind in [Kind::Tied, Kind::Linear] {
        let want = run(kind, 37, 0.9, None, true);
        let got = run(kind, 37, 0.9, Some(64), true);
        assert!(got.3.is_empty() && want.3.is_empty());
        close(&got.0, &want.0, "logp");
        close(&got.2, &want.2, "d/dh");
    }
}

/// Skipped rows (`rows` = 0) read 0 and the kept ones equal the full computation.
#[test]
fn skipped_rows_read_zero() {
    let dev = device();
    let (b, t, d, v) = (2, 5, 4, 19);
    let h = Tensor::<3>::from_data(TensorData::new(randn(b * t * d, 7, 2.0), [b, t, d]), &dev);
    let e = Tensor::<2>::from_data(TensorData::new(randn(v * d, 8, 1.0), [v, d]), &dev);
    let proj = OutputProjection::Tied(e);
    let ids: Vec<i64> = (0..b * t).map(|i| ((i * 7 + 1) % v) as i64).collect();
    let ids = Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &dev);
    let keep = [[0.0f32, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]];
    let rows = Tensor::<2>::from_floats(keep, &dev);
    let all = fused_next_token_stats(h.clone(), ids.clone(), &proj, 1.0, false, 64, None);
    let some = fused_next_token_stats(h.clone(), ids.clone(), &proj, 1.0, false, 64, Some(rows));
    let (all, some) = (floats(all.logprobs), floats(some.logprobs));
    for (i, k) in keep.iter().flatten().enumerate() {
        assert_eq!(some[i], if *k == 1.0 { all[i] } else { 0.0 });
    }
    let none = Tensor::<2>::zeros([b, t - 1], &dev);
    let zero = fused_next_token_stats(h, ids, &proj, 1.0, false, 64, Some(none));
    assert!(floats(zero.logprobs).iter().all(|&x| x == 0.0));
}

#[test]
#[should_panic(expected = "outside the vocabulary")]
fn out_of_range_targets_panic() {
    let dev = device();
    let h = Tensor::<2>::zeros([2, 4], &dev);
    let e = Tensor::<2>::zeros([5, 4], &dev);
    let _ = fused_logprob_entropy(h, &OutputProjection::Tied(e), vec![1, 5], 1.0, 64);
}

/// Every parameter gradient, flattened in visiting order.
struct Collect<'a> {
    grads: &'a Gradients,
    out: Vec<f32>,
}

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            self.out.extend(g.try_into_vec_as::<f32>().unwrap());
        }
    }
}

/// Through the models: `sequence_logprobs`, `token_stats` (τ ≠ 1, entropies) and
/// `token_entropy` of left-padded rows equal the unfused computation over
/// `logits_from_hidden`, and so do all parameter gradients.
/// `make` builds the same model each time (each backward pass consumes its graph).
fn model_matches_unfused<M: CausalLm + Module>(make: impl Fn() -> M, dev: &Device) {
    let (ids, mask) = left_pad(&[vec![5, 9, 14, 3, 27, 2, 8, 30, 4], vec![11, 40, 6, 7]], 0);
    let target: Vec<Vec<i64>> = mask
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .map(|(j, &m)| m * i64::from(j >= 3))
                .collect()
        })
        .collect();
    let (ids, mask, target) = (ints(&ids, dev), ints(&mask, dev), ints(&target, dev));
    let loss_of = |lp: Tensor<2>, st: Tensor<2>, sh: Tensor<2>, ent: Tensor<2>| {
        lp.sum() + (st * 0.5).sum() + (sh * 0.2).sum() + (ent * 0.3).sum()
    };
    let grads_of = |m: &M, loss: Tensor<1>| {
        let grads = loss.backward();
        let mut c = Collect {
            grads: &grads,
            out: vec![],
        };
        m.visit(&mut c);
        c.out
    };
    // Fused, through the trait methods.
    let m = make();
    let lp = m.sequence_logprobs(ids.clone(), mask.clone(), target.clone());
    let st = m.token_stats(ids.clone(), mask.clone(), 0.7, true);
    let ent = m.token_entropy(ids.clone(), mask.clone());
    let fused = (
        floats(lp.tokens.clone()),
        floats(st.logprobs.clone()),
        floats(st.entropy.clone().unwrap()),
        floats(ent.clone()),
    );
    let g_fused = grads_of(
        &m,
        loss_of(lp.tokens, st.logprobs, st.entropy.unwrap(), ent),
    );
    // Unfused, over logits_from_hidden.
    let m = make();
    let project = |x: Tensor<3>| m.logits_from_hidden(x);
    let proj = m.output_projection().expect("a projection");
    assert!(fused_head_available(DType::F32, dev, &proj), "{dev:?}");
    let hid = || m.hidden(ids.clone(), mask.clone());
    let tmask = shift_mask(target.clone() * mask.clone());
    let lp = chunked_next_token_stats(hid(), ids.clone(), usize::MAX, 1.0, false, project).logprobs
        * tmask;
    let st = chunked_next_token_stats(hid(), ids.clone(), usize::MAX, 0.7, true, project);
    let ent = lm::logprobs::token_entropy(m.logits_from_hidden(hid()));
    let unfused = (
        floats(lp.clone()),
        floats(st.logprobs.clone()),
        floats(st.entropy.clone().unwrap()),
        floats(ent.clone()),
    );
    let g_unfused = grads_of(&m, loss_of(lp, st.logprobs, st.entropy.unwrap(), ent));
    close(&fused.0, &unfused.0, "sequence_logprobs");
    close(&fused.1, &unfused.1, "token_stats logp");
    close(&fused.2, &unfused.2, "token_stats entropy");
    close(&fused.3, &unfused.3, "token_entropy");
    assert_eq!(g_fused.len(), g_unfused.len());
    for (i, (a, b)) in g_fused.iter().zip(&g_unfused).enumerate() {
        assert_relative_eq!(a, b, epsilon = 2e-5, max_relative = 1e-4);
        let _ = i;
    }
}

#[test]
fn transformer_tied_and_untied_match_the_unfused_path() {
    let dev = device().autodiff();
    for tie in [true, false] {
        let cfg: TransformerConfig = tiny_llama().with_tie_embeddings(tie);
        model_matches_unfused(|| -> Transformer { model(&cfg, 3, &dev) }, &dev);
    }
}

#[test]
fn gemma_matches_the_unfused_path_with_gradient_checkpointing() {
    for dev in [
        device().autodiff(),
        device().autodiff().gradient_checkpointing(),
    ] {
        let cfg = Gemma3Config::new(97, 32, 2, 4, 1, 16, 48).with_sliding_window(3);
        let make = || {
            Gemma3::new(&cfg, 4, &dev)
                .unwrap()
                .with_logits_chunk_elements(2 * 97 * 3)
        };
        model_matches_unfused(make, &dev);
    }
}
