//! Opt-in: the real Gemma 3 270M Q4_K_M file reads as gguf-py reads it.
//!
//! Runs when the file is present: `$RLHF_GEMMA_GGUF`, or the default cache path
//! `.cache/gemma3/gemma-3-270m-q4_k_m.gguf` that scripts/fetch-gemma3.sh fills. Otherwise
//! each test prints why it is skipped and passes. Reference values come from
//! tests/fixtures/gemma3_reference.json (scripts/make_gguf_fixtures.py).

use std::path::PathBuf;
use std::time::Instant;

use gguf::GgufFile;
use serde_json::Value as Json;

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

fn reference() -> Json {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemma3_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn gemma3_header_metadata_and_tensor_infos() {
    let Some(path) = gemma_path() else { return };
    let file = GgufFile::open(&path).unwrap();
    let r = reference();
    assert_eq!(u64::from(file.version()), r["version"].as_u64().unwrap());
    assert_eq!(
        file.tensors().len() as u64,
        r["tensor_count"].as_u64().unwrap()
    );
    assert_eq!(
        file.metadata().len() as u64,
        r["kv_count"].as_u64().unwrap()
    );
    assert_eq!(file.data_offset(), r["data_offset"].as_u64().unwrap());
    assert_eq!(file.alignment(), 32);
    assert_eq!(
        file.get_str("general.architecture").unwrap(),
        r["architecture"]
    );
    assert_eq!(
        file.get_uint("gemma3.block_count").unwrap(),
        r["block_count"].as_u64().unwrap()
    );
    let vocab = file.get_str_array("tokenizer.ggml.tokens").unwrap();
    assert_eq!(vocab.len() as u64, r["vocab_size"].as_u64().unwrap());
    assert_eq!(
        file.get_f32_array("tokenizer.ggml.scores").unwrap().len(),
        vocab.len()
    );
    assert_eq!(
        file.get_i32_array("tokenizer.ggml.token_type")
            .unwrap()
            .len(),
        vocab.len()
    );
    for (ty, count) in r["type_counts"].as_object().unwrap() {
        let n = file
            .tensors()
            .iter()
            .filter(|t| t.ggml_type().name() == ty)
            .count();
        assert_eq!(n as u64, count.as_u64().unwrap(), "{ty}");
    }
    let embd = file.tensor("token_embd.weight").unwrap();
    assert_eq!(embd.dims(), [640, vocab.len() as u64]);
    assert_eq!(embd.shape(), [vocab.len(), 640]);
}

#[test]
fn gemma3_one_tensor_of_each_type_matches_gguf_py() {
    let Some(path) = gemma_path() else { return };
    let file = GgufFile::open(&path).unwrap();
    for t in reference()["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let info = file.tensor(name).unwrap();
        assert_eq!(info.ggml_type().name(), t["type"].as_str().unwrap());
        let dims: Vec<u64> = t["dims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap())
            .collect();
        assert_eq!(info.dims(), dims, "{name}");
        assert_eq!(info.offset(), t["offset"].as_u64().unwrap(), "{name}");
        assert_eq!(
            info.n_bytes() as u64,
            t["n_bytes"].as_u64().unwrap(),
            "{name}"
        );

        let start = Instant::now();
        let x = file.tensor_f32(name).unwrap();
        eprintln!(
            "{name} ({}): {} values in {:?}",
            info.ggml_type(),
            x.data.len(),
            start.elapsed()
        );
        assert_eq!(x.data.len(), info.n_elements());
        for s in t["samples"].as_array().unwrap() {
            let i = s[0].as_u64().unwrap() as usize;
            let want = s[1].as_f64().unwrap() as f32;
            assert_eq!(
                x.data[i].to_bits(),
                want.to_bits(),
                "{name}[{i}]: {} vs {want}",
                x.data[i]
            );
        }
        let sum: f64 = x.data.iter().map(|&v| f64::from(v)).sum();
        let sum_sq: f64 = x.data.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        let (want_sum, want_sq) = (t["sum"].as_f64().unwrap(), t["sum_sq"].as_f64().unwrap());
        // Summation order differs from numpy's pairwise sum: compare to 1e-9 relative.
        assert!(
            (sum - want_sum).abs() <= 1e-9 * want_sq.sqrt() * (x.data.len() as f64).sqrt(),
            "{name} sum {sum} vs {want_sum}"
        );
        assert!(
            (sum_sq - want_sq).abs() <= 1e-9 * want_sq,
            "{name} sum_sq {sum_sq} vs {want_sq}"
        );
    }
}

#[test]
fn gemma3_every_tensor_dequantises_to_finite_values() {
    let Some(path) = gemma_path() else { return };
    let file = GgufFile::open(&path).unwrap();
    let start = Instant::now();
    let mut total = 0usize;
    for info in file.tensors() {
        let x = file.tensor_f32(info.name()).unwrap();
        assert_eq!(x.data.len(), x.shape.iter().product::<usize>());
        assert!(
            x.data.iter().all(|v| v.is_finite()),
            "{} has non-finite values",
            info.name()
        );
        total += x.data.len();
    }
    eprintln!("dequantised {total} values in {:?}", start.elapsed());
}
