//! Supervised fine-tuning from scratch on Anthropic HH-RLHF chosen dialogues.
//!
//! Trains a byte-level BPE tokenizer and a small Llama-style model on the prompt → chosen
//! reply pairs, reports validation perplexity before and after, and samples a few replies.
//!
//! ```text
//! cargo run --release --example sft                       # ≈ 6.5 min on 2 CPU cores
//! cargo run --release --example sft -- --data PATH --steps 400 --out runs/sft
//! ```
//!
//! Writes `<out>/tokenizer.json`, `<out>/metrics.jsonl`, `<out>/curves.png`,
//! `<out>/checkpoints/`, and the final model (`<out>/model/`: `model.safetensors`,
//! `config.json`, `tokenizer.json`). Run again with the same `--out` to resume from the
//! newest checkpoint (the saved tokenizer is reused).

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use clap::Parser;
use lm::checkpoint::save_model;
use lm::tokenizer::{EncodeOptions, PaddingSide, SpecialTokens, Tokenizer, TruncationSide};
use lm::{
    GenerationConfig, SamplingConfig, Transformer, TransformerConfig, generate, select_device,
};
use policy_opt::sft::{Sft, SftBatches, SftDataConfig, SftExample, tokenize_examples};
use policy_opt::train::{LrSchedule, TrainerConfig, evaluate, train};
use pref_data::{Mode, SplitFractions, locate_hh, read_hh, split_by_prompt};

#[derive(Parser, Debug)]
#[command(about = "SFT from scratch on HH-RLHF chosen dialogues")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "runs/sft")]
    out: PathBuf,
    /// Tokenizer vocabulary size.
    #[arg(long, default_value_t = 4096)]
    vocab: usize,
    #[arg(long, default_value_t = 4)]
    layers: usize,
    #[arg(long, default_value_t = 256)]
    d_model: usize,
    #[arg(long, default_value_t = 4)]
    heads: usize,
    #[arg(long, default_value_t = 2)]
    kv_heads: usize,
    #[arg(long, default_value_t = 768)]
    d_ff: usize,
    /// Longest training sequence in tokens.
    #[arg(long, default_value_t = 192)]
    max_len: usize,
    #[arg(long, default_value_t = 16)]
    batch: usize,
    #[arg(long, default_value_t = 1)]
    grad_accum: usize,
    #[arg(long, default_value_t = 200)]
    steps: usize,
    #[arg(long, default_value_t = 2e-3)]
    lr: f64,
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Take the loss on every token, not only on the reply.
    #[arg(long)]
    all_tokens: bool,
    #[arg(long, default_value_t = 100)]
    eval_every: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Replies to sample at the end.
    #[arg(long, default_value_t = 3)]
    samples: usize,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let t0 = Instant::now();
    let device = select_device()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let (pairs, report) = read_hh(
        &path,
        &pref_data::ReadOptions::default().mode(Mode::Lenient),
    )?;
    println!("{report}");

    let examples: Vec<SftExample> = pairs
        .into_iter()
        .map(|p| SftExample {
            prompt: p.prompt,
            completion: p.chosen,
        })
        .collect();
    let splits = split_by_prompt(
        examples,
        |e| e.prompt.as_str(),
        SplitFractions {
            valid: 0.1,
            test: 0.0,
        },
        args.seed,
    );
    println!(
        "examples: {} train, {} validation (disjoint prompts)",
        splits.train.len(),
        splits.valid.len()
    );

    std::fs::create_dir_all(&args.out)?;
    let special = SpecialTokens::default();
    // A resumed run must keep the tokenizer its checkpoints were trained with.
    let tok_path = args.out.join("tokenizer.json");
    let tokenizer = if tok_path.is_file() {
        Tokenizer::from_file(&tok_path, &special)?
    } else {
        let texts = splits
            .train
            .iter()
            .map(|e| format!("{}{}", e.prompt, e.completion));
        let tokenizer = Tokenizer::train_bpe_from_iter(texts, args.vocab, &special, 2)?;
        tokenizer.save(&tok_path)?;
        tokenizer
    };
    println!(
        "tokenizer: byte-level BPE, {} tokens ({})",
        tokenizer.vocab_size(),
        tok_path.display()
    );

    let data_cfg = SftDataConfig {
        max_len: args.max_len,
        completion_only_loss: !args.all_tokens,
        batch_size: args.batch,
        seed: args.seed,
    };
    let (train_seqs, train_report) = tokenize_examples(&splits.train, &tokenizer, &data_cfg)?;
    let (valid_seqs, valid_report) = tokenize_examples(&splits.valid, &tokenizer, &data_cfg)?;
    println!("tokenised: train {train_report:?}; validation {valid_report:?}");
    let train_data = SftBatches::new(train_seqs, tokenizer.pad_id(), &data_cfg);
    let valid_data = SftBatches::new(valid_seqs, tokenizer.pad_id(), &data_cfg);

    let config = TransformerConfig::llama(
        tokenizer.vocab_size(),
        args.d_model,
        args.layers,
        args.heads,
        args.kv_heads,
        args.d_ff,
    )
    .with_max_seq_len(args.max_len.max(512));
    let ad = device.clone().autodiff();
    let model = Transformer::new(&config, args.seed, &ad)?;
    println!(
        "model: Llama-style, {} layers, d_model {}, {} parameters; {} training tokens ({} scored) per epoch",
        args.layers,
        args.d_model,
        config.num_params(),
        train_data.tokens(),
        train_data.loss_tokens()
    );

    let method = Sft::<Transformer>::new();
    let before = evaluate(&method, &model.valid(), &valid_data, None, &device)?;
    let ppl = |v: &[(policy_opt::train::MetricName, f64)]| {
        v.iter()
            .find(|(k, _)| *k == "perplexity")
            .map_or(f64::NAN, |x| x.1)
    };
    println!("validation perplexity before: {:.1}", ppl(&before));

    let trainer = TrainerConfig {
        total_steps: args.steps,
        grad_accum: args.grad_accum,
        schedule: LrSchedule::cosine(args.lr, args.warmup, args.steps, 0.1),
        eval_every: args.eval_every,
        save_every: args.eval_every,
        seed: args.seed,
        log_every: 10,
        ..TrainerConfig::default()
    };
    let t_train = Instant::now();
    let outcome = train(
        &method,
        model,
        &train_data,
        Some(&valid_data),
        &trainer,
        &args.out,
        &device,
    )?;
    let train_secs = t_train.elapsed().as_secs_f64();
    let infer = outcome.model.valid();
    let after = evaluate(&method, &infer, &valid_data, None, &device)?;
    println!(
        "validation perplexity: {:.1} → {:.1}  ({} steps in {:.0} s)",
        ppl(&before),
        ppl(&after),
        args.steps - outcome.resumed_from,
        train_secs
    );

    let model_dir = args.out.join("model");
    save_model(&infer, &model_dir)?;
    tokenizer.save(model_dir.join("tokenizer.json"))?;
    println!(
        "saved {} and curves to {}",
        model_dir.display(),
        args.out.join("curves.png").display()
    );

    let prompts: Vec<&str> = splits
        .valid
        .iter()
        .take(args.samples)
        .map(|e| e.prompt.as_str())
        .collect();
    let opts = EncodeOptions {
        add_bos: true,
        max_length: Some(128),
        truncation: TruncationSide::Left,
        padding: PaddingSide::Left,
        ..EncodeOptions::default()
    };
    let enc = tokenizer.encode_batch(&prompts, &opts)?;
    let (b, t) = (enc.len(), enc.seq_len());
    let ids: Vec<i64> = enc.ids.iter().flatten().map(|&x| x as i64).collect();
    let mask: Vec<i64> = enc
        .attention_mask
        .iter()
        .flatten()
        .map(|&x| x as i64)
        .collect();
    let to_t = |v: Vec<i64>| {
        burn::tensor::Tensor::<2, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(v, [b, t]),
            &device,
        )
    };
    let gen_cfg = GenerationConfig {
        sampling: SamplingConfig {
            temperature: 0.7,
            top_k: Some(50),
            top_p: 0.95,
        },
        eos_token_ids: vec![tokenizer.eos_id()],
        pad_token_id: tokenizer.pad_id(),
        seed: args.seed,
        ..GenerationConfig::new(48)
    };
    let generation = generate(&infer, to_t(ids), to_t(mask), &gen_cfg)?;
    for (prompt, reply) in prompts.iter().zip(&generation.completions) {
        let tail: String = prompt
            .chars()
            .rev()
            .take(160)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        println!(
            "\n--- …{}\n>>> {}",
            tail.trim_start(),
            tokenizer.decode(reply, true)?.trim()
        );
    }
    println!("\ndone in {:.0} s", t0.elapsed().as_secs_f64());
    Ok(())
}
