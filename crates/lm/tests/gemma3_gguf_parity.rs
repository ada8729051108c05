//! Opt-in: Gemma 3 270M loaded from its GGUF file matches Hugging Face transformers loading
//! the same file (dequantised to float32): token ids exactly (tokenizer rebuilt from the
//! GGUF metadata), the log-prob of every next token to 1e-3, and a 16-token greedy
//! continuation (KV-cached `lm::generate`) exactly.
//!
//! Fixture: `tests/fixtures/gemma3-270m-gguf/expected.json`, made by
//! `scripts/make_gemma_fixtures.py gguf PATH`. Runs when the 240 MB file is present:
//! `$RLHF_GEMMA_GGUF`, or `.cache/gemma3/gemma-3-270m-q4_k_m.gguf` at the workspace root
//! (`scripts/fetch-gemma3.sh`); otherwise it prints why it is skipped and passes.
//!
//! ```text
//! scripts/fetch-gemma3.sh
//! cargo test --release -p lm --test gemma3_gguf_parity -- --nocapture
//! ```

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::*;
use gguf::GgufFile;
use lm::checkpoint::{gemma3_config_from_gguf, load_gemma3_gguf};
use lm::gguf_tokenizer::{add_bos_token, tokenizer_from_gguf};
use lm::{CausalLm, Gemma3Config, GenerationConfig, generate};
use serde_json::Value;

fn gemma_path() -> Option<PathBuf> {
    let path = match std::env::var_os("RLHF_GEMMA_GGUF") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../.cache/gemma3/gemma-3-270m-q4_k_m.gguf"),
    };
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "skipped: {} not found (run scripts/fetch-gemma3.sh or set RLHF_GEMMA_GGUF)",
            path.display()
        );
        None
    }
}

fn expected() -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gemma3-270m-gguf/expected.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn ids_of(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

/// The metadata gives the published 270M configuration (missing keys: published values).
#[test]
fn gguf_config_is_gemma3_270m() {
    let Some(path) = gemma_path() else { return };
    let file = GgufFile::open(&path).unwrap();
    let mut got = gemma3_config_from_gguf(&file).unwrap();
    let want = Gemma3Config::gemma3_270m();
    // The file stores ε = 1e-6 as an f32.
    assert!((got.norm_eps - 1e-6).abs() < 1e-12, "{}", got.norm_eps);
    got.norm_eps = want.norm_eps;
    assert_eq!(got, want);
}

#[test]
fn gguf_model_matches_transformers() {
    let Some(path) = gemma_path() else { return };
    let dev = device();
    let e = expected();
    let start = Instant::now();
    let model = load_gemma3_gguf(&path, &dev).unwrap();
    eprintln!("loaded {} in {:.1?}", path.display(), start.elapsed());
    let file = GgufFile::open(&path).unwrap();
    let tok = tokenizer_from_gguf(&file).unwrap();
    let bos = add_bos_token(&file).unwrap();

    let mut worst = 0.0f32;
    for case in e["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want_ids = ids_of(&case["input_ids"]);
        let ids: Vec<i64> = tok
            .encode(text, bos, false)
            .unwrap()
            .into_iter()
            .map(i64::from)
            .collect();
        assert_eq!(ids, want_ids, "token ids of {text:?}");

        let t = ids.len();
        let mask = vec![vec![1i64; t]];
        let lp =
            floats(model.token_logprobs(ints(std::slice::from_ref(&ids), &dev), ints(&mask, &dev)));
        let want_lp: Vec<f32> = case["next_token_logprobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(lp.len(), want_lp.len());
        for (j, (a, b)) in lp.iter().zip(&want_lp).enumerate() {
            worst = worst.max((a - b).abs());
            assert!(
                (a - b).abs() < 1e-3,
                "{text:?} position {j}: log-prob {a} vs transformers {b}"
            );
        }

        let want_new = ids_of(&case["greedy_new_tokens"]);
        let cfg = GenerationConfig::new(want_new.len());
        let out = generate(&model, ints(&[ids], &dev), ints(&mask, &dev), &cfg).unwrap();
        let got_new: Vec<i64> = out.completions[0].iter().map(|&x| i64::from(x)).collect();
        let got_text = tok.decode(&out.completions[0], false).unwrap();
        eprintln!("{text:?} -> {got_text:?}");
        assert_eq!(got_new, want_new, "greedy continuation of {text:?}");
    }
    eprintln!(
        "max |Δ log-prob| = {worst:.2e}; total {:.1?}",
        start.elapsed()
    );
}
