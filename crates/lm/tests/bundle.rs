//! `load_bundle` on a Hugging Face folder: the model with its tokenizer, special tokens read
//! from `tokenizer_config.json` (or, without one, from the ids in `config.json`), generation
//! through the loaded model, and the `save_bundle` → `load_bundle` round trip.

use std::path::Path;

use burn::tensor::{Int, Tensor};
use lm::checkpoint::{BundleFormat, load_bundle, save_bundle};
use lm::{CausalLm, GenerationConfig, generate, select_device};

const FAMILY: &str = "tests/fixtures/families/qwen2-tiny";

/// A word-level `tokenizer.json` over the fixture's 128 ids: `<pad>` 0, `<s>` 1, `</s>` 2
/// (the ids of the fixture's `config.json`), then `w3` … `w127`.
fn tokenizer_json() -> String {
    let mut vocab = vec![
        "\"<pad>\": 0".to_string(),
        "\"<s>\": 1".into(),
        "\"</s>\": 2".into(),
    ];
    vocab.extend((3..128).map(|i| format!("\"w{i}\": {i}")));
    format!(
        r#"{{"version":"1.0","model":{{"type":"WordLevel","vocab":{{{}}},"unk_token":"w3"}},
        "pre_tokenizer":{{"type":"WhitespaceSplit"}},"added_tokens":[]}}"#,
        vocab.join(",")
    )
}

/// The fixture's weights and config with a tokenizer, and `tokenizer_config` if given.
fn hf_folder(dir: &Path, tokenizer_config: Option<&str>) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(FAMILY);
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json()).unwrap();
    if let Some(tc) = tokenizer_config {
        std::fs::write(dir.join("tokenizer_config.json"), tc).unwrap();
    }
}

#[test]
fn special_tokens_come_from_tokenizer_config() {
    let device = select_device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Qwen-style: no pad token in the config (the config.json id is used), BOS prepended.
    hf_folder(
        dir.path(),
        Some(
            r#"{"bos_token": "<s>", "eos_token": {"content": "</s>"}, "pad_token": null, "add_bos_token": true}"#,
        ),
    );
    let b = load_bundle(dir.path(), &device).unwrap();
    assert_eq!(b.format, BundleFormat::HuggingFace);
    assert_eq!(
        (
            b.tokenizer.bos_id(),
            b.tokenizer.eos_id(),
            b.tokenizer.pad_id()
        ),
        (1, 2, 0)
    );
    assert!(b.add_bos);
    assert!(b.generation.eos_token_ids.contains(&2));
    assert_eq!(b.model.vocab_size(), 128);
    assert!(b.tokenizer_config.is_some());

    // The loaded model generates from an encoded prompt.
    let ids = b.tokenizer.encode("w10 w11 w12", b.add_bos, false).unwrap();
    assert_eq!(ids, vec![1, 10, 11, 12]);
    let n = ids.len();
    let ids: Vec<i64> = ids.into_iter().map(i64::from).collect();
    let prompt = Tensor::<2, Int>::from_data(burn::tensor::TensorData::new(ids, [1, n]), &device);
    let mask = Tensor::<2, Int>::ones([1, n], &device);
    let out = generate(&b.model, prompt, mask, &GenerationConfig::new(3)).unwrap();
    assert_eq!(out.sequences.dims(), [1, n + 3]);
}

#[test]
fn without_tokenizer_config_the_config_ids_name_the_tokens() {
    let device = select_device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    hf_folder(dir.path(), None);
    let b = load_bundle(dir.path(), &device).unwrap();
    assert_eq!(
        (
            b.tokenizer.bos_id(),
            b.tokenizer.eos_id(),
            b.tokenizer.pad_id()
        ),
        (1, 2, 0)
    );
    assert!(
        !b.add_bos,
        "no tokenizer_config.json: transformers' default add_bos_token"
    );
    assert!(b.tokenizer_config.is_none());
}

#[test]
fn a_saved_bundle_loads_back_with_the_same_tokens_and_logits() {
    let device = select_device().unwrap();
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    hf_folder(
        src.path(),
        Some(
            r#"{"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>", "add_bos_token": true}"#,
        ),
    );
    let a = load_bundle(src.path(), &device).unwrap();
    save_bundle(
        &a.model,
        &a.tokenizer,
        a.add_bos,
        a.tokenizer_config.as_deref(),
        dst.path(),
    )
    .unwrap();
    let b = load_bundle(dst.path(), &device).unwrap();
    assert_eq!(b.format, BundleFormat::Native);
    assert_eq!(
        (
            b.tokenizer.bos_id(),
            b.tokenizer.eos_id(),
            b.tokenizer.pad_id(),
            b.add_bos
        ),
        (1, 2, 0, true)
    );
    let ids = Tensor::<2, Int>::from_ints([[1, 5, 9, 40, 77]], &device);
    let mask = Tensor::<2, Int>::ones([1, 5], &device);
    let (la, lb) = (
        a.model.logits(ids.clone(), mask.clone()),
        b.model.logits(ids, mask),
    );
    let diff: f32 = (la - lb).abs().max().into_scalar();
    assert!(diff < 1e-6, "logits differ by {diff}");
}

#[test]
fn a_bad_special_token_field_names_the_file_and_field() {
    let device = select_device().unwrap();
    let dir = tempfile::tempdir().unwrap();
    hf_folder(dir.path(), Some(r#"{"eos_token": 7}"#));
    let err = load_bundle(dir.path(), &device).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer_config.json") && err.contains("eos_token"),
        "{err}"
    );
}
