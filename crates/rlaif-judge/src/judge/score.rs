//! [`ScoreJudge`]: the model rates a response; its expected rating is a reward (direct
//! RLAIF, "d-RLAIF", Lee et al. 2023, §2.3).

use pref_data::Text;
use rlhf_core::ConfigError;
use rlhf_core::config::check_non_zero;
use rlhf_core::{Reward, RewardError, RewardInput, Sample, Scores};
use serde::{Deserialize, Serialize};

use super::JudgeError;
use super::prompt::{self, PromptForm};
use crate::backend::{BackendError, GenerateOptions, TextModel};

/// Settings of a [`ScoreJudge`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreConfig {
    /// What to rate, placed before the scale (default: harmlessness and helpfulness).
    pub instruction: String,
    /// Lowest rating (default 1).
    pub min: u32,
    /// Highest rating (default 9: single digits, so that every rating is one token in the
    /// tokenizers that split numbers into digits, such as Gemma's).
    pub max: u32,
    /// Plain prompt (base models) or chat message (default plain).
    pub form: PromptForm,
    /// Most tokens of a generated rating, when log-probs are unavailable (default 8).
    pub answer_tokens: usize,
    /// Ratings per call of the model (default 32).
    pub batch_size: usize,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            instruction: "Judge how harmless, honest and helpful the assistant's last reply is."
                .into(),
            min: 1,
            max: 9,
            form: PromptForm::Plain,
            answer_tokens: 8,
            batch_size: 32,
        }
    }
}

/// One rating.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreOutcome {
    /// The expected rating `Σ_k k · p(k)` in `[min, max]` (the parsed rating when no
    /// log-probs were available; the midpoint when undecided).
    pub expected: f64,
    /// The rating mapped to `[−1, 1]`: `2 (expected − min) / (max − min) − 1`.
    pub reward: f64,
    /// Read from a generated answer instead of log-probs.
    pub parsed: bool,
    /// No rating could be read (reward 0).
    pub undecided: bool,
}

/// The scoring judge of d-RLAIF (Lee et al. 2023): the model is shown the conversation and
/// the response and asked for a rating from `min` to `max` ([`prompt::rating_prompt`]);
/// the probabilities of the ratings (the options `" min"` … `" max"`, renormalised over
/// the scale) give the expected rating `s = Σ_k k · p(k)`, and the reward is `s` mapped
/// linearly to `[−1, 1]`. As an [`rlhf_core::Reward`] it scores rollout samples (the
/// sample's prompt is the conversation, its completion the response), so it plugs into
/// PPO, GRPO, RLOO and REINFORCE++ without a reward model.
pub struct ScoreJudge<M> {
    name: String,
    model: M,
    config: ScoreConfig,
}

impl<M: TextModel> ScoreJudge<M> {
    /// A judge rating with `model`. Fails unless `min < max` and the batch size and
    /// answer length are at least 1.
    pub fn new(model: M, config: ScoreConfig) -> Result<Self, JudgeError> {
        if config.min >= config.max {
            return Err(ConfigError::new(
                "max",
                format_args!("more than min ({})", config.min),
                config.max,
            )
            .into());
        }
        for (field, v) in [
            ("batch_size", config.batch_size),
            ("answer_tokens", config.answer_tokens),
        ] {
            check_non_zero(field, v)?;
        }
        Ok(Self {
            name: format!("score-judge({})", model.name()),
            model,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &ScoreConfig {
        &self.config
    }

    fn model_error(&self, source: BackendError) -> JudgeError {
        JudgeError::Model {
            judge: self.name.clone(),
            source,
        }
    }

    /// Rates each `(conversation, response)`.
    pub fn rate(&self, items: &[(Text, String)]) -> Result<Vec<ScoreOutcome>, JudgeError> {
        let (min, max) = (self.config.min, self.config.max);
        let options = prompt::rating_options(min, max);
        let span = (max - min) as f64;
        let outcome = |expected: f64, parsed, undecided| ScoreOutcome {
            expected,
            reward: 2.0 * (expected - min as f64) / span - 1.0,
            parsed,
            undecided,
        };
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(self.config.batch_size) {
            let prompts: Vec<Text> = chunk
                .iter()
                .map(|(c, r)| {
                    prompt::rating_prompt(
                        c,
                        r,
                        &self.config.instruction,
                        min,
                        max,
                        self.config.form,
                    )
                })
                .collect();
            let rows = self
                .model
                .option_logprobs_batch(&prompts, &options)
                .map_err(|e| self.model_error(e))?;
            if rows.len() != chunk.len() {
                return Err(JudgeError::Count {
                    judge: self.name.clone(),
                    expected: chunk.len(),
                    got: rows.len(),
                });
            }
            let mut missing = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                match expected_rating(row, min) {
                    Some(e) => out.push(outcome(e, false, false)),
                    None => {
                        missing.push(i);
                        out.push(outcome((min + max) as f64 / 2.0, true, true));
                    }
                }
            }
            if missing.is_empty() {
                continue;
            }
            let asked: Vec<Text> = missing.iter().map(|&i| prompts[i].clone()).collect();
            let answer_options = GenerateOptions {
                max_new_tokens: self.config.answer_tokens,
                ..GenerateOptions::default()
            };
            let answers = self
                .model
                .generate(&asked, &answer_options)
                .map_err(|e| self.model_error(e))?;
            let base = out.len() - chunk.len();
            for (&i, answer) in missing.iter().zip(&answers) {
                if let Some(k) = prompt::parse_rating(answer, min, max) {
                    out[base + i] = outcome(k as f64, true, false);
                }
            }
        }
        Ok(out)
    }

    /// Rates rollout samples: each sample's completion as the response to its prompt (the
    /// prompt as the policy saw it, read as a plain HH-style conversation).
    pub fn rate_samples(&self, samples: &[Sample]) -> Result<Vec<ScoreOutcome>, JudgeError> {
        let items: Vec<(Text, String)> = samples
            .iter()
            .map(|s| (Text::Plain(s.prompt.clone()), s.completion.clone()))
            .collect();
        self.rate(&items)
    }
}

impl ScoreOutcome {
    /// The mean expected rating of `outcomes` (0 when there is none).
    pub fn mean_rating(outcomes: &[ScoreOutcome]) -> f64 {
        outcomes.iter().map(|o| o.expected).sum::<f64>() / outcomes.len().max(1) as f64
    }
}

/// `Σ_k (min + k) · p_k` with `p` the softmax of the reported log-probs (unreported
/// ratings count as probability 0); `None` when none was reported.
fn expected_rating(logprobs: &[Option<f64>], min: u32) -> Option<f64> {
    let m = logprobs
        .iter()
        .flatten()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return None;
    }
    let (mut z, mut s) = (0.0, 0.0);
    for (k, l) in logprobs.iter().enumerate() {
        if let Some(l) = l {
            let w = (l - m).exp();
            z += w;
            s += w * (min as f64 + k as f64);
        }
    }
    Some(s / z)
}

impl<M: TextModel> Reward for ScoreJudge<M> {
    fn name(&self) -> &str {
        &self.name
    }

    /// Scores each sample's completion as the response to its prompt: the reward in
    /// `[−1, 1]`; reasons give the expected rating; metrics `judge/rating` (mean expected
    /// rating), `judge/parsed` and `judge/undecided` (counts).
    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        let outcomes = self
            .rate_samples(input.samples)
            .map_err(|e| RewardError::failed(&self.name, e))?;
        let mut scores = Scores::new(outcomes.iter().map(|o| o.reward as f32).collect());
        scores.reasons = outcomes
            .iter()
            .map(|o| {
                let how = if o.undecided {
                    "undecided"
                } else if o.parsed {
                    "parsed"
                } else {
                    "log-probs"
                };
                format!(
                    "rating {:.2} of {}..={} ({how})",
                    o.expected, self.config.min, self.config.max
                )
            })
            .collect();
        scores.metrics = vec![
            ("judge/rating".into(), ScoreOutcome::mean_rating(&outcomes)),
            (
                "judge/parsed".into(),
                outcomes.iter().filter(|o| o.parsed).count() as f64,
            ),
            (
                "judge/undecided".into(),
                outcomes.iter().filter(|o| o.undecided).count() as f64,
            ),
        ];
        scores.validate(&self.name, input)?;
        Ok(scores)
    }
}

impl<M> std::fmt::Debug for ScoreJudge<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoreJudge")
            .field("name", &self.name)
            .field("config", &self.config)
            .finish()
    }
}
