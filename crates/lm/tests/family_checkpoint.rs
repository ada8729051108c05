//! Every family round-trips through this crate's checkpoint folder (`config.json` with its
//! family, `model.safetensors`, and `lora.json` when adapters are attached) bit-exactly.

mod common;

use std::path::PathBuf;

use common::*;
use lm::checkpoint::{load_language_model, load_model, load_pretrained, save_language_model};
use lm::lora::{LoraConfig, LoraInit, LoraModel};
use lm::{CausalLm, LanguageModel};

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

const FOLDERS: [&str; 9] = [
    "families/llama3-tiny",
    "families/smollm-tiny",
    "families/llama-linear-bias",
    "families/llama-dynamic",
    "families/mistral-tiny",
    "families/qwen2-tiny",
    "families/qwen3-tiny",
    "families/qwen2-sharded-bf16",
    "gemma3-tiny",
];

fn bits(m: &LanguageModel) -> Vec<u32> {
    let dev = device();
    let ids = ints(
        &[vec![3, 17, 9, 44, 101, 5, 60], vec![0, 0, 8, 21, 77, 90, 2]],
        &dev,
    );
    let mask = ints(&[vec![1; 7], vec![0, 0, 1, 1, 1, 1, 1]], &dev);
    floats(m.logits(ids, mask))
        .into_iter()
        .map(f32::to_bits)
        .collect()
}

fn round_trip(m: &LanguageModel) -> LanguageModel {
    let dir = tempfile::tempdir().unwrap();
    save_language_model(m, dir.path()).unwrap();
    load_language_model(dir.path(), &device()).unwrap()
}

#[test]
fn every_family_round_trips_bit_exactly() {
    for name in FOLDERS {
        let m = load_pretrained(&fixture(name), &device()).unwrap().model;
        let back = round_trip(&m);
        assert_eq!(bits(&back), bits(&m), "{name}");
        match (&m, &back) {
            (LanguageModel::Transformer(a), LanguageModel::Transformer(b)) => {
                assert_eq!(a.config, b.config, "{name}")
            }
            (LanguageModel::Gemma3(a), LanguageModel::Gemma3(b)) => {
                assert_eq!(a.config, b.config, "{name}")
            }
            _ => panic!("{name}: family changed"),
        }
    }
}

/// A Transformer folder written for the enum is still an ordinary `load_model` folder.
#[test]
fn transformer_folders_stay_readable_by_load_model() {
    let m = load_pretrained(&fixture("families/qwen3-tiny"), &device())
        .unwrap()
        .model;
    let dir = tempfile::tempdir().unwrap();
    save_language_model(&m, dir.path()).unwrap();
    let t = load_model(dir.path(), &device()).unwrap();
    assert_eq!(bits(&LanguageModel::Transformer(t)), bits(&m));
}

/// With adapters attached, `lora.json` is written and the adapters come back (attached,
/// base frozen) with identical outputs; saving without adapters removes a stale `lora.json`.
#[test]
fn adapters_round_trip_with_the_model() {
    for name in ["families/mistral-tiny", "gemma3-tiny"] {
        let m = load_pretrained(&fixture(name), &device()).unwrap().model;
        let cfg = LoraConfig::new(3, 6.0)
            .with_all_targets()
            .with_init(LoraInit::Random)
            .with_seed(7);
        let adapted = m.with_lora(&cfg).unwrap();
        let dir = tempfile::tempdir().unwrap();
        save_language_model(&adapted, dir.path()).unwrap();
        assert!(dir.path().join("lora.json").is_file());
        let back = load_language_model(dir.path(), &device()).unwrap();
        assert_eq!(back.lora_config(), Some(&cfg), "{name}");
        assert_eq!(bits(&back), bits(&adapted), "{name}");
        let merged = back.merge_lora();
        save_language_model(&merged, dir.path()).unwrap();
        assert!(!dir.path().join("lora.json").exists());
        assert!(
            load_language_model(dir.path(), &device())
                .unwrap()
                .lora_config()
                .is_none()
        );
    }
}

#[test]
fn unknown_family_is_an_error_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"family": "mamba"}"#).unwrap();
    let err = load_language_model(dir.path(), &device())
        .unwrap_err()
        .to_string();
    assert!(err.contains("family") && err.contains("mamba"), "{err}");
}
