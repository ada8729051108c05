//! Dequantisation matches gguf-py's `gguf.quants.dequantize` bit for bit, on random blocks
//! and on blocks quantised by `gguf.quants.quantize` (tests/fixtures/dequant.json, made by
//! scripts/make_gguf_fixtures.py); type sizes match gguf-py's `GGML_QUANT_SIZES`.

use std::path::PathBuf;

use gguf::{GgmlType, dequantize};
use serde_json::Value as Json;

fn fixture(name: &str) -> Json {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn check_type(name: &str) {
    let fx = fixture("dequant.json");
    let entry = &fx["types"][name];
    let ty = GgmlType::from_id(entry["id"].as_u64().unwrap() as u32).unwrap();
    assert_eq!(ty.name(), name);
    let cases = entry["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let label = case["name"].as_str().unwrap();
        let bytes = hex(case["hex"].as_str().unwrap());
        let want: Vec<f32> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let got = dequantize(ty, &bytes).unwrap();
        assert_eq!(got.len(), want.len(), "{name} {label}");
        assert_eq!(got.len(), bytes.len() / ty.type_size() * ty.block_size());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g.to_bits(), w.to_bits(), "{name} {label} [{i}]: {g} vs {w}");
        }
    }
}

#[test]
fn f32_matches_gguf_py() {
    check_type("F32");
}

#[test]
fn f16_matches_gguf_py() {
    check_type("F16");
}

#[test]
fn bf16_matches_gguf_py() {
    check_type("BF16");
}

#[test]
fn q8_0_matches_gguf_py() {
    check_type("Q8_0");
}

#[test]
fn q5_0_matches_gguf_py() {
    check_type("Q5_0");
}

#[test]
fn q4_k_matches_gguf_py() {
    check_type("Q4_K");
}

#[test]
fn q6_k_matches_gguf_py() {
    check_type("Q6_K");
}

#[test]
fn every_fixture_type_is_tested_and_supported() {
    let fx = fixture("dequant.json");
    let names: Vec<&str> = fx["types"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut supported: Vec<&str> = GgmlType::ALL
        .iter()
        .filter(|t| t.can_dequantize())
        .map(|t| t.name())
        .collect();
    let mut names = names;
    names.sort_unstable();
    supported.sort_unstable();
    assert_eq!(names, supported);
}

#[test]
fn type_ids_and_sizes_match_gguf_py() {
    let fx = fixture("types.json");
    let types = fx["types"].as_array().unwrap();
    for t in types {
        let name = t["name"].as_str().unwrap();
        let ty = GgmlType::from_id(t["id"].as_u64().unwrap() as u32)
            .unwrap_or_else(|| panic!("{name} unknown"));
        assert_eq!(ty.name(), name);
        assert_eq!(
            ty.block_size() as u64,
            t["block_size"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            ty.type_size() as u64,
            t["type_size"].as_u64().unwrap(),
            "{name}"
        );
    }
    assert_eq!(types.len(), GgmlType::ALL.len());
}
