//! [`run`]: a whole SFT run from an [`SftRunConfig`] — data, model (loaded or built from
//! scratch with a freshly trained tokenizer), validation perplexity before and after, the
//! trained model and a report.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use lm::tokenizer::{SpecialTokens, Tokenizer};
use lm::{LanguageModel, Transformer};
use pref_data::formats::{Mode, ReadOptions, read_completions};
use pref_data::{ChatTemplate, CompletionExample, PipelineError, SplitFractions, Text};
use pref_data::{read_hh, split_by_prompt_text};
use serde::Serialize;

use super::data::{SftBatch, SftBatches, SftDataConfig, SftExample, tokenize_examples};
use super::method::Sft;
use super::run_config::{SFT_DEFAULT_LR, SftFormat, SftRunConfig, SftRunData};
use crate::run_error::{RunError, create_dir, load_model, save_model_dir, write_report};
use crate::train::{BatchSource, MetricName, evaluate, train};

/// What an SFT run did; also written to `<out>/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct SftReport {
    /// The run folder.
    pub run_dir: PathBuf,
    /// The trained model's folder (`<out>/model`), loadable by
    /// [`lm::checkpoint::load_bundle`].
    pub model_dir: PathBuf,
    /// Training examples kept after tokenisation.
    pub train_examples: usize,
    /// Held-out examples (0 without a held-out split).
    pub valid_examples: usize,
    /// What the reader skipped.
    pub read_report: String,
    /// Examples whose prompt or completion was cut (training split).
    pub truncated: usize,
    /// Examples dropped because no completion token was left (training split).
    pub dropped: usize,
    /// Optimizer steps in total.
    pub steps: usize,
    /// The step the run resumed from (0 for a fresh run).
    pub resumed_from: usize,
    /// Held-out perplexity of the initial model (NaN without a held-out split).
    pub perplexity_before: f64,
    /// The same after training.
    pub perplexity_after: f64,
    /// Parameters of the model.
    pub parameters: usize,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// Runs SFT as `config` says on `device` (the plain device): validates the config, reads
/// and splits the data, loads `config.model` (or trains a byte-level BPE on the training
/// texts and builds `config.scratch`; a rerun reuses `<out>/tokenizer.json`), renders
/// conversations with the model's chat template, tokenises with TRL's truncation, trains
/// with the shared loop (checkpoints, `metrics.jsonl`, `curves.png` in `config.out`,
/// resumed when the folder holds checkpoints), and saves the model with its tokenizer in
/// `<out>/model` and the report in `<out>/report.json`.
///
/// ```no_run
/// use policy_opt::sft::{SftRunConfig, run};
/// let mut config = SftRunConfig::default();           // TRL's defaults, model from scratch
/// config.data.path = "sft.jsonl".into();
/// let report = run(&config, &lm::select_device()?)?;
/// println!("perplexity {:.1} → {:.1}", report.perplexity_before, report.perplexity_after);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(config: &SftRunConfig, device: &Device) -> Result<SftReport, RunError> {
    config.validate()?;
    let t0 = Instant::now();
    let train_cfg = &config.train;
    let (records, read_report) = read_records(&config.data)?;
    let fractions = SplitFractions {
        valid: config.data.valid_fraction,
        test: 0.0,
    };
    let splits = split_by_prompt_text(records, |e| &e.prompt, fractions, train_cfg.seed);
    create_dir(&config.out)?;
    let (model, tokenizer, template, add_bos, tokenizer_config) = match &config.model {
        Some(path) => {
            let (b, template) = load_model(path, device)?;
            (
                b.model,
                b.tokenizer,
                template,
                b.add_bos,
                b.tokenizer_config,
            )
        }
        None => {
            let train_texts = render(&splits.train, &ChatTemplate::Plain)?;
            let tokenizer = scratch_tokenizer(config, &train_texts, &config.out)?;
            let cfg = config.scratch.transformer_config(tokenizer.vocab_size());
            let model = Transformer::new(&cfg, train_cfg.seed, &device.clone().autodiff())?;
            let model = LanguageModel::Transformer(model);
            (model, tokenizer, ChatTemplate::Plain, true, None)
        }
    };
    let data_cfg = SftDataConfig {
        max_len: config.data.max_len,
        completion_only_loss: config.data.completion_only_loss,
        batch_size: train_cfg.batch_size,
        seed: train_cfg.seed,
    };
    // BOS once: `tokenize_examples` prepends it, so a template that writes it gives it up,
    // and a model without one (`add_bos = false`) loses it again.
    let bos = tokenizer.special_tokens().bos.clone();
    let tokenize = |records: &[CompletionExample]| -> Result<_, RunError> {
        let examples: Vec<SftExample> = render(records, &template)?
            .into_iter()
            .map(|mut e| {
                if let Some(rest) = e.prompt.strip_prefix(bos.as_str()) {
                    e.prompt = rest.to_string();
                }
                e
            })
            .collect();
        let (mut seqs, report) = tokenize_examples(&examples, &tokenizer, &data_cfg)?;
        if !add_bos {
            for s in &mut seqs {
                s.ids.remove(0);
                s.loss_mask.remove(0);
            }
        }
        Ok((seqs, report))
    };
    let (train_seqs, train_rep) = tokenize(&splits.train)?;
    let (valid_seqs, _) = tokenize(&splits.valid)?;
    if train_seqs.is_empty() {
        return Err(RunError::Data(PipelineError::Empty {
            path: config.data.path.clone(),
            what: format!(
                "no training example left after the split and tokenisation ({train_rep:?})"
            ),
        }));
    }
    let (train_examples, valid_examples) = (train_seqs.len(), valid_seqs.len());
    let pad = tokenizer.pad_id();
    let train_data = SftBatches::new(train_seqs, pad, &data_cfg);
    let valid_data = (!valid_seqs.is_empty()).then(|| SftBatches::new(valid_seqs, pad, &data_cfg));
    let method = Sft::<LanguageModel>::new();
    let perplexity = |model: &LanguageModel| -> Result<f64, RunError> {
        let Some(v) = &valid_data else {
            return Ok(f64::NAN);
        };
        let values = evaluate(&method, model, v, None, device)?;
        Ok(find(&values, "perplexity"))
    };
    let parameters = model.num_base_params();
    let perplexity_before = perplexity(&model.valid())?;
    let valid_source = valid_data
        .as_ref()
        .map(|v| v as &dyn BatchSource<Batch = SftBatch>);
    let outcome = train(
        &method,
        model,
        &train_data,
        valid_source,
        &train_cfg.trainer_config(SFT_DEFAULT_LR),
        &config.out,
        device,
    )?;
    let trained = outcome.model.valid();
    let perplexity_after = perplexity(&trained)?;
    let model_dir = save_model_dir(
        &trained,
        &tokenizer,
        add_bos,
        tokenizer_config.as_deref(),
        &config.out,
    )?;
    let report = SftReport {
        run_dir: config.out.clone(),
        model_dir,
        train_examples,
        valid_examples,
        read_report,
        truncated: train_rep.truncated,
        dropped: train_rep.dropped_empty,
        steps: train_cfg.steps,
        resumed_from: outcome.resumed_from,
        perplexity_before,
        perplexity_after,
        parameters,
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_report(&report, &config.out.join("report.json"))?;
    Ok(report)
}

fn find(values: &[(MetricName, f64)], key: &str) -> f64 {
    values
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(f64::NAN, |x| x.1)
}

/// The records of the data file: prompt-completion records, or HH pairs as (prompt,
/// chosen reply).
fn read_records(data: &SftRunData) -> Result<(Vec<CompletionExample>, String), RunError> {
    let mode = if data.strict {
        Mode::Strict
    } else {
        Mode::Lenient
    };
    let read_err = |e| RunError::Data(PipelineError::Read(e));
    let (mut records, report) = match data.format {
        SftFormat::PromptCompletion => {
            let (r, rep) = read_completions(&data.path, &ReadOptions::default().mode(mode))
                .map_err(read_err)?;
            (r, rep.to_string())
        }
        SftFormat::Hh => {
            let (pairs, rep) =
                read_hh(&data.path, &ReadOptions::default().mode(mode)).map_err(read_err)?;
            let r = pairs
                .into_iter()
                .map(|p| CompletionExample {
                    prompt: Text::Plain(p.prompt),
                    completion: Text::Plain(p.chosen),
                })
                .collect();
            (r, rep.to_string())
        }
    };
    if data.max_records > 0 {
        records.truncate(data.max_records);
    }
    if records.is_empty() {
        return Err(RunError::Data(PipelineError::Empty {
            path: data.path.clone(),
            what: format!("no valid record ({report})"),
        }));
    }
    Ok((records, report))
}

/// Prompt and completion strings of `records` under `template` (plain strings unchanged).
fn render(
    records: &[CompletionExample],
    template: &ChatTemplate,
) -> Result<Vec<SftExample>, RunError> {
    records
        .iter()
        .map(|r| -> Result<SftExample, RunError> {
            let (prompt, completion) = template.render_pair(&r.prompt, &r.completion)?;
            Ok(SftExample { prompt, completion })
        })
        .collect()
}

/// `<out>/tokenizer.json` when a previous run left one (its checkpoints were trained with
/// it), else a byte-level BPE trained on the training texts and saved there.
fn scratch_tokenizer(
    config: &SftRunConfig,
    texts: &[SftExample],
    out: &Path,
) -> Result<Tokenizer, RunError> {
    let special = SpecialTokens::default();
    let path = out.join("tokenizer.json");
    if path.is_file() {
        return Ok(Tokenizer::from_file(&path, &special)?);
    }
    let corpus = texts
        .iter()
        .map(|e| format!("{}{}", e.prompt, e.completion));
    let tokenizer = Tokenizer::train_bpe_from_iter(corpus, config.scratch.vocab_size, &special, 2)?;
    tokenizer.save(&path)?;
    Ok(tokenizer)
}
