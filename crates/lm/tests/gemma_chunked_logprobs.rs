//! `CausalLm`'s chunked log-probs on Gemma 3: any chunk size gives the log-probs,
//! entropies and parameter gradients of a single chunk.

mod common;

use approx::assert_relative_eq;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Gradients;
use burn::tensor::Tensor;
use common::*;
use lm::{CausalLm, Gemma3, Gemma3Config};

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

#[test]
fn chunk_size_does_not_change_logprobs_or_gradients() {
    let dev = device().autodiff();
    let cfg = Gemma3Config::new(97, 32, 6, 4, 1, 16, 48).with_sliding_window(3);
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
    let run = |elements: usize| {
        let m = Gemma3::new(&cfg, 4, &dev)
            .unwrap()
            .with_logits_chunk_elements(elements);
        let lp = m.sequence_logprobs(ints(&ids, &dev), ints(&mask, &dev), ints(&target, &dev));
        let ent = m.token_entropy(ints(&ids, &dev), ints(&mask, &dev));
        let loss = lp.sum.clone().sum() + (ent.clone() * 0.3).sum();
        let grads = loss.backward();
        let mut c = Collect {
            grads: &grads,
            out: vec![],
        };
        m.visit(&mut c);
        (floats(lp.tokens), floats(ent), c.out)
    };
    let whole = run(usize::MAX);
    // 1 element → one position per chunk; 2·97·3 → three positions per chunk.
    for elements in [1, 2 * 97 * 3] {
        let chunked = run(elements);
        for (a, b) in [
            (&chunked.0, &whole.0),
            (&chunked.1, &whole.1),
            (&chunked.2, &whole.2),
        ] {
            assert_eq!(a.len(), b.len());
            assert!(!a.is_empty());
            for (x, y) in a.iter().zip(b.iter()) {
                assert_relative_eq!(x, y, epsilon = 1e-5, max_relative = 1e-4);
            }
        }
    }
}
