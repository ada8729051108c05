//! A short SFT run on HH pairs (prompt → chosen), for examples that need an SFT model and
//! find none on disk (included with `#[path]`).
#![allow(dead_code)] // each example uses a subset of the output

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::Device;
use lm::checkpoint::save_model;
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{Transformer, TransformerConfig};
use policy_opt::sft::{
    Sft, SftBatches, SftDataConfig, SftDataReport, SftExample, tokenize_examples,
};
use policy_opt::train::{LrSchedule, TrainerConfig, train};
use pref_data::HhPair;

/// The model, data and schedule of the inline SFT run.
pub struct InlineSft {
    pub vocab: usize,
    pub d_model: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub d_ff: usize,
    pub max_len: usize,
    pub batch: usize,
    pub steps: usize,
    pub lr: f64,
    pub warmup: usize,
    pub save_every: usize,
    pub seed: u64,
}

/// What [`train_inline_sft`] produced.
pub struct InlineSftOutput {
    /// The trained model (on the autodiff device).
    pub model: Transformer,
    pub tokenizer: Tokenizer,
    /// `dir/model`: weights, config and tokenizer, loadable with `load_model`.
    pub model_dir: PathBuf,
    pub report: SftDataReport,
}

/// Trains (or reuses, from `dir/tokenizer.json`) a byte-level BPE on the pairs' prompt +
/// chosen texts, then runs SFT on (prompt, chosen) with checkpoints in `dir` (so an
/// interrupted run resumes), and saves the model with its tokenizer in `dir/model`.
/// `device` is the inner (non-autodiff) device.
pub fn train_inline_sft(
    cfg: &InlineSft,
    pairs: &[HhPair],
    dir: &Path,
    device: &Device,
) -> Result<InlineSftOutput, Box<dyn std::error::Error>> {
    let special = SpecialTokens::default();
    std::fs::create_dir_all(dir)?;
    let examples: Vec<SftExample> = pairs
        .iter()
        .map(|p| SftExample {
            prompt: p.prompt.clone(),
            completion: p.chosen.clone(),
        })
        .collect();
    let tok_path = dir.join("tokenizer.json");
    let tokenizer = if tok_path.is_file() {
        Tokenizer::from_file(&tok_path, &special)?
    } else {
        let texts = examples
            .iter()
            .map(|e| format!("{}{}", e.prompt, e.completion));
        let t = Tokenizer::train_bpe_from_iter(texts, cfg.vocab, &special, 2)?;
        t.save(&tok_path)?;
        t
    };
    let data_cfg = SftDataConfig {
        max_len: cfg.max_len,
        completion_only_loss: true,
        batch_size: cfg.batch,
        seed: cfg.seed,
    };
    let (seqs, report) = tokenize_examples(&examples, &tokenizer, &data_cfg)?;
    let data = SftBatches::new(seqs, tokenizer.pad_id(), &data_cfg);
    let config = TransformerConfig::llama(
        tokenizer.vocab_size(),
        cfg.d_model,
        cfg.layers,
        cfg.heads,
        cfg.kv_heads,
        cfg.d_ff,
    )
    .with_max_seq_len(cfg.max_len.max(512));
    let model = Transformer::new(&config, cfg.seed, &device.clone().autodiff())?;
    let trainer = TrainerConfig {
        total_steps: cfg.steps,
        schedule: LrSchedule::cosine(cfg.lr, cfg.warmup, cfg.steps, 0.1),
        eval_every: 0,
        save_every: cfg.save_every,
        seed: cfg.seed,
        log_every: 10,
        ..TrainerConfig::default()
    };
    let out = train(
        &Sft::<Transformer>::new(),
        model,
        &data,
        None,
        &trainer,
        dir,
        device,
    )?;
    let model_dir = dir.join("model");
    save_model(&out.model.valid(), &model_dir)?;
    tokenizer.save(model_dir.join("tokenizer.json"))?;
    Ok(InlineSftOutput {
        model: out.model,
        tokenizer,
        model_dir,
        report,
    })
}
