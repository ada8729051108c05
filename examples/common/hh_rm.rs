//! Reward-model training on HH pairs over an SFT backbone, shared by the reward_model and
//! rlhf examples (included with `#[path]`).
#![allow(dead_code)] // each example uses a subset of the output

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::Device;
use lm::Transformer;
use lm::tokenizer::Tokenizer;
use pref_data::{
    BatchConfig, BatchSource, ChatTemplate, HhPair, PaddingSide, PairBatch, PairBatches,
    PreferencePair, TokenizeConfig, TokenizeReport, tokenize_pairs,
};
use reward_model::loss::{PairwiseLossConfig, PairwiseLossKind};
use reward_model::{
    EvalReport, PairwiseRm, RewardNormalizer, ScalarRewardModel, evaluate_scores, score_pairs,
};
use train::{AdamWSettings, LrSchedule, MetricRecord, TrainerConfig, train};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// The reward-model recipe (the reward_model example's defaults).
#[derive(Clone, Debug, serde::Serialize)]
pub struct RmSettings {
    pub max_prompt_len: usize,
    pub max_completion_len: usize,
    pub batch: usize,
    pub grad_accum: usize,
    pub steps: usize,
    pub lr: f64,
    pub warmup: usize,
    pub weight_decay: f32,
    pub max_grad_norm: f64,
    pub freeze_layers: usize,
    pub center: f64,
    pub eval_every: usize,
    pub bins: usize,
    pub seed: u64,
}

impl Default for RmSettings {
    fn default() -> Self {
        Self {
            max_prompt_len: 96,
            max_completion_len: 64,
            batch: 8,
            grad_accum: 1,
            steps: 300,
            lr: 6e-4,
            warmup: 10,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
            freeze_layers: 2,
            center: 0.01,
            eval_every: 75,
            bins: 10,
            seed: 0,
        }
    }
}

/// What [`train_hh_rm`] produced.
pub struct RmOutcome {
    /// The trained model (a `valid()` copy).
    pub model: ScalarRewardModel<Transformer>,
    pub before: EvalReport,
    pub after: EvalReport,
    /// Reward mean/std over the held-out pairs (for PPO's reward normalisation).
    pub normalizer: RewardNormalizer,
    pub train_report: TokenizeReport,
    pub valid_report: TokenizeReport,
    pub train_pairs: usize,
    pub valid_pairs: usize,
    pub pad_share: f64,
    pub steps_run: usize,
    pub resumed_from: usize,
    pub train_secs: f64,
    pub eval_secs: f64,
    pub tokens: usize,
}

impl RmOutcome {
    pub fn tokens_per_s(&self) -> f64 {
        self.tokens as f64 / (self.train_secs - self.eval_secs).max(1e-9)
    }
}

/// Trains a scalar-head reward model on `backbone` (autodiff device) with Bradley-Terry +
/// centering on the `train` pairs, evaluates it on `valid` before and after, checkpoints in
/// `out` (resumable), and saves it with `tokenizer` and the normaliser in `out/model`.
/// `device` is the plain device.
pub fn train_hh_rm(
    s: &RmSettings,
    backbone: Transformer,
    tokenizer: &Tokenizer,
    train_pairs: &[HhPair],
    valid_pairs: &[HhPair],
    out: &Path,
    device: &Device,
) -> Res<RmOutcome> {
    let to_pairs =
        |v: &[HhPair]| -> Vec<PreferencePair> { v.iter().cloned().map(Into::into).collect() };
    let loss = PairwiseLossConfig {
        kind: PairwiseLossKind::BradleyTerry,
        use_margin: true,
        center_rewards_coefficient: s.center,
    };
    train_pairs_rm(
        s,
        &loss,
        backbone,
        tokenizer,
        &to_pairs(train_pairs),
        &to_pairs(valid_pairs),
        out,
        device,
    )
}

/// [`train_hh_rm`] on any preference pairs with any pairwise loss (e.g. soft labels from AI
/// feedback with [`PairwiseLossKind::SoftLabel`]); `valid` may hold other pairs (e.g. the
/// human-labelled ones the AI labels are checked against).
#[allow(clippy::too_many_arguments)]
pub fn train_pairs_rm(
    s: &RmSettings,
    loss: &PairwiseLossConfig,
    backbone: Transformer,
    tokenizer: &Tokenizer,
    train_pairs: &[PreferencePair],
    valid_pairs: &[PreferencePair],
    out: &Path,
    device: &Device,
) -> Res<RmOutcome> {
    let tcfg = TokenizeConfig {
        max_prompt_len: s.max_prompt_len,
        max_completion_len: s.max_completion_len,
        add_bos: true,
        add_eos: true,
    };
    let template = ChatTemplate::Plain;
    let (train_tok, train_report) = tokenize_pairs(train_pairs, tokenizer, &template, &tcfg)?;
    let (valid_tok, valid_report) = tokenize_pairs(valid_pairs, tokenizer, &template, &tcfg)?;
    let bcfg = BatchConfig {
        batch_size: s.batch,
        padding_side: PaddingSide::Right,
        seed: s.seed,
        group_by_length: true,
    };
    let train_data = PairBatches::new(train_tok, tokenizer.pad_id(), &bcfg)?;
    let valid_data = PairBatches::new(valid_tok, tokenizer.pad_id(), &bcfg)?;
    let pad_share = train_data.padding_tokens() as f64
        / (train_data.padding_tokens() + train_data.tokens()) as f64;
    let ad = device.clone().autodiff();
    let model = ScalarRewardModel::new(backbone, s.seed, &ad).freeze_lower(s.freeze_layers)?;
    let before = evaluate_scores(&score_pairs(&model.valid(), &valid_data, device), s.bins)?;
    let method = PairwiseRm::new(loss)?;
    let trainer = TrainerConfig {
        total_steps: s.steps,
        grad_accum: s.grad_accum,
        schedule: LrSchedule::cosine(s.lr, s.warmup, s.steps, 0.1),
        adamw: AdamWSettings {
            weight_decay: s.weight_decay,
            ..AdamWSettings::default()
        },
        max_grad_norm: Some(s.max_grad_norm),
        eval_every: s.eval_every,
        eval_batches: None,
        save_every: s.eval_every,
        keep_checkpoints: 2,
        seed: s.seed,
        log_every: 5,
    };
    let counted = Counting::new(&train_data);
    let t = Instant::now();
    let outcome = train(
        &method,
        model,
        &counted,
        Some(&valid_data),
        &trainer,
        out,
        device,
    )?;
    let train_secs = t.elapsed().as_secs_f64();
    let eval_secs = eval_seconds(&outcome.records, outcome.resumed_from);
    let infer = outcome.model.valid();
    let scores = score_pairs(&infer, &valid_data, device);
    let after = evaluate_scores(&scores, s.bins)?;
    let all: Vec<f32> = scores
        .chosen
        .iter()
        .chain(&scores.rejected)
        .copied()
        .collect();
    let normalizer = RewardNormalizer::fit(&all);
    let model_dir = out.join("model");
    infer.save(&model_dir)?;
    tokenizer.save(model_dir.join("tokenizer.json"))?;
    normalizer.save(&model_dir.join("normalizer.json"))?;
    Ok(RmOutcome {
        model: infer,
        before,
        after,
        normalizer,
        train_report,
        valid_report,
        train_pairs: train_data.pairs().len(),
        valid_pairs: valid_data.pairs().len(),
        pad_share,
        steps_run: s.steps - outcome.resumed_from,
        resumed_from: outcome.resumed_from,
        train_secs,
        eval_secs,
        tokens: counted.tokens.get(),
    })
}

/// A batch source that counts the real tokens of the batches it serves.
struct Counting<'a> {
    inner: &'a PairBatches,
    tokens: Cell<usize>,
}

impl<'a> Counting<'a> {
    fn new(inner: &'a PairBatches) -> Self {
        Self {
            inner,
            tokens: Cell::new(0),
        }
    }
}

impl BatchSource for Counting<'_> {
    type Batch = PairBatch;

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn batch(&self, index: usize, device: &Device) -> PairBatch {
        let pairs = self.inner.pairs();
        let n: usize = self
            .inner
            .batch_indices(index)
            .iter()
            .map(|&i| {
                let p = &pairs[i];
                2 * p.prompt.len() + p.chosen.len() + p.rejected.len()
            })
            .sum();
        self.tokens.set(self.tokens.get() + n);
        self.inner.batch(index, device)
    }
}

/// Seconds spent in validation passes after step `after`: each validation record's wall time
/// minus that of the training record logged just before it at the same step.
fn eval_seconds(records: &[MetricRecord], after: usize) -> f64 {
    records
        .iter()
        .filter(|r| r.split == "valid" && r.step > after)
        .filter_map(|v| {
            let t = records
                .iter()
                .rfind(|r| r.split == "train" && r.step == v.step)?
                .wall_time_s?;
            Some(v.wall_time_s? - t)
        })
        .sum()
}

/// The reward model saved in the first of `candidates` holding one (weights, config and
/// normaliser), else one trained with [`train_hh_rm`] into `out` (whose `model/` is tried
/// first, so a rerun reuses it). Returns the model (`valid()`, on `device`), its normaliser
/// its folder and a line saying where it came from.
#[allow(clippy::too_many_arguments)]
pub fn load_or_train_rm(
    candidates: &[std::path::PathBuf],
    s: &RmSettings,
    backbone: Transformer,
    tokenizer: &Tokenizer,
    train_pairs: &[HhPair],
    valid_pairs: &[HhPair],
    out: &Path,
    device: &Device,
) -> Res<(
    ScalarRewardModel<Transformer>,
    RewardNormalizer,
    std::path::PathBuf,
    String,
)> {
    let own = out.join("model");
    for dir in candidates.iter().chain(std::iter::once(&own)) {
        let files = [
            reward_model::model::RM_WEIGHTS_FILE,
            "config.json",
            "normalizer.json",
        ];
        if files.iter().all(|f| dir.join(f).is_file()) {
            let model = ScalarRewardModel::load(dir, device)?;
            let normalizer = RewardNormalizer::load(&dir.join("normalizer.json"))?;
            let line = format!("loaded from {}", dir.display());
            return Ok((model, normalizer, dir.clone(), line));
        }
    }
    println!(
        "no reward model found: training one ({} steps) into {}",
        s.steps,
        out.display()
    );
    let o = train_hh_rm(
        s,
        backbone,
        tokenizer,
        train_pairs,
        valid_pairs,
        out,
        device,
    )?;
    let line = format!(
        "trained: held-out accuracy {:.3} → {:.3} in {:.0} s",
        o.before.accuracy, o.after.accuracy, o.train_secs
    );
    Ok((o.model, o.normalizer, own, line))
}
