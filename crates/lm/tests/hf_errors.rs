//! Hugging Face folders the loaders cannot take give errors naming the file, the field or
//! tensor, and what was expected.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use lm::checkpoint::{load_pretrained, read_generation_defaults};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/families")
        .join(name)
}

/// A copy of the fixture folder `name` with `edit` applied to its `config.json`.
fn with_config(name: &str, edit: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(fixture(name)).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    let path = dir.path().join("config.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, v.to_string()).unwrap();
    dir
}

fn error(dir: &Path) -> String {
    load_pretrained(dir, &device()).unwrap_err().to_string()
}

#[test]
fn unsupported_rope_type_names_field_and_value() {
    let dir = with_config("llama3-tiny", |v| {
        v["rope_parameters"]["rope_type"] = json!("yarn");
    });
    let err = error(dir.path());
    assert!(
        err.contains("config.json")
            && err.contains("rope_parameters.rope_type")
            && err.contains("yarn"),
        "{err}"
    );
    // Older configs: `rope_scaling` with `type`.
    let dir = with_config("llama3-tiny", |v| {
        v.as_object_mut().unwrap().remove("rope_parameters");
        v["rope_theta"] = json!(500000.0);
        v["rope_scaling"] = json!({"type": "longrope", "factor": 2.0});
    });
    let err = error(dir.path());
    assert!(
        err.contains("rope_scaling.rope_type") && err.contains("longrope"),
        "{err}"
    );
}

#[test]
fn old_style_llama3_rope_scaling_loads() {
    let dir = with_config("llama3-tiny", |v| {
        let p = v
            .as_object_mut()
            .unwrap()
            .remove("rope_parameters")
            .unwrap();
        v["rope_theta"] = p["rope_theta"].clone();
        v["rope_scaling"] = p;
    });
    load_pretrained(dir.path(), &device()).unwrap();
}

#[test]
fn bad_scaling_values_name_the_field() {
    let dir = with_config("llama3-tiny", |v| {
        v["rope_parameters"]["factor"] = json!(0.5);
    });
    let err = error(dir.path());
    assert!(
        err.contains("rope_parameters") && err.contains("factor"),
        "{err}"
    );
    let dir = with_config("llama3-tiny", |v| {
        v["rope_parameters"]["partial_rotary_factor"] = json!(0.5);
    });
    assert!(error(dir.path()).contains("partial_rotary_factor"));
}

#[test]
fn unsupported_architecture_and_model_type_are_named() {
    let dir = with_config("qwen2-tiny", |v| {
        v["architectures"] = json!(["Qwen2ForSequenceClassification"]);
    });
    let err = error(dir.path());
    assert!(
        err.contains("architectures") && err.contains("Qwen2ForSequenceClassification"),
        "{err}"
    );
    let dir = with_config("qwen2-tiny", |v| v["model_type"] = json!("phi3"));
    let err = error(dir.path());
    assert!(
        err.contains("model_type") && err.contains("phi3") && err.contains("qwen3"),
        "{err}"
    );
    let dir = with_config("qwen2-tiny", |v| v["model_type"] = json!("gemma3"));
    assert!(error(dir.path()).contains("gemma3_text"));
    let dir = with_config("qwen2-tiny", |v| v["hidden_act"] = json!("gelu"));
    assert!(error(dir.path()).contains("hidden_act"));
}

#[test]
fn missing_shard_is_named() {
    let dir = with_config("qwen2-sharded-bf16", |_| {});
    let shard = "model-00002-of-00002.safetensors";
    std::fs::remove_file(dir.path().join(shard)).unwrap();
    let err = error(dir.path());
    assert!(err.contains(shard), "{err}");
}

#[test]
fn index_outside_the_folder_is_refused() {
    let dir = with_config("qwen2-sharded-bf16", |_| {});
    let path = dir.path().join("model.safetensors.index.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["weight_map"]["model.norm.weight"] = json!("../secret.safetensors");
    std::fs::write(&path, v.to_string()).unwrap();
    let err = error(dir.path());
    assert!(
        err.contains("weight_map.model.norm.weight") && err.contains("../secret"),
        "{err}"
    );
}

#[test]
fn tensor_of_the_wrong_shape_is_named() {
    // Qwen3 with a head_dim the weights do not have.
    let dir = with_config("qwen3-tiny", |v| v["head_dim"] = json!(8));
    let err = error(dir.path());
    assert!(
        err.contains("q_proj.weight") && err.contains("expected shape"),
        "{err}"
    );
}

#[test]
fn bad_generation_config_names_file_and_field() {
    let dir = with_config("llama3-tiny", |_| {});
    std::fs::write(
        dir.path().join("generation_config.json"),
        r#"{"eos_token_id": ["</s>"]}"#,
    )
    .unwrap();
    let err = read_generation_defaults(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("generation_config.json") && err.contains("eos_token_id"),
        "{err}"
    );
}

#[test]
fn extra_tensor_is_an_error() {
    let dir = with_config("smollm-tiny", |_| {});
    let path = dir.path().join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> =
        st.tensors().into_iter().collect();
    let extra = st.tensor("model.norm.weight").unwrap();
    tensors.push(("score.weight".into(), extra));
    let out = safetensors::serialize(tensors, None).unwrap();
    std::fs::write(&path, out).unwrap();
    let err = error(dir.path());
    assert!(err.contains("score.weight"), "{err}");
}
