//! Opt-in: the Gemma 3 tokenizer built from the real GGUF's metadata
//! (`lm::gguf_tokenizer`) gives the ids Hugging Face transformers gives for the same file
//! (tests/fixtures/gemma3_tokenizer.json, from scripts/make_gemma_tokenizer_fixtures.py),
//! BOS included, and decodes them back to the same text.
//!
//! Runs when the file is present: `$RLHF_GEMMA_GGUF`, or `.cache/gemma3/gemma-3-270m-q4_k_m.gguf`
//! (scripts/fetch-gemma3.sh). Otherwise each test prints why it is skipped and passes.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use gguf::GgufFile;
use lm::gguf_tokenizer::{add_bos_token, tokenizer_from_gguf};
use lm::tokenizer::Tokenizer;
use serde_json::Value as Json;

fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/gemma3")
}

fn gemma_path() -> Option<PathBuf> {
    let path = match std::env::var_os("RLHF_GEMMA_GGUF") {
        Some(p) => PathBuf::from(p),
        None => cache_dir().join("gemma-3-270m-q4_k_m.gguf"),
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

/// The file and the tokenizer built from it, once for all tests.
fn loaded() -> Option<&'static (GgufFile, Tokenizer)> {
    static LOADED: OnceLock<Option<(GgufFile, Tokenizer)>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = gemma_path()?;
            let file = GgufFile::open(&path).unwrap();
            let start = Instant::now();
            let tok = tokenizer_from_gguf(&file).unwrap();
            eprintln!(
                "built the tokenizer from {} in {:?}",
                path.display(),
                start.elapsed()
            );
            Some((file, tok))
        })
        .as_ref()
}

fn fixture() -> Json {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma3_tokenizer.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(v: &Json) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn gemma3_special_ids_and_sizes_match_transformers() {
    let Some((file, tok)) = loaded() else { return };
    let fx = fixture();
    assert_eq!(tok.bos_id() as u64, fx["bos_id"].as_u64().unwrap());
    assert_eq!(tok.eos_id() as u64, fx["eos_id"].as_u64().unwrap());
    assert_eq!(tok.pad_id() as u64, fx["pad_id"].as_u64().unwrap());
    assert_eq!(tok.vocab_size() as u64, fx["vocab_size"].as_u64().unwrap());
    assert!(add_bos_token(file).unwrap());
    let json: Json = serde_json::from_str(&tok.to_json_string().unwrap()).unwrap();
    assert_eq!(
        json["model"]["merges"].as_array().unwrap().len() as u64,
        fx["merges"].as_u64().unwrap()
    );
}

#[test]
fn gemma3_ids_and_decoding_match_transformers() {
    let Some((file, tok)) = loaded() else { return };
    let add_bos = add_bos_token(file).unwrap();
    let fx = fixture();
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 10);
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        let got = tok.encode(text, add_bos, false).unwrap();
        assert_eq!(got, want, "ids of {text:?}");
        assert_eq!(
            tok.decode(&got, false).unwrap(),
            case["decoded"].as_str().unwrap(),
            "{text:?}"
        );
        let decoded = tok.decode(&got, true).unwrap();
        assert_eq!(
            decoded,
            case["decoded_skip_special"].as_str().unwrap(),
            "{text:?}"
        );
    }
    // Text without special-token spellings or a literal "▁" round-trips exactly.
    let plain = cases
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .filter(|t| !t.contains('<') && !t.contains('▁'));
    let mut n = 0;
    for text in plain {
        let ids = tok.encode(text, add_bos, false).unwrap();
        assert_eq!(tok.decode(&ids, true).unwrap(), text);
        n += 1;
    }
    assert!(n >= 10, "{n}");
}

/// When scripts/make_gemma_tokenizer_fixtures.py has left transformers' full tokenizer.json
/// in the cache, the vocabulary, merges, added tokens and pipeline must equal ours.
#[test]
fn gemma3_tokenizer_json_equals_transformers_when_cached() {
    let Some((_, tok)) = loaded() else { return };
    let hf_path = cache_dir().join("hf_tokenizer.json");
    let Ok(text) = std::fs::read_to_string(&hf_path) else {
        eprintln!(
            "skipped: {} not found (scripts/make_gemma_tokenizer_fixtures.py)",
            hf_path.display()
        );
        return;
    };
    let hf: Json = serde_json::from_str(&text).unwrap();
    let ours: Json = serde_json::from_str(&tok.to_json_string().unwrap()).unwrap();
    for part in ["normalizer", "pre_tokenizer", "decoder"] {
        assert_eq!(ours[part], hf[part], "{part}");
    }
    for key in [
        "type",
        "unk_token",
        "fuse_unk",
        "byte_fallback",
        "ignore_merges",
        "dropout",
    ] {
        assert_eq!(ours["model"][key], hf["model"][key], "model.{key}");
    }
    assert_eq!(ours["model"]["vocab"], hf["model"]["vocab"], "vocabulary");
    let (a, b) = (
        ours["model"]["merges"].as_array().unwrap(),
        hf["model"]["merges"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len(), "merge count");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("merge {i} differs: ours {} vs transformers {}", a[i], b[i]);
    }
    let added = |j: &Json| -> Vec<(u64, String, bool, bool)> {
        let mut v: Vec<_> = j["added_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["id"].as_u64().unwrap(),
                    t["content"].as_str().unwrap().to_owned(),
                    t["special"].as_bool().unwrap(),
                    t["normalized"].as_bool().unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(added(&ours), added(&hf), "added tokens");
}
