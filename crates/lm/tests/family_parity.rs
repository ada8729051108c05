//! Every supported family loads from a Hugging Face folder through `load_pretrained` and
//! matches transformers 5.23 on a tiny random checkpoint: logits and next-token log-probs to
//! 1e-4, a left-padded batch (real positions) to 1e-4, and a KV-cached greedy continuation of
//! a left-padded batch equal to `generate(do_sample=False)` token for token.
//!
//! Fixtures: `tests/fixtures/families/`, made by `scripts/make_family_fixtures.py`.

mod common;

use std::path::PathBuf;

use common::*;
use lm::checkpoint::{Pretrained, load_pretrained};
use lm::{CausalLm, GenerationConfig, LanguageModel, generate};
use serde_json::Value;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/families")
        .join(name)
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

fn flat(v: &Value) -> Vec<f32> {
    fn go(v: &Value, out: &mut Vec<f32>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| go(x, out)),
            x => out.push(x.as_f64().unwrap() as f32),
        }
    }
    let mut out = vec![];
    go(v, &mut out);
    out
}

fn max_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn load(name: &str) -> Pretrained {
    load_pretrained(&dir(name), &device()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// All three checks of one fixture.
fn check(name: &str) -> LanguageModel {
    let dev = device();
    let m = load(name).model;
    let e: Value =
        serde_json::from_str(&std::fs::read_to_string(dir(name).join("expected.json")).unwrap())
            .unwrap();

    let (ids, mask) = (rows(&e["input_ids"]), rows(&e["attention_mask"]));
    let got = floats(m.logits(ints(&ids, &dev), ints(&mask, &dev)));
    let err = max_err(&got, &flat(&e["logits"]));
    assert!(err < 1e-4, "{name}: max |Δlogit| = {err}");
    let lp = floats(m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)));
    let err = max_err(&lp, &flat(&e["log_softmax_next"]));
    assert!(err < 1e-4, "{name}: max |Δlogprob| = {err}");

    let p = &e["padded"];
    let (pids, pmask) = (rows(&p["input_ids"]), rows(&p["attention_mask"]));
    let got = floats(m.logits(ints(&pids, &dev), ints(&pmask, &dev)));
    let want = flat(&p["logits"]);
    let (t, v) = (pids[0].len(), m.vocab_size());
    for (r, mrow) in pmask.iter().enumerate() {
        for (j, _) in mrow.iter().enumerate().filter(|(_, k)| **k == 1) {
            let i = (r * t + j) * v;
            let err = max_err(&got[i..i + v], &want[i..i + v]);
            assert!(err < 1e-4, "{name}: padded row {r} pos {j}: {err}");
        }
    }

    let g = &e["greedy"];
    let (gids, gmask) = (rows(&g["prompt_ids"]), rows(&g["attention_mask"]));
    let want = rows(&g["new_tokens"]);
    let cfg = GenerationConfig::new(want[0].len());
    let out = generate(&m, ints(&gids, &dev), ints(&gmask, &dev), &cfg).unwrap();
    let got: Vec<Vec<i64>> = out
        .completions
        .iter()
        .map(|r| r.iter().map(|&x| x as i64).collect())
        .collect();
    assert_eq!(got, want, "{name}: greedy continuation");
    let err = max_err(&floats(out.logprobs), &flat(&g["new_token_logprobs"]));
    assert!(err < 1e-4, "{name}: greedy log-probs {err}");
    m
}

fn transformer(m: &LanguageModel) -> &lm::Transformer {
    match m {
        LanguageModel::Transformer(t) => t,
        other => panic!("expected a Transformer, got {other:?}"),
    }
}

/// Llama 3.1-style `llama3` RoPE scaling; `generation_config.json` lists three EOS ids.
#[test]
fn llama3_matches_transformers() {
    let m = check("llama3-tiny");
    assert!(matches!(
        transformer(&m).config.rope_scaling,
        Some(lm::RopeScaling::Llama3 { factor: 8.0, .. })
    ));
    let p = load("llama3-tiny");
    assert_eq!(p.model_type, "llama");
    assert_eq!(p.generation.eos_token_ids, vec![2, 5, 7]);
    assert_eq!(p.generation.bos_token_id, Some(1));
    let cfg = p.generation.apply(GenerationConfig::new(4));
    assert_eq!((cfg.eos_token_ids, cfg.pad_token_id), (vec![2, 5, 7], 0));
}

/// SmolLM2-shaped Llama: tied output; EOS from `config.json` (no generation config).
#[test]
fn smollm_matches_transformers() {
    let m = check("smollm-tiny");
    assert!(transformer(&m).config.tie_embeddings);
    assert_eq!(load("smollm-tiny").generation.eos_token_ids, vec![2]);
}

/// Llama with `linear` RoPE scaling and attention / MLP biases.
#[test]
fn llama_linear_rope_and_biases_match_transformers() {
    let m = check("llama-linear-bias");
    let c = &transformer(&m).config;
    assert!(c.qkv_bias && c.o_bias && c.mlp_bias);
}

/// Llama with `dynamic` NTK RoPE past its 8-position context.
#[test]
fn llama_dynamic_rope_matches_transformers() {
    let m = check("llama-dynamic");
    assert_eq!(m.max_seq_len(), 32);
}

/// Mistral: sliding window 4 over 10 tokens, explicit head_dim 16 ≠ 32 / 4.
#[test]
fn mistral_matches_transformers() {
    let m = check("mistral-tiny");
    let c = &transformer(&m).config;
    assert_eq!((c.sliding_window, c.head_dim()), (Some(4), 16));
}

/// Qwen2: q/k/v biases, tied, one full and one sliding layer.
#[test]
fn qwen2_matches_transformers() {
    let m = check("qwen2-tiny");
    let c = &transformer(&m).config;
    assert!(c.qkv_bias && !c.o_bias && c.tie_embeddings);
    assert_eq!(
        c.layer_kinds,
        Some(vec![lm::LayerKind::Global, lm::LayerKind::Sliding])
    );
}

/// Qwen3: QK-norm, explicit head_dim 16.
#[test]
fn qwen3_matches_transformers() {
    let m = check("qwen3-tiny");
    let c = &transformer(&m).config;
    assert!(c.qk_norm && !c.qkv_bias);
    assert_eq!(c.head_dim(), 16);
}

/// bf16 weights in two shards with an index, cast to f32 on load.
#[test]
fn sharded_bf16_matches_transformers() {
    let shards = std::fs::read_dir(dir("qwen2-sharded-bf16"))
        .unwrap()
        .filter(|f| {
            let name = f.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with("model-")
        })
        .count();
    assert!(shards >= 2, "{shards} shards");
    check("qwen2-sharded-bf16");
    assert_eq!(
        load("qwen2-sharded-bf16").generation.eos_token_ids,
        vec![2, 6]
    );
}
