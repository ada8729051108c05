//! The Qwen / Mistral / Llama 3 options of `TransformerConfig` keep the model's invariants:
//! cached decoding equals re-running the sequence, and padding never changes a row (except
//! under dynamic RoPE scaling, whose frequencies depend on the longest row by design).

mod common;

use approx::assert_abs_diff_eq;
use common::*;
use lm::model::gemma::LayerKind;
use lm::{
    CausalLm, GenerationConfig, RopeScaling, SamplingConfig, Transformer, TransformerConfig,
    generate,
};
use proptest::prelude::*;

/// Every option at once: q/k/v and o biases, QK-norm, head_dim ≠ d/h, a window of 3 on
/// the odd layers, Llama 3 RoPE scaling.
fn everything() -> TransformerConfig {
    let mut c = TransformerConfig::llama(61, 32, 4, 4, 2, 48).with_max_seq_len(64);
    c.head_dim = Some(12);
    c.qkv_bias = true;
    c.o_bias = true;
    c.qk_norm = true;
    c.sliding_window = Some(3);
    c.layer_kinds = Some(vec![
        LayerKind::Global,
        LayerKind::Sliding,
        LayerKind::Global,
        LayerKind::Sliding,
    ]);
    c.rope_scaling = Some(RopeScaling::Llama3 {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 8,
    });
    c
}

fn big(config: &TransformerConfig, seed: u64) -> Transformer {
    let m = Transformer::new(config, seed, &device()).unwrap();
    let mut m = m;
    m.embed.weight = m.embed.weight.clone().map(|w| w * 25.0);
    m
}

#[test]
fn parameter_count_matches_the_model() {
    use burn::module::Module;
    let c = everything();
    assert_eq!(big(&c, 0).num_params(), c.num_params());
}

#[test]
fn cached_generation_equals_full_forward() {
    let dev = device();
    let m = big(&everything(), 4);
    let (ids, mask) = left_pad(
        &[vec![5, 9, 14, 3, 27, 2, 8], vec![11, 40], vec![60, 1, 2]],
        0,
    );
    let cfg = GenerationConfig {
        sampling: SamplingConfig::sample(1.0),
        seed: 3,
        ..GenerationConfig::new(9)
    };
    let cached = generate(&m, ints(&ids, &dev), ints(&mask, &dev), &cfg).unwrap();
    let full = generate(
        &m,
        ints(&ids, &dev),
        ints(&mask, &dev),
        &GenerationConfig {
            use_cache: false,
            ..cfg
        },
    )
    .unwrap();
    assert_eq!(cached.completions, full.completions);
    for (a, b) in floats(cached.logprobs).iter().zip(&floats(full.logprobs)) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-4);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// A row's log-probs do not depend on its left padding or on the other rows.
    #[test]
    fn padding_does_not_change_a_row(
        row in proptest::collection::vec(1i64..61, 2..12),
        other in proptest::collection::vec(1i64..61, 1..14),
        seed in 0u64..100,
    ) {
        let dev = device();
        let m = big(&everything(), seed);
        let n = row.len();
        let alone = floats(m.token_logprobs(
            ints(std::slice::from_ref(&row), &dev),
            ints(&[vec![1; n]], &dev),
        ));
        let (ids, mask) = left_pad(&[row, other], 0);
        let pad = ids[0].len() - n;
        let batched = floats(m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)));
        for j in 0..n - 1 {
            prop_assert!((alone[j] - batched[pad + j]).abs() < 1e-4);
        }
    }
}

/// A token embedding held in row blocks (as on wgpu) gives the same log-probs, gradients and
/// folder as the whole table, tied (Llama) and untied, and the folder loads either way.
#[test]
fn blocked_embedding_equals_the_whole_table() {
    use burn::module::Module;
    let dev = device().autodiff();
    let (ids, mask) = left_pad(&[vec![5, 9, 14, 3, 27, 2, 8], vec![11, 40, 60]], 0);
    for tied in [true, false] {
        let mut c = everything();
        c.tie_embeddings = tied;
        let whole = Transformer::new(&c, 7, &dev).unwrap();
        let blocked = whole.clone().with_embedding_block_rows(16);
        assert_eq!(blocked.embed.row_blocks.len(), 3, "61 rows in blocks of 16");
        let run = |m: &Transformer| {
            let lp = m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev));
            let grads = lp.clone().sum().backward();
            let g: Vec<f32> = m
                .embed
                .blocks()
                .into_iter()
                .flat_map(|b| floats(b.grad(&grads).unwrap()))
                .collect();
            (floats(lp), g)
        };
        let (a, b) = (run(&whole), run(&blocked));
        for (x, y) in a.0.iter().chain(&a.1).zip(b.0.iter().chain(&b.1)) {
            assert_abs_diff_eq!(x, y, epsilon = 1e-5);
        }
        let dir = tempfile::tempdir().unwrap();
        lm::checkpoint::save_model(&blocked.valid(), dir.path()).unwrap();
        let loaded = lm::checkpoint::load_model(dir.path(), &device()).unwrap();
        let want = floats(
            whole
                .valid()
                .logits(ints(&ids, &device()), ints(&mask, &device())),
        );
        let got = floats(loaded.logits(ints(&ids, &device()), ints(&mask, &device())));
        for (x, y) in want.iter().zip(&got) {
            assert_abs_diff_eq!(x, y, epsilon = 1e-6);
        }
    }
}
