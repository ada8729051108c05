//! The GGUF → Gemma 3 mapping on a tiny random model written the way llama.cpp writes Gemma 3
//! (tensor names, norms stored as `1 + w`, `gemma3.*` metadata) and read back identically by
//! transformers' GGUF loader: the loaded model's logits equal the original model's to 1e-4.
//! Runs always (the fixture is 350 kB); the real 270M file is `tests/gemma3_gguf_parity.rs`.
//!
//! Fixture: `tests/fixtures/gemma3-tiny-gguf/`, made by
//! `scripts/make_gemma_fixtures.py tiny-gguf`.

mod common;

use std::path::PathBuf;

use common::*;
use gguf::GgufFile;
use lm::CausalLm;
use lm::checkpoint::{gemma3_config_from_gguf, load_gemma3_gguf};
use lm::model::gemma::LayerKind;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma3-tiny-gguf")
}

#[test]
fn metadata_and_published_defaults() {
    let file = GgufFile::open(dir().join("model.gguf")).unwrap();
    let c = gemma3_config_from_gguf(&file).unwrap();
    assert_eq!((c.vocab_size, c.d_model, c.n_layers), (128, 32, 7));
    assert_eq!(
        (c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff),
        (4, 1, 16, 64)
    );
    assert_eq!((c.sliding_window, c.max_seq_len), (4, 64));
    // Not in the metadata: the published local RoPE base, 5:1 pattern and 1/√head_dim scale.
    assert_eq!((c.rope_theta_global, c.rope_theta_local), (1e6, 1e4));
    assert_eq!(c.query_pre_attn_scalar, 16.0);
    let globals: Vec<usize> = (0..7)
        .filter(|&i| c.layer_kinds[i] == LayerKind::Global)
        .collect();
    assert_eq!(globals, vec![5]);
}

#[test]
fn logits_match_the_original_model() {
    let dev = device();
    let m = load_gemma3_gguf(&dir().join("model.gguf"), &dev).unwrap();
    let e: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).unwrap())
            .unwrap();
    let ids: Vec<Vec<i64>> = e["input_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_i64().unwrap())
                .collect()
        })
        .collect();
    let mask: Vec<Vec<i64>> = ids.iter().map(|r| vec![1; r.len()]).collect();
    let got = floats(m.logits(ints(&ids, &dev), ints(&mask, &dev)));
    let want: Vec<f32> = e["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter())
        .flat_map(|r| r.as_array().unwrap().iter())
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    assert_eq!(got.len(), want.len());
    let err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 1e-4, "max |Δlogit| = {err}");
}

#[test]
fn missing_file_is_named() {
    let path = dir().join("no-such.gguf");
    let err = load_gemma3_gguf(&path, &device()).unwrap_err().to_string();
    assert!(err.contains("no-such.gguf"), "{err}");
}
