//! [`run`]: a whole reward-model run from a [`RewardRunConfig`] — backbone bundle, data
//! pipeline, held-out accuracy/margin/calibration before and after, the trained model with
//! its tokenizer and reward normaliser, and a report.

use std::path::PathBuf;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use lm::checkpoint::{ModelBundle, load_bundle, save_tokenizer};
use lm::lora::LoraModel;
use lm::{LanguageModel, LmError};
use pref_data::{BatchSource, PairBatch, PairRunSummary, PipelineError, TemplateError};
use serde::Serialize;
use train::{ConfigError, TrainError, train};

use crate::error::RmError;
use crate::eval::{EvalReport, PairScores, evaluate_scores, score_pairs};
use crate::method::PairwiseRm;
use crate::model::ScalarRewardModel;
use crate::normalize::RewardNormalizer;
use crate::run_config::{REWARD_DEFAULT_LR, RewardRunConfig};

/// Why a reward-model run failed; every message names the field, file or step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewardRunError {
    /// A configuration value is out of its domain (checked before any loading).
    #[error("invalid config: {0}")]
    Config(#[from] ConfigError),
    /// The backbone could not be loaded, or is of a family the run cannot save.
    #[error("model {}: {source}", path.display())]
    Model {
        /// The model path of the configuration.
        path: PathBuf,
        /// Why.
        source: LmError,
    },
    /// The model's chat template does not load.
    #[error("chat template: {0}")]
    Template(#[from] TemplateError),
    /// Reading, splitting, tokenising or batching the data failed.
    #[error("data: {0}")]
    Data(#[from] PipelineError),
    /// Building, evaluating or saving the reward model failed.
    #[error(transparent)]
    Rm(#[from] RmError),
    /// The training loop failed.
    #[error(transparent)]
    Train(#[from] TrainError),
}

/// What a reward-model run did; also written to `<out>/report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct RewardReport {
    /// Run folder, model folder (loadable by [`ScalarRewardModel::load_any`]), pair counts,
    /// reader and tokenizer reports, steps (top-level keys in the JSON).
    #[serde(flatten)]
    pub run: PairRunSummary,
    /// Held-out accuracy, margin, ECE and reward statistics of the untrained head.
    pub before: Option<EvalReport>,
    /// The same after training.
    pub after: Option<EvalReport>,
    /// Mean and count of the rewards the normaliser was fitted on (held-out pairs, else
    /// training pairs), saved as `model/normalizer.json`.
    pub normalizer: RewardNormalizer,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
}

/// Trains a reward model as `config` says on `device` (the plain device): validates the
/// config, loads the backbone bundle, runs the data pipeline, puts a seeded scalar head on
/// the backbone (lowest `freeze_layers` blocks frozen), evaluates the held-out pairs,
/// trains with the pairwise loss in the shared loop (checkpoints, `metrics.jsonl`,
/// `curves.png` in `config.out`, resumed when the folder holds checkpoints), evaluates
/// again, fits the reward normaliser and saves everything in `<out>/model`.
///
/// ```no_run
/// use reward_model::{RewardRunConfig, run};
/// let mut config = RewardRunConfig::default();       // TRL's defaults
/// config.model = "runs/sft/model".into();
/// config.data.path = "prefs.jsonl".into();
/// let report = run(&config, &lm::select_device()?)?;
/// println!("held-out accuracy {:?}", report.after.map(|r| r.accuracy));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(config: &RewardRunConfig, device: &Device) -> Result<RewardReport, RewardRunError> {
    config.validate()?;
    let t0 = Instant::now();
    let method = PairwiseRm::new(&config.loss)?;
    let ad = device.clone().autodiff();
    let model_err = |source| RewardRunError::Model {
        path: config.model.clone(),
        source,
    };
    let ModelBundle {
        model,
        tokenizer,
        add_bos,
        tokenizer_config,
        ..
    } = load_bundle(&config.model, &ad).map_err(model_err)?;
    let backbone = match &config.lora {
        Some(lora) => model.with_lora(lora).map_err(model_err)?,
        None => model,
    };
    let template = pref_data::model_chat_template(tokenizer_config.as_deref())?;
    let train_cfg = &config.train;
    let data = pref_data::load_pair_data(
        &config.data,
        &tokenizer,
        &template,
        add_bos,
        train_cfg.batch_size,
        train_cfg.seed,
    )?;
    std::fs::create_dir_all(&config.out).map_err(|e| RmError::io(&config.out, e))?;
    let model =
        ScalarRewardModel::new(backbone, train_cfg.seed, &ad).freeze_lower(config.freeze_layers)?;
    let bins = config.calibration_bins;
    let held_out = |m: &ScalarRewardModel<LanguageModel>| -> Result<Option<EvalReport>, RmError> {
        match &data.valid {
            Some(v) => Ok(Some(evaluate_scores(&score_pairs(m, v, device), bins)?)),
            None => Ok(None),
        }
    };
    let before = held_out(&model.valid())?;
    let valid = data
        .valid
        .as_ref()
        .map(|v| v as &dyn BatchSource<Batch = PairBatch>);
    let outcome = train(
        &method,
        model,
        &data.train,
        valid,
        &train_cfg.trainer_config(REWARD_DEFAULT_LR),
        &config.out,
        device,
    )?;
    let trained = outcome.model.valid();
    // The held-out scores serve the report and the normaliser (scored once).
    let scores = score_pairs(&trained, data.valid.as_ref().unwrap_or(&data.train), device);
    let after = match &data.valid {
        Some(_) => Some(evaluate_scores(&scores, bins)?),
        None => None,
    };
    let normalizer = fit_normalizer(&scores);
    let model_dir = config.out.join("model");
    trained.save_any(&model_dir)?;
    save_tokenizer(&tokenizer, add_bos, tokenizer_config.as_deref(), &model_dir)
        .map_err(RmError::from)?;
    normalizer.save(&model_dir.join(crate::NORMALIZER_FILE))?;
    let report = RewardReport {
        run: PairRunSummary {
            run_dir: config.out.clone(),
            model_dir,
            train_pairs: data.train.pairs().len(),
            valid_pairs: data.valid.as_ref().map_or(0, |v| v.pairs().len()),
            read_report: data.read_report.clone(),
            tokenize_report: data.train_report.to_string(),
            steps: train_cfg.steps,
            resumed_from: outcome.resumed_from,
        },
        before,
        after,
        normalizer,
        seconds: t0.elapsed().as_secs_f64(),
    };
    let path = config.out.join("report.json");
    let bytes = serde_json::to_vec_pretty(&report).map_err(|e| RmError::json(&path, e))?;
    rlhf_core::write_atomic(&path, &bytes).map_err(RmError::from)?;
    Ok(report)
}

/// Reward statistics of both completions of every scored pair.
fn fit_normalizer(scores: &PairScores) -> RewardNormalizer {
    let all: Vec<f32> = scores
        .chosen
        .iter()
        .chain(&scores.rejected)
        .copied()
        .collect();
    RewardNormalizer::fit(&all)
}
