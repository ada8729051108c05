//! Tiny data files and model folders for the command-line tests.
#![allow(dead_code)] // each test file uses a subset

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use lm::checkpoint::save_bundle;
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{LanguageModel, Transformer, TransformerConfig};

pub fn device() -> Device {
    lm::select_device().expect("a device")
}

fn records() -> Vec<(String, String, String)> {
    (0..24)
        .map(|i| {
            let (a, b) = (i % 7, i / 7 + 1);
            (
                format!("Human: what is {a} plus {b}?\n\nAssistant:"),
                format!(" {a} plus {b} is {}.", a + b),
                " I would rather not say.".to_string(),
            )
        })
        .collect()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// A TRL pairwise file of 24 pairs.
pub fn pairs_file(dir: &Path) -> PathBuf {
    let path = dir.join("pairs.jsonl");
    let lines: Vec<String> = records()
        .iter()
        .map(|(p, c, r)| {
            format!(
                "{{\"prompt\": {}, \"chosen\": {}, \"rejected\": {}}}",
                json_string(p),
                json_string(c),
                json_string(r)
            )
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A prompt-completion file of 24 examples.
pub fn completions_file(dir: &Path) -> PathBuf {
    let path = dir.join("sft.jsonl");
    let lines: Vec<String> = records()
        .iter()
        .map(|(p, c, _)| {
            format!(
                "{{\"prompt\": {}, \"completion\": {}}}",
                json_string(p),
                json_string(c)
            )
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A byte-level BPE of 300 tokens trained on the records.
fn records_tokenizer() -> Tokenizer {
    let texts: Vec<String> = records()
        .into_iter()
        .map(|(p, c, r)| format!("{p}{c}{r}"))
        .collect();
    Tokenizer::train_bpe_from_iter(texts, 300, &SpecialTokens::default(), 1).expect("a tokenizer")
}

/// A tiny Llama-style model with a byte-level BPE trained on the records, saved as a model
/// folder of this project in `dir/model`.
pub fn model_folder(dir: &Path) -> PathBuf {
    model_folder_with_context(dir, 128)
}

/// [`model_folder`] with a context of `max_seq_len` tokens (a judge's prompts are long).
pub fn model_folder_with_context(dir: &Path, max_seq_len: usize) -> PathBuf {
    let tokenizer = records_tokenizer();
    let config = TransformerConfig::llama(tokenizer.vocab_size(), 32, 2, 4, 2, 64)
        .with_max_seq_len(max_seq_len);
    let model = Transformer::new(&config, 0, &device()).expect("a model");
    let out = dir.join("model");
    save_bundle(
        &LanguageModel::Transformer(model),
        &tokenizer,
        true,
        None,
        &out,
    )
    .expect("saved");
    out
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A TOML string literal of a path.
pub fn lit(path: &Path) -> String {
    toml_string(&path.display().to_string())
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A tiny Gemma 3 model with the records' tokenizer, saved as a folder of this project in
/// `dir/gemma`.
pub fn gemma_folder(dir: &Path) -> PathBuf {
    let tokenizer = records_tokenizer();
    let config =
        lm::Gemma3Config::new(tokenizer.vocab_size(), 32, 2, 2, 1, 16, 64).with_max_seq_len(128);
    let model = lm::Gemma3::new(&config, 0, &device()).expect("a model");
    let out = dir.join("gemma");
    save_bundle(&LanguageModel::Gemma3(model), &tokenizer, true, None, &out).expect("saved");
    out
}
