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

impl InlineSft {
    /// The examples' short SFT recipe: the architecture of `examples/sft.rs` (4 096-token BPE,
    /// Llama-style 4 × 256), 90 steps of 16 sequences ≤ 192 tokens, lr 2e-3.
    pub fn small(seed: u64) -> Self {
        Self {
            vocab: 4096,
            d_model: 256,
            layers: 4,
            heads: 4,
            kv_heads: 2,
            d_ff: 768,
            max_len: 192,
            batch: 16,
            steps: 90,
            lr: 2e-3,
            warmup: 10,
            save_every: 30,
            seed,
        }
    }
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
    let (model, report) = finetune_sft(cfg, model, &tokenizer, &examples, dir, device)?;
    let model_dir = dir.join("model");
    save_model(&model.valid(), &model_dir)?;
    tokenizer.save(model_dir.join("tokenizer.json"))?;
    Ok(InlineSftOutput {
        model,
        tokenizer,
        model_dir,
        report,
    })
}

/// SFT of `model` (on the autodiff device) on `examples` with `cfg`'s data and schedule
/// (`max_len`, `batch`, `steps`, `lr`, `warmup`, `save_every`, `seed`), checkpointed in
/// `dir` (an interrupted run resumes). Returns the trained model and the tokenisation
/// report. `device` is the inner (non-autodiff) device.
pub fn finetune_sft(
    cfg: &InlineSft,
    model: Transformer,
    tokenizer: &Tokenizer,
    examples: &[SftExample],
    dir: &Path,
    device: &Device,
) -> Result<(Transformer, SftDataReport), Box<dyn std::error::Error>> {
    let data_cfg = SftDataConfig {
        max_len: cfg.max_len,
        completion_only_loss: true,
        batch_size: cfg.batch,
        seed: cfg.seed,
    };
    let (seqs, report) = tokenize_examples(examples, tokenizer, &data_cfg)?;
    let data = SftBatches::new(seqs, tokenizer.pad_id(), &data_cfg);
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
    Ok((out.model, report))
}

/// The first complete SFT folder of `candidates` (weights, config and tokenizer), loaded on
/// `ad` (the autodiff device), else a model trained inline with `cfg` on `pairs` into
/// `inline_dir` (whose `model/` is tried first, so a rerun reuses it). Returns the model, its
/// tokenizer and a line saying where it came from.
pub fn load_or_train_sft(
    candidates: &[PathBuf],
    cfg: &InlineSft,
    pairs: &[HhPair],
    inline_dir: &Path,
    ad: &Device,
) -> Result<(Transformer, Tokenizer, String), Box<dyn std::error::Error>> {
    use lm::checkpoint::{CONFIG_FILE, WEIGHTS_FILE, load_model};
    let special = SpecialTokens::default();
    let inline_model = inline_dir.join("model");
    for dir in candidates.iter().chain(std::iter::once(&inline_model)) {
        let complete = [WEIGHTS_FILE, CONFIG_FILE, "tokenizer.json"]
            .iter()
            .all(|f| dir.join(f).is_file());
        if complete {
            let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"), &special)?;
            let model = load_model(dir, ad)?;
            let source = format!(
                "loaded from {} ({} parameters)",
                dir.display(),
                model.config.num_params()
            );
            return Ok((model, tokenizer, source));
        }
    }
    println!(
        "no SFT model found: training one inline ({} steps) into {}",
        cfg.steps,
        inline_dir.display()
    );
    let t = std::time::Instant::now();
    let out = train_inline_sft(cfg, pairs, inline_dir, &ad.clone().without_autodiff())?;
    let source = format!(
        "trained inline: {} steps of SFT in {:.0} s ({} parameters), saved in {}",
        cfg.steps,
        t.elapsed().as_secs_f64(),
        out.model.config.num_params(),
        out.model_dir.display()
    );
    Ok((out.model, out.tokenizer, source))
}
