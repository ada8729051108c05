//! [`run`]: a whole DPO run from a [`DpoRunConfig`] — model bundle, data pipeline,
//! reference, training, held-out figures before and after, the trained model and a report.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use lm::LanguageModel;
use lm::{GenerationConfig, SamplingConfig};
use pref_data::{
    BatchConfig, BatchSource, PairBatches, PairRunSummary, PipelineError, PromptBatches,
    held_out_prompts, load_pair_data,
};
use serde::Serialize;

use super::data::DpoBatches;
use super::eval::{SampledKl, sampled_kl};
use super::method::{Dpo, train_dpo};
use super::reference::ReferenceCache;
use super::run_config::{DPO_DEFAULT_LR, DpoRunConfig, ReferenceMode};
use crate::run_error::{
    RunError, create_dir, load_model, metric_map, save_model_dir, write_report,
};
use crate::train::{ConfigError, evaluate};

/// What a DPO run did; also written to `<out>/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct DpoReport {
    /// Run folder, model folder (loadable by [`lm::checkpoint::load_bundle`]), pair
    /// counts, reader and tokenizer reports, steps (top-level keys in the JSON).
    #[serde(flatten)]
    pub run: PairRunSummary,
    /// Held-out loss and DPO metrics (`rewards/accuracies`, `rewards/margins`, ...) of the
    /// initial policy; empty without a held-out split.
    pub before: BTreeMap<String, f64>,
    /// The same after training.
    pub after: BTreeMap<String, f64>,
    /// KL of the trained policy to the reference on completions it sampled for
    /// `kl_prompts` held-out prompts (`None` when `kl_prompts` is 0 or nothing is held out).
    pub held_out_kl: Option<SampledKl>,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

impl std::fmt::Display for DpoReport {
    /// The data, the held-out loss, reward accuracy and margin before and after, and the
    /// held-out sampled KL, one fact per line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.run;
        writeln!(
            f,
            "{}\ntokenised (train): {}",
            r.read_report, r.tokenize_report
        )?;
        writeln!(
            f,
            "pairs: {} train, {} held out (disjoint prompts)",
            r.train_pairs, r.valid_pairs
        )?;
        let line = |m: &BTreeMap<String, f64>| {
            let get = |k: &str| m.get(k).copied().unwrap_or(f64::NAN);
            format!(
                "loss {:.4}, reward accuracy {:.3}, margin {:+.4}",
                get("loss"),
                get("rewards/accuracies"),
                get("rewards/margins")
            )
        };
        writeln!(f, "held out before: {}", line(&self.before))?;
        write!(
            f,
            "held out after {} steps ({:.0} s): {}",
            r.steps,
            self.seconds,
            line(&self.after)
        )?;
        if let Some(kl) = &self.held_out_kl {
            write!(
                f,
                "\nKL(policy ‖ reference), k3 on sampled held-out completions ({} tokens): \
                 {:.4} nats/token, {:.3} nats/completion",
                kl.tokens, kl.per_token, kl.per_sequence
            )?;
        }
        Ok(())
    }
}

/// Runs DPO as `config` says on `device` (the plain device; training uses its autodiff
/// form): validates the config, loads the model bundle (`config.model`) as policy and
/// reference, runs the data pipeline, scores the held-out pairs, trains
/// ([`train_dpo`]: checkpoints, `metrics.jsonl`, `curves.png` in `config.out`, resumed when
/// the folder holds checkpoints), scores again, and saves the policy with its tokenizer in
/// `<out>/model` and the report in `<out>/report.json`.
///
/// ```no_run
/// use policy_opt::dpo::{DpoRunConfig, run};
/// let mut config = DpoRunConfig::default();           // TRL's defaults
/// config.model = "runs/sft/model".into();
/// config.data.path = "prefs.jsonl".into();
/// let report = run(&config, &lm::select_device()?)?;
/// println!("held-out reward accuracy {:?}", report.after.get("rewards/accuracies"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(config: &DpoRunConfig, device: &Device) -> Result<DpoReport, RunError> {
    config.validate()?;
    let t0 = Instant::now();
    let loss = config.loss.init().map_err(|e| {
        RunError::Config(match e {
            super::DpoError::Config(e) => e.within("loss"),
            other => ConfigError::new("loss", "a valid loss configuration", other),
        })
    })?;
    let (bundle, template) = load_model(&config.model, device)?;
    let train_cfg = &config.train;
    let data = load_pair_data(
        &config.data,
        &bundle.tokenizer,
        &template,
        bundle.add_bos,
        train_cfg.batch_size,
        train_cfg.seed,
    )?;
    create_dir(&config.out)?;
    let policy = bundle.model;
    let reference = policy.valid();
    let (method, train_data, valid_data) = if !loss.needs_reference() {
        let valid = data.valid.map(DpoBatches::new);
        (Dpo::new(loss), DpoBatches::new(data.train), valid)
    } else {
        match config.reference {
            ReferenceMode::Frozen => {
                let valid = data.valid.map(DpoBatches::new);
                let method = Dpo::with_frozen_reference(loss, &reference);
                (method, DpoBatches::new(data.train), valid)
            }
            ReferenceMode::Cached => {
                let cached = |name: &str, pairs: PairBatches| {
                    cached_batches(&config.out.join(name), &reference, pairs, device)
                };
                let train = cached("ref_logps_train.json", data.train)?;
                let valid = match data.valid {
                    Some(v) => Some(cached("ref_logps_valid.json", v)?),
                    None => None,
                };
                (Dpo::new(loss), train, valid)
            }
        }
    };
    let held_out = |model: &LanguageModel| -> Result<BTreeMap<String, f64>, RunError> {
        match &valid_data {
            Some(v) => Ok(metric_map(evaluate(&method, model, v, None, device)?)),
            None => Ok(BTreeMap::new()),
        }
    };
    let before = held_out(&reference)?;
    let outcome = train_dpo(
        &method,
        policy,
        &train_data,
        valid_data.as_ref(),
        &train_cfg.trainer_config(DPO_DEFAULT_LR),
        &config.out,
        device,
    )?;
    let trained = outcome.model.valid();
    let after = held_out(&trained)?;
    let model_dir = save_model_dir(
        &trained,
        &bundle.tokenizer,
        bundle.add_bos,
        bundle.tokenizer_config.as_deref(),
        &config.out,
    )?;
    let held_out_kl = sampled_kl_on_prompts(
        config,
        &trained,
        &reference,
        &bundle.tokenizer,
        bundle.add_bos,
        &bundle.generation,
        &template,
        device,
    )?;
    let report = DpoReport {
        run: PairRunSummary {
            run_dir: config.out.clone(),
            model_dir,
            train_pairs: train_data.pair_batches().pairs().len(),
            valid_pairs: valid_data
                .as_ref()
                .map_or(0, |v| v.pair_batches().pairs().len()),
            read_report: data.read_report,
            tokenize_report: data.train_report.to_string(),
            steps: train_cfg.steps,
            resumed_from: outcome.resumed_from,
        },
        before,
        after,
        held_out_kl,
        seconds: t0.elapsed().as_secs_f64(),
    };
    write_report(&report, &config.out.join("report.json"))?;
    Ok(report)
}

/// Batches whose reference log-probs are read from (or computed into) `path`.
fn cached_batches(
    path: &Path,
    reference: &LanguageModel,
    pairs: PairBatches,
    device: &Device,
) -> Result<DpoBatches, RunError> {
    let (cache, _computed) = ReferenceCache::load_or_compute(path, reference, &pairs, device)?;
    Ok(DpoBatches::with_cache(pairs, cache)?)
}

/// [`sampled_kl`] of `policy` against `reference` on `config.kl_prompts` held-out prompts.
#[allow(clippy::too_many_arguments)]
fn sampled_kl_on_prompts(
    config: &DpoRunConfig,
    policy: &LanguageModel,
    reference: &LanguageModel,
    tok: &lm::tokenizer::Tokenizer,
    add_bos: bool,
    generation: &lm::checkpoint::GenerationDefaults,
    template: &pref_data::ChatTemplate,
    device: &Device,
) -> Result<Option<SampledKl>, RunError> {
    if config.kl_prompts == 0 || config.data.valid_fraction == 0.0 {
        return Ok(None);
    }
    let prompts = held_out_prompts(
        &config.data,
        tok,
        template,
        add_bos,
        config.train.seed,
        config.kl_prompts,
    )?;
    if prompts.is_empty() {
        return Ok(None);
    }
    let one_batch = BatchConfig {
        batch_size: prompts.len(),
        group_by_length: false,
        ..BatchConfig::default()
    };
    let batch = PromptBatches::new(prompts, tok.pad_id(), &one_batch)
        .map_err(PipelineError::from)?
        .batch(0, device);
    let generation = GenerationConfig {
        sampling: SamplingConfig::sample(1.0),
        seed: config.train.seed,
        ..generation.apply(GenerationConfig::new(config.data.max_completion_len))
    };
    let sampled = lm::generate(policy, batch.ids, batch.attention_mask, &generation)?;
    let kl = sampled_kl(policy, reference, &sampled).map_err(RunError::HeldOutKl)?;
    Ok(Some(kl))
}
