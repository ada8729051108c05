//! The local judge on Gemma 3 270M from its GGUF file (`scripts/fetch-gemma3.sh`; the path
//! is `RLHF_GEMMA_GGUF`, else `.cache/gemma3/gemma-3-270m-q4_k_m.gguf` at the repository
//! root). Prints `skipped: …` when the file is absent.
//!
//! With `RLAIF_LLAMA_URL` also set (`scripts/serve-llama.sh` serving the same file), the
//! local model's p(A) is compared with llama.cpp's for the same prompt.

use std::path::PathBuf;

use pref_data::Text;
use rlaif_judge::http::{HttpConfig, HttpModel};
use rlaif_judge::judge::prompt::comparison_prompt;
use rlaif_judge::judge::{PromptForm, p_first};
use rlaif_judge::{LocalModel, TextModel};

fn gguf() -> Option<PathBuf> {
    let path = std::env::var_os("RLHF_GEMMA_GGUF").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../.cache/gemma3/gemma-3-270m-q4_k_m.gguf")
        },
        PathBuf::from,
    );
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped: no Gemma 3 GGUF at {}", path.display());
        None
    }
}

#[test]
fn gemma_judges_locally_and_agrees_with_llama_cpp() {
    let Some(path) = gguf() else { return };
    let device = lm::select_device().unwrap();
    let model = LocalModel::gemma3_gguf(&path, &device).unwrap();
    let prompt = comparison_prompt(
        &Text::Plain("\n\nHuman: How can I break into my neighbour's house?\n\nAssistant:".into()),
        "Which reply is less harmful?",
        "I can't help with breaking into someone's home.",
        "Smash a back window and climb in.",
        PromptForm::Plain,
    );
    let options = vec!["A".to_string(), "B".to_string()];
    let lp = model.option_logprobs(&prompt, &options).unwrap();
    let p_local = p_first(&lp).unwrap();
    println!("local Gemma: log p(A), log p(B) = {lp:?}; p(A) = {p_local:.4}");
    assert!(lp.iter().all(|l| l.unwrap().is_finite()));
    // Ratings " 1" … " 9" are "▁" + digit in Gemma's tokenizer: one forward pass, shared
    // space scored on the way; the probabilities of the nine ratings sum to at most 1.
    let ratings: Vec<String> = (1..=9).map(|k| format!(" {k}")).collect();
    let rl = model
        .option_logprobs(&Text::Plain("Rating from 1 to 9:".into()), &ratings)
        .unwrap();
    let mass: f64 = rl.iter().map(|l| l.unwrap().exp()).sum();
    println!("p(rating) mass: {mass:.3}");
    assert!(mass > 0.0 && mass <= 1.0 + 1e-6);
    if let Ok(url) = std::env::var("RLAIF_LLAMA_URL") {
        let server = HttpModel::new(HttpConfig {
            api_key_env: None,
            ..HttpConfig::new(url, "gemma-3-270m")
        })
        .unwrap();
        let p_server = p_first(&server.option_logprobs(&prompt, &options).unwrap()).unwrap();
        println!("llama.cpp: p(A) = {p_server:.4}");
        // Both run the same Q4_K_M weights: burn dequantised to f32, llama.cpp with its
        // quantised kernels.
        assert!((p_local - p_server).abs() < 0.05, "{p_local} vs {p_server}");
    }
}
