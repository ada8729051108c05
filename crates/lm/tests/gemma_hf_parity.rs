//! Gemma 3 matches Hugging Face `Gemma3ForCausalLM` (transformers 5.23) on a tiny random
//! checkpoint: logits to 1e-4 (full and left-padded batches, with a sliding window of 4 over
//! 12 tokens and both layer kinds), and the greedy KV-cached continuation token for token.
//!
//! Fixture: `tests/fixtures/gemma3-tiny/`, made by `scripts/make_gemma_fixtures.py`.

mod common;

use std::path::PathBuf;

use approx::assert_abs_diff_eq;
use burn::tensor::{Int, Tensor};
use common::*;
use lm::checkpoint::{gemma3_config_from_hf, load_gemma3_hf};
use lm::model::gemma::LayerKind;
use lm::{CausalLm, Gemma3, GenerationConfig, generate};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma3-tiny")
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap()).unwrap()
}

fn rows(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        })
        .collect()
}

fn flat(v: &Value, out: &mut Vec<f32>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        x => out.push(x.as_f64().unwrap() as f32),
    }
}

fn load() -> Gemma3 {
    load_gemma3_hf(&dir(), &device()).unwrap()
}

#[test]
fn config_reads_layer_kinds_and_rope_bases() {
    let c = gemma3_config_from_hf(&dir().join("config.json")).unwrap();
    assert_eq!((c.n_heads, c.n_kv_heads, c.head_dim), (4, 1, 16));
    assert_eq!(c.sliding_window, 4);
    assert_eq!(c.query_pre_attn_scalar, 24.0);
    assert_eq!((c.rope_theta_global, c.rope_theta_local), (1e6, 1e4));
    let globals: Vec<usize> = (0..7)
        .filter(|&i| c.layer_kinds[i] == LayerKind::Global)
        .collect();
    assert_eq!(globals, vec![5]);
}

#[test]
fn logits_match_transformers() {
    let (m, e, dev) = (load(), expected(), device());
    let ids = rows(&e["input_ids"]);
    let mask = rows(&e["attention_mask"]);
    let got = floats(m.logits(ints(&ids, &dev), ints(&mask, &dev)));
    let mut want = vec![];
    flat(&e["logits"], &mut want);
    assert_eq!(got.len(), want.len());
    let max_err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_err < 1e-4, "max |Δlogit| = {max_err}");

    let lp = floats(m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)));
    let mut want_lp = vec![];
    flat(&e["log_softmax_next"], &mut want_lp);
    assert_eq!(lp.len(), want_lp.len());
    for (a, b) in lp.iter().zip(&want_lp) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-4);
    }
}

#[test]
fn left_padded_logits_match_transformers() {
    let (m, e, dev) = (load(), expected(), device());
    let p = &e["padded"];
    let (ids, mask) = (rows(&p["input_ids"]), rows(&p["attention_mask"]));
    let got = floats(m.logits(ints(&ids, &dev), ints(&mask, &dev)));
    let mut want = vec![];
    flat(&p["logits"], &mut want);
    let (t, v) = (ids[0].len(), m.vocab_size());
    for (r, mrow) in mask.iter().enumerate() {
        for (j, &keep) in mrow.iter().enumerate() {
            if keep == 1 {
                for k in 0..v {
                    let i = (r * t + j) * v + k;
                    assert!(
                        (got[i] - want[i]).abs() < 1e-4,
                        "row {r} pos {j}: {} vs {}",
                        got[i],
                        want[i]
                    );
                }
            }
        }
    }
}

/// KV-cached greedy decoding 10 tokens past a 6-token prompt (window 4) reproduces
/// transformers' `generate` (which keeps a sliding-window cache) token for token, with the
/// same log-probs.
#[test]
fn greedy_continuation_matches_transformers() {
    let (m, e, dev) = (load(), expected(), device());
    let g = &e["greedy"];
    let prompt = rows(&g["prompt_ids"]);
    let want = rows(&g["new_tokens"]);
    let mask: Vec<Vec<i64>> = prompt.iter().map(|r| vec![1; r.len()]).collect();
    let cfg = GenerationConfig::new(want[0].len());
    let out = generate(&m, ints(&prompt, &dev), ints(&mask, &dev), &cfg).unwrap();
    let got: Vec<Vec<i64>> = out
        .completions
        .iter()
        .map(|r| r.iter().map(|&x| x as i64).collect())
        .collect();
    assert_eq!(got, want);
    let mut want_lp = vec![];
    flat(&g["new_token_logprobs"], &mut want_lp);
    for (a, b) in floats(out.logprobs).iter().zip(&want_lp) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-4);
    }
}

/// Cached decoding equals re-running the whole sequence at every step, on a random Gemma 3
/// whose window (3) is shorter than the prompts, with left padding and sampling.
#[test]
fn cached_generation_matches_full_forward() {
    let dev = device();
    let cfg = lm::Gemma3Config::new(61, 32, 6, 4, 2, 8, 48)
        .with_sliding_window(3)
        .with_max_seq_len(64);
    let mut m = Gemma3::new(&cfg, 5, &dev).unwrap();
    m.embed.weight = m.embed.weight.clone().map(|w| w * 10.0);
    let (ids, mask) = left_pad(
        &[vec![5, 9, 14, 3, 27, 2, 8], vec![11, 40], vec![60, 1, 2]],
        0,
    );
    let gen_cfg = GenerationConfig {
        sampling: lm::SamplingConfig::sample(1.0),
        seed: 3,
        ..GenerationConfig::new(9)
    };
    let cached = generate(&m, ints(&ids, &dev), ints(&mask, &dev), &gen_cfg).unwrap();
    let uncached = generate(
        &m,
        ints(&ids, &dev),
        ints(&mask, &dev),
        &GenerationConfig {
            use_cache: false,
            ..gen_cfg
        },
    )
    .unwrap();
    assert_eq!(cached.completions, uncached.completions);
    for (a, b) in floats(cached.logprobs)
        .iter()
        .zip(&floats(uncached.logprobs))
    {
        assert_abs_diff_eq!(a, b, epsilon = 1e-4);
    }
}

/// Padding never changes a row's log-probs, even with padding inside the window.
#[test]
fn padding_does_not_change_logprobs() {
    let dev = device();
    let cfg = lm::Gemma3Config::new(61, 32, 6, 4, 2, 8, 48).with_sliding_window(3);
    let m = Gemma3::new(&cfg, 9, &dev).unwrap();
    let row = vec![5i64, 9, 14, 3, 27, 2, 8, 30];
    let alone = floats(m.token_logprobs(
        ints(std::slice::from_ref(&row), &dev),
        ints(&[vec![1; 8]], &dev),
    ));
    let (ids, mask) = left_pad(&[row.clone(), vec![1; 11]], 0);
    let padded = floats(m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)));
    for j in 0..7 {
        assert_abs_diff_eq!(alone[j], padded[3 + j], epsilon = 1e-5);
    }
    // A padding gap in the middle of the row (mask 0) is skipped by positions and window.
    let gap_ids = vec![vec![5i64, 9, 14, 0, 0, 3, 27, 2, 8, 30]];
    let gap_mask = vec![vec![1i64, 1, 1, 0, 0, 1, 1, 1, 1, 1]];
    let h_gap = m.hidden(ints(&gap_ids, &dev), ints(&gap_mask, &dev));
    let h = m.hidden(ints(&[row], &dev), ints(&[vec![1; 8]], &dev));
    let keep = Tensor::<1, Int>::from_ints([0, 1, 2, 5, 6, 7, 8, 9], &dev);
    let h_gap = floats(h_gap.select(1, keep));
    for (a, b) in floats(h).iter().zip(&h_gap) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-4);
    }
}
