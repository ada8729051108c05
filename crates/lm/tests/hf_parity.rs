//! Hugging Face Llama and GPT-2 checkpoints load with logits equal to `transformers`' to 1e-4.
//!
//! Fixtures: `tests/fixtures/hf/` at the workspace root, made by
//! `scripts/make_hf_fixtures.py` (see the README there).

mod common;

use std::path::PathBuf;

use approx::assert_abs_diff_eq;
use common::*;
use lm::CausalLm;
use lm::checkpoint::load_hf;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/hf")
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

fn flat(v: &Value, out: &mut Vec<f32>) {
    match v {
        Value::Array(a) => a.iter().for_each(|x| flat(x, out)),
        x => out.push(x.as_f64().unwrap() as f32),
    }
}

fn check(name: &str) {
    let dev = device();
    let dir = fixture(name);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let m = load_hf(&dir, &dev).unwrap_or_else(|e| panic!("{name}: {e}"));

    let ids = rows(&expected["input_ids"]);
    let mask = rows(&expected["attention_mask"]);
    let got = floats(m.logits(ints(&ids, &dev), ints(&mask, &dev)));
    let mut want = vec![];
    flat(&expected["logits"], &mut want);
    assert_eq!(got.len(), want.len());
    let max_err = got
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(max_err < 1e-4, "{name}: max |Δlogit| = {max_err}");

    let lp = floats(m.token_logprobs(ints(&ids, &dev), ints(&mask, &dev)));
    let mut want_lp = vec![];
    flat(&expected["log_softmax_next"], &mut want_lp);
    for (a, b) in lp.iter().zip(&want_lp) {
        assert_abs_diff_eq!(a, b, epsilon = 1e-4);
    }

    // Left-padded case: compare real positions only.
    let p = &expected["padded"];
    let (pids, pmask) = (rows(&p["input_ids"]), rows(&p["attention_mask"]));
    let got = floats(m.logits(ints(&pids, &dev), ints(&pmask, &dev)));
    let mut want = vec![];
    flat(&p["logits"], &mut want);
    let (t, v) = (pids[0].len(), m.vocab_size());
    for (r, mrow) in pmask.iter().enumerate() {
        for (j, &keep) in mrow.iter().enumerate() {
            if keep == 1 {
                for k in 0..v {
                    let i = (r * t + j) * v + k;
                    assert!(
                        (got[i] - want[i]).abs() < 1e-4,
                        "{name} padded row {r} pos {j}: {} vs {}",
                        got[i],
                        want[i]
                    );
                }
            }
        }
    }
}

#[test]
fn llama_logits_match_transformers() {
    check("llama-tiny");
}

#[test]
fn llama_tied_logits_match_transformers() {
    check("llama-tiny-tied");
}

#[test]
fn gpt2_logits_match_transformers() {
    check("gpt2-tiny");
}

#[test]
fn unsupported_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"model_type": "mamba"}"#).unwrap();
    let err = load_hf(dir.path(), &device()).unwrap_err().to_string();
    assert!(
        err.contains("model_type") && err.contains("mamba") && err.contains("config.json"),
        "{err}"
    );
}

#[test]
fn missing_tensor_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = fixture("llama-tiny");
    std::fs::copy(src.join("config.json"), dir.path().join("config.json")).unwrap();
    // A valid safetensors file holding only one of the tensors.
    let bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor("model.norm.weight").unwrap();
    let out = safetensors::serialize([("model.norm.weight", view)], None).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), out).unwrap();
    let err = load_hf(dir.path(), &device()).unwrap_err().to_string();
    assert!(
        err.contains("missing tensor `model.embed_tokens.weight`"),
        "{err}"
    );
}
