//! Cached generation equals a full forward pass; sampling is seeded and respects its limits.

mod common;

use approx::assert_abs_diff_eq;
use common::*;
use lm::{CausalLm, GenerationConfig, SamplingConfig, generate};

fn prompts() -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    left_pad(
        &[vec![5, 9, 14, 3, 77, 2], vec![11, 40], vec![60, 1, 2, 3]],
        0,
    )
}

fn config(sampling: SamplingConfig, eos: Vec<u32>) -> GenerationConfig {
    GenerationConfig {
        sampling,
        eos_token_ids: eos,
        seed: 7,
        ..GenerationConfig::new(12)
    }
}

#[test]
fn cached_generation_matches_full_forward() {
    for cfg in [tiny_llama(), tiny_gpt2()] {
        let dev = device();
        let m = model(&cfg, 11, &dev);
        let (ids, mask) = prompts();
        let gen_cfg = config(SamplingConfig::sample(1.0), vec![3]);
        let cached = generate(&m, ints(&ids, &dev), ints(&mask, &dev), &gen_cfg).unwrap();
        let uncached = generate(
            &m,
            ints(&ids, &dev),
            ints(&mask, &dev),
            &GenerationConfig {
                use_cache: false,
                ..gen_cfg.clone()
            },
        )
        .unwrap();
        assert_eq!(
            cached.completions, uncached.completions,
            "same tokens with and without cache"
        );
        assert_eq!(
            cached.sequences.clone().try_into_vec_as::<i64>().unwrap(),
            uncached.sequences.clone().try_into_vec_as::<i64>().unwrap()
        );

        // Score the finished sequences in one full forward pass.
        let full = m.sequence_logprobs(
            cached.sequences.clone(),
            cached.attention_mask.clone(),
            cached.completion_mask.clone(),
        );
        let p = cached.prompt_len;
        let n = cached.logprobs.dims()[1];
        let full_tok = floats(full.tokens);
        let gen_tok = floats(cached.logprobs.clone());
        let width = p + n - 1;
        for r in 0..3 {
            for j in 0..n {
                // Generated token j sits at sequence index p + j, scored at position p + j - 1.
                assert_abs_diff_eq!(
                    gen_tok[r * n + j],
                    full_tok[r * width + p + j - 1],
                    epsilon = 1e-4
                );
            }
        }
        for (a, b) in floats(uncached.logprobs).iter().zip(&gen_tok) {
            assert_abs_diff_eq!(a, b, epsilon = 1e-4);
        }
    }
}

#[test]
fn seeded_sampling_is_reproducible_and_seed_dependent() {
    let dev = device();
    let m = model(&tiny_llama(), 5, &dev);
    let (ids, mask) = prompts();
    let run = |seed| {
        let c = GenerationConfig {
            seed,
            ..config(SamplingConfig::sample(1.5), vec![])
        };
        generate(&m, ints(&ids, &dev), ints(&mask, &dev), &c)
            .unwrap()
            .completions
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn stops_at_eos_per_sequence_and_masks_after() {
    let dev = device();
    let m = model(&tiny_llama(), 5, &dev);
    let (ids, mask) = prompts();
    // Greedy: find each row's first token, then make it the EOS for that run.
    let g = generate(
        &m,
        ints(&ids, &dev),
        ints(&mask, &dev),
        &config(SamplingConfig::greedy(), vec![]),
    )
    .unwrap();
    let eos = g.completions[0][0];
    let g = generate(
        &m,
        ints(&ids, &dev),
        ints(&mask, &dev),
        &config(SamplingConfig::greedy(), vec![eos]),
    )
    .unwrap();
    assert_eq!(
        g.completions[0],
        vec![eos],
        "row 0 stops right after its EOS"
    );
    let cm = g.completion_mask.clone().try_into_vec_as::<i64>().unwrap();
    let width = g.sequences.dims()[1];
    let p = g.prompt_len;
    assert_eq!(cm[p], 1);
    assert!(
        cm[p + 1..width].iter().all(|&v| v == 0),
        "nothing after EOS is a completion token"
    );
    for (r, c) in g.completions.iter().enumerate() {
        let ones: i64 = cm[r * width..(r + 1) * width].iter().sum();
        assert_eq!(ones as usize, c.len());
    }
}

#[test]
fn top_k_one_is_greedy_and_top_p_tiny_is_greedy() {
    let dev = device();
    let m = model(&tiny_gpt2(), 9, &dev);
    let (ids, mask) = prompts();
    let greedy = generate(
        &m,
        ints(&ids, &dev),
        ints(&mask, &dev),
        &config(SamplingConfig::greedy(), vec![]),
    )
    .unwrap();
    let k1 = SamplingConfig {
        temperature: 2.0,
        top_k: Some(1),
        top_p: 1.0,
    };
    let p0 = SamplingConfig {
        temperature: 2.0,
        top_k: None,
        top_p: 1e-6,
    };
    for s in [k1, p0] {
        let g = generate(&m, ints(&ids, &dev), ints(&mask, &dev), &config(s, vec![])).unwrap();
        assert_eq!(g.completions, greedy.completions);
    }
}

#[test]
fn bad_settings_are_errors() {
    let dev = device();
    let m = model(&tiny_llama(), 5, &dev);
    let (ids, mask) = prompts();
    let c = config(
        SamplingConfig {
            temperature: 1.0,
            top_k: None,
            top_p: 0.0,
        },
        vec![],
    );
    let err = generate(&m, ints(&ids, &dev), ints(&mask, &dev), &c)
        .unwrap_err()
        .to_string();
    assert!(err.contains("top_p"), "{err}");
    // Right padding is rejected, not silently mis-generated.
    let right = vec![vec![5, 6, 0]];
    let rmask = vec![vec![1, 1, 0]];
    let err = generate(
        &m,
        ints(&right, &dev),
        ints(&rmask, &dev),
        &config(SamplingConfig::greedy(), vec![]),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("left padding"), "{err}");
}

/// At a sampling temperature τ ≠ 1 the returned log-probs are those of softmax(logits / τ):
/// they equal a scoring pass with `token_stats` at τ, and differ from the raw-logit ones.
#[test]
fn sampled_logprobs_are_those_of_the_tempered_policy() {
    let dev = device();
    let m = model(&tiny_llama(), 5, &dev);
    let (ids, mask) = prompts();
    let tau = 0.7;
    let g = generate(
        &m,
        ints(&ids, &dev),
        ints(&mask, &dev),
        &config(SamplingConfig::sample(tau), vec![]),
    )
    .unwrap();
    let stats = m.token_stats(g.sequences.clone(), g.attention_mask.clone(), tau, true);
    let raw = m.token_stats(g.sequences.clone(), g.attention_mask.clone(), 1.0, false);
    let (p, n) = (g.prompt_len, g.logprobs.dims()[1]);
    let width = p + n - 1;
    let (gen_lp, tempered, plain) = (
        floats(g.logprobs.clone()),
        floats(stats.logprobs),
        floats(raw.logprobs),
    );
    let mut max_raw_gap = 0f32;
    for r in 0..3 {
        for j in 0..n {
            let at = r * width + p + j - 1;
            assert_abs_diff_eq!(gen_lp[r * n + j], tempered[at], epsilon = 1e-4);
            max_raw_gap = max_raw_gap.max((gen_lp[r * n + j] - plain[at]).abs());
        }
    }
    assert!(max_raw_gap > 1e-2, "temperature must matter: {max_raw_gap}");
    let entropy = floats(stats.entropy.expect("asked for"));
    assert_eq!(entropy.len(), 3 * width);
    assert!(
        entropy
            .iter()
            .all(|&h| h >= 0.0 && h <= (m.vocab_size() as f32).ln() + 1e-4)
    );
}
