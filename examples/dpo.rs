//! DPO on Anthropic HH-RLHF pairs, starting from the SFT model.
//!
//! Loads the SFT model of `cargo run --release --example sft` (`runs/sft/model/`), or, if
//! there is none, trains a shorter SFT inline (same model and tokenizer settings) into
//! `<out>/sft/`. Then DPO (TRL's sigmoid loss by default) on the training pairs, with the
//! SFT model as the frozen reference — its log-probs precomputed once and cached in
//! `<out>/ref_logps_{train,valid}.json` (`--reference frozen` runs it alongside instead).
//! Reports, on held-out pairs whose prompts the training never saw: reward accuracy and
//! margins before and after, the loss, how often the policy's own log-prob ranks the chosen
//! reply first, the KL to the reference (k3 estimate on completions sampled from the policy),
//! and a few replies of both models.
//!
//! ```text
//! cargo run --release --example dpo                 # ≈ 10 min on 2 CPU cores (SFT inline)
//! cargo run --release --example dpo -- --help       # every setting
//! ```
//!
//! Writes `<out>/metrics.jsonl`, `<out>/curves.png` (loss, reward accuracy, margins, ...),
//! `<out>/checkpoints/`, `<out>/model/` and `<out>/report.json`. Run again with the same
//! `--out` to resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use clap::Parser;

#[path = "common/inline_sft.rs"]
mod inline_sft;
use inline_sft::{InlineSft, train_inline_sft};
use lm::checkpoint::{load_model, save_model};
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{GenerationConfig, SamplingConfig, Transformer, generate, select_device};
use policy_opt::dpo::{
    Dpo, DpoBatches, DpoLossConfig, DpoLossType, ReferenceCache, sampled_kl, train_dpo,
};
use policy_opt::train::{LrSchedule, TrainerConfig, evaluate};
use pref_data::{
    BatchConfig, BatchSource, ChatTemplate, HhPair, Mode, PairBatches, PreferencePair,
    SplitFractions, TokenizeConfig, locate_hh, read_hh, split_by_prompt, tokenize_pairs,
};

#[derive(Parser, Debug)]
#[command(about = "DPO on HH-RLHF pairs from the SFT model")]
struct Args {
    /// HH-RLHF file or folder (default: ../shared/data/hh-rlhf/, else the Hugging Face hub).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output folder.
    #[arg(long, default_value = "runs/dpo")]
    out: PathBuf,
    /// SFT model folder (`model.safetensors`, `config.json`, `tokenizer.json`). Default:
    /// `runs/sft/model` if present, else a short SFT is trained into `<out>/sft/`.
    #[arg(long)]
    sft: Option<PathBuf>,
    /// Held-out share of prompts (the SFT example's split with the same seed).
    #[arg(long, default_value_t = 0.1)]
    valid_fraction: f64,
    #[arg(long, default_value_t = 0)]
    seed: u64,

    // Inline SFT (only when no SFT model exists): the sft example's model, fewer steps.
    #[arg(long, default_value_t = 4096)]
    sft_vocab: usize,
    #[arg(long, default_value_t = 4)]
    sft_layers: usize,
    #[arg(long, default_value_t = 256)]
    sft_d_model: usize,
    #[arg(long, default_value_t = 4)]
    sft_heads: usize,
    #[arg(long, default_value_t = 2)]
    sft_kv_heads: usize,
    #[arg(long, default_value_t = 768)]
    sft_d_ff: usize,
    #[arg(long, default_value_t = 192)]
    sft_max_len: usize,
    #[arg(long, default_value_t = 16)]
    sft_batch: usize,
    #[arg(long, default_value_t = 100)]
    sft_steps: usize,
    #[arg(long, default_value_t = 2e-3)]
    sft_lr: f64,

    // DPO.
    /// Loss type(s), TRL's names (`sigmoid`, `ipo`, `hinge`, `robust`, ...), comma-separated.
    #[arg(long, default_value = "sigmoid")]
    loss: String,
    /// β.
    #[arg(long, default_value_t = 0.1)]
    beta: f64,
    /// ε (cDPO / robust / ... label smoothing).
    #[arg(long, default_value_t = 0.0)]
    label_smoothing: f64,
    /// `cached`: reference log-probs computed once and read from disk; `frozen`: a frozen
    /// copy scored on every step.
    #[arg(long, default_value = "cached")]
    reference: String,
    /// Longest prompt in tokens (BOS included); longer prompts keep their end.
    #[arg(long, default_value_t = 96)]
    max_prompt_len: usize,
    /// Longest completion in tokens (EOS included).
    #[arg(long, default_value_t = 48)]
    max_completion_len: usize,
    /// Pairs per micro-batch.
    #[arg(long, default_value_t = 8)]
    batch: usize,
    #[arg(long, default_value_t = 1)]
    grad_accum: usize,
    #[arg(long, default_value_t = 200)]
    steps: usize,
    #[arg(long, default_value_t = 1e-4)]
    lr: f64,
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    #[arg(long, default_value_t = 50)]
    eval_every: usize,

    // Evaluation.
    /// Held-out prompts whose sampled completions estimate the KL.
    #[arg(long, default_value_t = 64)]
    kl_prompts: usize,
    /// Tokens sampled per KL prompt.
    #[arg(long, default_value_t = 48)]
    kl_new_tokens: usize,
    /// Replies to show.
    #[arg(long, default_value_t = 3)]
    samples: usize,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn run(args: Args) -> Res<()> {
    let t0 = Instant::now();
    let device = select_device()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = locate_hh(args.data.as_deref(), root, "harmless-base-dev.jsonl.gz")?;
    let (pairs, report) = read_hh(&path, Mode::Lenient)?;
    println!("{report}");
    let splits = split_by_prompt(
        pairs,
        |p: &HhPair| p.prompt.as_str(),
        SplitFractions {
            valid: args.valid_fraction,
            test: 0.0,
        },
        args.seed,
    );
    println!(
        "pairs: {} train, {} held out (disjoint prompts)",
        splits.train.len(),
        splits.valid.len()
    );
    std::fs::create_dir_all(&args.out)?;

    // 1. The SFT model: the policy's start and the reference.
    let t_sft = Instant::now();
    let (tokenizer, sft_dir, sft_trained) = sft_model(&args, &splits.train, &device)?;
    let sft_secs = t_sft.elapsed().as_secs_f64();
    // The policy starts from the SFT weights; the reference is a frozen copy of them.
    let ad = device.clone().autodiff();
    let policy = load_model(&sft_dir, &ad)?;
    let sft = policy.valid();
    println!(
        "SFT model: {} ({} parameters){}",
        sft_dir.display(),
        sft.config.num_params(),
        if sft_trained {
            format!(", trained inline in {sft_secs:.0} s")
        } else {
            String::new()
        }
    );

    // 2. Pairs → tokens → [2B, T] batches.
    let tok_cfg = TokenizeConfig {
        max_prompt_len: args.max_prompt_len,
        max_completion_len: args.max_completion_len,
        add_bos: true,
        add_eos: true,
    };
    let to_pairs =
        |v: &[HhPair]| -> Vec<PreferencePair> { v.iter().cloned().map(Into::into).collect() };
    let template = ChatTemplate::Plain;
    let (train_tok, train_rep) =
        tokenize_pairs(&to_pairs(&splits.train), &tokenizer, &template, &tok_cfg)?;
    let (valid_tok, valid_rep) =
        tokenize_pairs(&to_pairs(&splits.valid), &tokenizer, &template, &tok_cfg)?;
    println!("tokenised: train {train_rep}; held out {valid_rep}");
    let batch_cfg = BatchConfig {
        batch_size: args.batch,
        seed: args.seed,
        ..BatchConfig::default()
    };
    let pad = tokenizer.pad_id();
    let train_pairs = PairBatches::new(train_tok, pad, &batch_cfg)?;
    let valid_pairs = PairBatches::new(valid_tok, pad, &batch_cfg)?;
    println!(
        "train: {} pairs in {} batches, {} tokens per epoch (chosen + rejected)",
        train_pairs.pairs().len(),
        train_pairs.len(),
        train_pairs.tokens()
    );

    // 3. Reference log-probs.
    let types: Vec<DpoLossType> = args
        .loss
        .split(',')
        .map(|s| serde_json::from_value(serde_json::Value::String(s.trim().into())))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--loss {:?}: {e}", args.loss))?;
    let loss = DpoLossConfig::new(types)
        .with_beta(args.beta)
        .with_label_smoothing(args.label_smoothing)
        .init()?;
    let t_ref = Instant::now();
    let (method, train_data, valid_data) = match args.reference.as_str() {
        "cached" => {
            let load = |name: &str, data: &PairBatches| -> Res<ReferenceCache> {
                let path = args.out.join(name);
                let (cache, computed) =
                    ReferenceCache::load_or_compute(&path, &sft, data, &device)?;
                println!(
                    "reference log-probs: {} {} ({} pairs)",
                    if computed {
                        "computed into"
                    } else {
                        "read from"
                    },
                    path.display(),
                    cache.len()
                );
                Ok(cache)
            };
            let train_cache = load("ref_logps_train.json", &train_pairs)?;
            let valid_cache = load("ref_logps_valid.json", &valid_pairs)?;
            (
                Dpo::new(loss),
                DpoBatches::with_cache(train_pairs, train_cache)?,
                DpoBatches::with_cache(valid_pairs, valid_cache)?,
            )
        }
        "frozen" => (
            Dpo::with_frozen_reference(loss, &sft),
            DpoBatches::new(train_pairs),
            DpoBatches::new(valid_pairs),
        ),
        other => return Err(format!("--reference: expected cached or frozen, got {other}").into()),
    };
    let ref_secs = t_ref.elapsed().as_secs_f64();

    // 4. Held-out figures before.
    let before = held_out(&method, &sft, &valid_data, &device)?;
    println!("held out before: {}", before.line());

    // 5. DPO.
    let trainer = TrainerConfig {
        total_steps: args.steps,
        grad_accum: args.grad_accum,
        schedule: LrSchedule::cosine(args.lr, args.warmup.min(args.steps), args.steps, 0.1),
        eval_every: args.eval_every,
        save_every: args.eval_every,
        seed: args.seed,
        log_every: 10,
        ..TrainerConfig::default()
    };
    let t_train = Instant::now();
    let outcome = train_dpo(
        &method,
        policy,
        &train_data,
        Some(&valid_data),
        &trainer,
        &args.out,
        &device,
    )?;
    let train_secs = t_train.elapsed().as_secs_f64();
    let trained = outcome.model.valid();
    save_model(&trained, &args.out.join("model"))?;
    tokenizer.save(args.out.join("model").join("tokenizer.json"))?;

    // 6. Held-out figures after, KL to the reference, samples.
    let after = held_out(&method, &trained, &valid_data, &device)?;
    println!(
        "held out after {} steps ({} run now, {train_secs:.0} s): {}",
        args.steps,
        args.steps - outcome.resumed_from,
        after.line()
    );
    let reference = sft.valid();
    let valid_pairs = valid_data.pair_batches();
    let prompts: Vec<&[u32]> = valid_pairs
        .pairs()
        .iter()
        .take(args.kl_prompts.max(args.samples))
        .map(|p| p.prompt.as_slice())
        .collect();
    let infer = device.clone().without_autodiff();
    let kl_cfg = GenerationConfig {
        sampling: SamplingConfig::sample(1.0),
        eos_token_ids: vec![tokenizer.eos_id()],
        pad_token_id: pad,
        seed: args.seed,
        ..GenerationConfig::new(args.kl_new_tokens)
    };
    let kl_prompts = &prompts[..args.kl_prompts.min(prompts.len())];
    let (ids, mask) = left_pad(kl_prompts, pad, &infer);
    let gen_policy = generate(&trained, ids.clone(), mask.clone(), &kl_cfg)?;
    let kl = sampled_kl(&trained, &reference, &gen_policy)?;
    let gen_ref = generate(&reference, ids, mask, &kl_cfg)?;
    let kl_sft = sampled_kl(&reference, &reference, &gen_ref)?;
    println!(
        "KL(policy ‖ reference), k3 on {} sampled held-out completions ({} tokens): \
         {:.4} nats/token, {:.3} nats/completion (SFT against itself: {:.1e})",
        kl_prompts.len(),
        kl.tokens,
        kl.per_token,
        kl.per_sequence,
        kl_sft.per_token
    );

    let show_cfg = GenerationConfig {
        sampling: SamplingConfig {
            temperature: 0.7,
            top_k: Some(50),
            top_p: 0.95,
        },
        max_new_tokens: 48,
        ..kl_cfg.clone()
    };
    let shown = &prompts[..args.samples.min(prompts.len())];
    let (ids, mask) = left_pad(shown, pad, &infer);
    let g_sft = generate(&reference, ids.clone(), mask.clone(), &show_cfg)?;
    let g_dpo = generate(&trained, ids, mask, &show_cfg)?;
    let mut samples = Vec::new();
    for (k, p) in shown.iter().enumerate() {
        let prompt = tokenizer.decode(p, true)?;
        let tail: String = {
            let c: Vec<char> = prompt.chars().collect();
            c[c.len().saturating_sub(160)..].iter().collect()
        };
        let sft_reply = tokenizer.decode(&g_sft.completions[k], true)?;
        let dpo_reply = tokenizer.decode(&g_dpo.completions[k], true)?;
        println!(
            "\n--- …{}\nSFT >>> {}\nDPO >>> {}",
            tail.trim_start(),
            sft_reply.trim(),
            dpo_reply.trim()
        );
        samples.push(serde_json::json!({"prompt_tail": tail, "sft": sft_reply, "dpo": dpo_reply}));
    }

    let wall = t0.elapsed().as_secs_f64();
    let report = serde_json::json!({
        "example": "dpo",
        "device": format!("{device:?}"),
        "seed": args.seed,
        "args": format!("{args:?}"),
        "sft": {"dir": sft_dir, "trained_inline": sft_trained, "seconds": sft_secs,
                "params": sft.config.num_params()},
        "data": {"train_pairs": train_data.pair_batches().pairs().len(),
                 "held_out_pairs": valid_pairs.pairs().len()},
        "loss": method.loss().config(),
        "reference": args.reference,
        "reference_seconds": ref_secs,
        "held_out_before": before.json(),
        "held_out_after": after.json(),
        "kl_k3": {"prompts": kl_prompts.len(), "tokens": kl.tokens,
                  "per_token": kl.per_token, "per_completion": kl.per_sequence},
        "train_seconds": train_secs,
        "steps": args.steps,
        "resumed_from": outcome.resumed_from,
        "wall_seconds": wall,
        "samples": samples,
    });
    std::fs::write(
        args.out.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    println!(
        "\nreport: {}; curves: {}\ndone in {wall:.0} s",
        args.out.join("report.json").display(),
        args.out.join("curves.png").display()
    );
    Ok(())
}

/// Held-out figures of a policy against the reference.
struct HeldOut {
    loss: f64,
    accuracy: f64,
    margin: f64,
    chosen: f64,
    rejected: f64,
    /// Share of pairs whose chosen reply has the higher summed log-prob under the policy.
    logp_accuracy: f64,
}

impl HeldOut {
    fn line(&self) -> String {
        format!(
            "loss {:.4}, reward accuracy {:.3}, margin {:+.4} (chosen {:+.4}, rejected {:+.4}), \
             log-prob ranks chosen first {:.3}",
            self.loss, self.accuracy, self.margin, self.chosen, self.rejected, self.logp_accuracy
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({"loss": self.loss, "reward_accuracy": self.accuracy,
            "reward_margin": self.margin, "reward_chosen": self.chosen,
            "reward_rejected": self.rejected, "logp_accuracy": self.logp_accuracy})
    }
}

fn held_out(
    method: &Dpo<Transformer>,
    policy: &Transformer,
    data: &DpoBatches,
    device: &Device,
) -> Res<HeldOut> {
    let v = evaluate(method, policy, data, None, device)?;
    let get = |k: &str| v.iter().find(|(n, _)| *n == k).map_or(f64::NAN, |x| x.1);
    // The policy's own ranking, from its summed log-probs (a cache of the policy).
    let own = ReferenceCache::compute(policy, data.pair_batches(), device)?;
    let n = own.len();
    let wins = (0..n)
        .filter(|&i| own.get(i).is_some_and(|(c, r)| c > r))
        .count();
    Ok(HeldOut {
        loss: get("loss"),
        accuracy: get("rewards/accuracies"),
        margin: get("rewards/margins"),
        chosen: get("rewards/chosen"),
        rejected: get("rewards/rejected"),
        logp_accuracy: wins as f64 / n.max(1) as f64,
    })
}

/// Left-padded `[B, P]` ids and mask of token prompts.
fn left_pad(prompts: &[&[u32]], pad: u32, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let (b, p) = (
        prompts.len(),
        prompts.iter().map(|x| x.len()).max().unwrap_or(1),
    );
    let (mut ids, mut mask) = (vec![pad as i64; b * p], vec![0i64; b * p]);
    for (r, row) in prompts.iter().enumerate() {
        let off = p - row.len();
        for (j, &t) in row.iter().enumerate() {
            ids[r * p + off + j] = t as i64;
            mask[r * p + off + j] = 1;
        }
    }
    let t = |v| Tensor::<2, Int>::from_data(TensorData::new(v, [b, p]), device);
    (t(ids), t(mask))
}

/// The SFT model and its tokenizer: `--sft`, else `runs/sft/model`, else a short SFT
/// trained here into `<out>/sft/` (resumed if interrupted). Returns its tokenizer, its
/// folder and whether it was trained now.
fn sft_model(
    args: &Args,
    train_pairs: &[HhPair],
    device: &Device,
) -> Res<(Tokenizer, PathBuf, bool)> {
    let special = SpecialTokens::default();
    let inline_dir = args.out.join("sft");
    let candidates = match &args.sft {
        Some(d) => vec![d.clone()],
        None => vec![PathBuf::from("runs/sft/model"), inline_dir.join("model")],
    };
    for dir in &candidates {
        if dir.join("model.safetensors").is_file() {
            let tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"), &special)?;
            return Ok((tokenizer, dir.clone(), false));
        }
    }
    if args.sft.is_some() {
        return Err(format!(
            "--sft {}: no model.safetensors there",
            candidates[0].display()
        )
        .into());
    }
    println!(
        "no SFT model found: training one for {} steps into {}",
        args.sft_steps,
        inline_dir.display()
    );
    let cfg = InlineSft {
        vocab: args.sft_vocab,
        d_model: args.sft_d_model,
        layers: args.sft_layers,
        heads: args.sft_heads,
        kv_heads: args.sft_kv_heads,
        d_ff: args.sft_d_ff,
        max_len: args.sft_max_len,
        batch: args.sft_batch,
        steps: args.sft_steps,
        lr: args.sft_lr,
        warmup: 20.min(args.sft_steps / 5),
        save_every: 50,
        seed: args.seed,
    };
    let out = train_inline_sft(&cfg, train_pairs, &inline_dir, device)?;
    println!("SFT data: {:?}", out.report);
    Ok((out.tokenizer, out.model_dir, true))
}
