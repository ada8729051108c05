//! Left padding never changes a row's log-probs.

mod common;

use approx::assert_abs_diff_eq;
use common::*;
use lm::CausalLm;
use proptest::prelude::*;

fn check_left_padding_invariance(config: &lm::TransformerConfig, rows: Vec<Vec<i64>>, seed: u64) {
    let dev = device();
    let m = model(config, seed, &dev);
    let (ids, mask) = left_pad(&rows, 0);
    let t = ids[0].len();
    let batch = floats(m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)));
    for (r, row) in rows.iter().enumerate() {
        let ones = vec![vec![1i64; row.len()]];
        let alone =
            floats(m.token_logprobs(ints(std::slice::from_ref(row), &dev), ints(&ones, &dev)));
        let pad = t - row.len();
        // Batch position pad + j (j ≥ 0) scores the same token as the lone row's position j.
        for (j, want) in alone.iter().enumerate() {
            let got = batch[r * (t - 1) + pad + j];
            assert_abs_diff_eq!(got, *want, epsilon = 2e-5);
        }
    }
}

#[test]
fn llama_left_padding_invariance() {
    let rows = vec![
        vec![5, 9, 14, 3, 77, 2, 8],
        vec![11, 40, 3],
        vec![60, 1, 2, 3, 4],
    ];
    check_left_padding_invariance(&tiny_llama(), rows, 1);
}

#[test]
fn gpt2_left_padding_invariance() {
    let rows = vec![
        vec![5, 9, 14, 3, 77, 2, 8],
        vec![11, 40, 3],
        vec![60, 1, 2, 3, 4],
    ];
    check_left_padding_invariance(&tiny_gpt2(), rows, 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn left_padding_invariance_prop(
        rows in prop::collection::vec(prop::collection::vec(1i64..97, 2..12), 1..4),
        seed in 0u64..1000,
    ) {
        check_left_padding_invariance(&tiny_llama(), rows, seed);
    }
}

#[test]
fn fully_padded_row_stays_finite() {
    let dev = device();
    let m = model(&tiny_llama(), 3, &dev);
    let ids = ints(&[vec![0, 0, 0], vec![4, 5, 6]], &dev);
    let mask = ints(&[vec![0, 0, 0], vec![1, 1, 1]], &dev);
    assert!(
        floats(m.token_logprobs(ids, mask))
            .iter()
            .all(|v| v.is_finite())
    );
}
