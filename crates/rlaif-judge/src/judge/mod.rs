//! AI judges: a model, steered by a [`Constitution`], compares two
//! responses ([`PairwiseJudge`], [`MultipleChoiceJudge`]) or rates one ([`ScoreJudge`], an
//! [`rlhf_core::Reward`]).
//!
//! # Pairwise: the multiple-choice judge of Constitutional AI
//!
//! Bai et al. 2022 (§4.1) label a pair of responses by asking the feedback model a
//! multiple-choice question built from one principle's comparison phrasing, and reading the
//! normalised probabilities of the answers `(A)` and `(B)` as a soft label. Here
//! ([`prompt::comparison_prompt`]):
//!
//! ```text
//! Consider the following conversation between a human and an assistant:
//!
//! Human: …
//!
//! Which of these replies from the assistant is less harmful? …
//! Options:
//! (A) <response A>
//! (B) <response B>
//! The answer is: (
//! ```
//!
//! and `p(A) = exp ℓ_A / (exp ℓ_A + exp ℓ_B)` with `ℓ_X` the log-probability of the
//! continuation `X` ([`TextModel::option_logprobs`]; Lee et al. 2023, "RLAIF", compute
//! their soft preferences the same way). When the model reports neither log-prob (a server
//! without log-probs), the judge generates a short answer and reads the letter from it
//! ([`prompt::parse_choice`]): `p(A)` is then 1 or 0, or ½ if the answer names neither.
//!
//! Options ([`JudgeConfig`]):
//! - **both orders** (default on): ask with (A, B) = (a, b) and again with (b, a), and
//!   average `p(a) = ½ [p(A | a, b) + 1 − p(A | b, a)]`. This removes position bias (Lee et
//!   al. 2023, §3.2; Zheng et al. 2023) — a judge that always answers A gives exactly ½ —
//!   and makes the judge antisymmetric: `p(a | a, b) = 1 − p(a | b, a)`. Each
//!   [`Judgement`] keeps both orders' values, and [`Judgement::orders_agree`] tells whether
//!   they prefer the same response.
//! - **principles** ([`PrincipleSelection`]): one fixed principle; one drawn per
//!   comparison with a seeded RNG, as Bai et al. do (the draw depends on the seed and the
//!   comparison's content, not on the batch, and is the same for both orders); or an
//!   ensemble whose `p(a)` is the mean over the principles.
//!
//! The model is any [`TextModel`]: a local [`CausalLm`](lm::CausalLm) through
//! [`LocalModel`](crate::LocalModel) (rendering chats with its chat template from
//! `pref-data` when built with one) or a server through [`HttpModel`](crate::http::HttpModel).

pub mod prompt;
mod score;
mod select;

pub use prompt::PromptForm;
pub use score::{ScoreConfig, ScoreJudge, ScoreOutcome};
pub use select::PrincipleSelection;

use pref_data::Text;
use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendError, GenerateOptions, TextModel};
use crate::constitution::Constitution;

/// Why a judge could not judge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JudgeError {
    /// The judge's model failed.
    #[error("judge `{judge}`: {source}")]
    Model {
        /// The judge's name.
        judge: String,
        /// The model's error.
        #[source]
        source: BackendError,
    },
    /// The judge's configuration does not fit its constitution (an unknown principle, an
    /// empty ensemble, a bad rating scale).
    #[error("judge configuration: {0}")]
    Config(#[from] ConfigError),
    /// The model returned a number of rows other than asked.
    #[error("judge `{judge}`: the model returned {got} answers for {expected} questions")]
    Count {
        /// The judge's name.
        judge: String,
        /// Questions asked.
        expected: usize,
        /// Answers returned.
        got: usize,
    },
}

/// Two responses to compare after a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// The conversation so far (an HH-style plain prompt or chat messages), ending with the
    /// human's turn.
    pub conversation: Text,
    /// Response a.
    pub a: String,
    /// Response b.
    pub b: String,
}

impl Comparison {
    /// A comparison of `a` and `b` after `conversation`.
    pub fn new(conversation: impl Into<Text>, a: impl Into<String>, b: impl Into<String>) -> Self {
        Self {
            conversation: conversation.into(),
            a: a.into(),
            b: b.into(),
        }
    }

    /// The same comparison with `a` and `b` swapped.
    pub fn swapped(&self) -> Self {
        Self {
            conversation: self.conversation.clone(),
            a: self.b.clone(),
            b: self.a.clone(),
        }
    }
}

/// A judge's verdict on one [`Comparison`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// The probability that response a is preferred, in `[0, 1]`.
    pub p_a: f64,
    /// The principle(s) asked (one, or the ensemble).
    pub principles: Vec<String>,
    /// With both orders: `p(a)` from the question with a shown first, and from the
    /// question with b shown first (`1 − p(A | b, a)`); their mean is `p_a`.
    pub by_order: Option<(f64, f64)>,
    /// Questions answered by parsing a generated answer (no log-probs available).
    pub parsed: usize,
    /// Questions whose generated answer named neither option (counted as ½).
    pub undecided: usize,
}

impl Judgement {
    /// With both orders: whether the two orders prefer the same response (both above ½,
    /// or both below; a tie at ½ in either order is not agreement).
    pub fn orders_agree(&self) -> Option<bool> {
        self.by_order
            .map(|(x, y)| (x > 0.5 && y > 0.5) || (x < 0.5 && y < 0.5))
    }
}

/// Compares two responses: `p(a preferred)`, with the principle used.
pub trait PairwiseJudge {
    /// The judge's name, for messages and reports.
    fn name(&self) -> &str;

    /// One [`Judgement`] per comparison, in order.
    fn judge(&self, comparisons: &[Comparison]) -> Result<Vec<Judgement>, JudgeError>;
}

impl<J: PairwiseJudge + ?Sized> PairwiseJudge for &J {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn judge(&self, comparisons: &[Comparison]) -> Result<Vec<Judgement>, JudgeError> {
        (**self).judge(comparisons)
    }
}

impl<J: PairwiseJudge + ?Sized> PairwiseJudge for Box<J> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn judge(&self, comparisons: &[Comparison]) -> Result<Vec<Judgement>, JudgeError> {
        (**self).judge(comparisons)
    }
}

/// Settings of a [`MultipleChoiceJudge`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JudgeConfig {
    /// Which principle(s) each comparison is asked under (default: one drawn per
    /// comparison, seed 0).
    pub principles: PrincipleSelection,
    /// Ask in both orders and average (default true).
    pub both_orders: bool,
    /// Plain prompt (base models) or chat message (default plain).
    pub form: PromptForm,
    /// Most tokens of a generated answer, when log-probs are unavailable (default 8).
    pub answer_tokens: usize,
    /// Questions per call of the model (default 32).
    pub batch_size: usize,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            principles: PrincipleSelection::Sampled { seed: 0 },
            both_orders: true,
            form: PromptForm::Plain,
            answer_tokens: 8,
            batch_size: 32,
        }
    }
}

/// The multiple-choice judge of Constitutional AI on any [`TextModel`]. See the
/// [module docs](self).
pub struct MultipleChoiceJudge<M> {
    name: String,
    model: M,
    constitution: Constitution,
    config: JudgeConfig,
}

/// One question: comparison `index`, with a shown first or not.
struct Question {
    index: usize,
    a_first: bool,
}

impl<M: TextModel> MultipleChoiceJudge<M> {
    /// A judge asking `model` under `constitution`'s principles. Fails if `config` names a
    /// principle the constitution lacks or an empty ensemble.
    pub fn new(
        model: M,
        constitution: Constitution,
        config: JudgeConfig,
    ) -> Result<Self, JudgeError> {
        config.principles.check(&constitution)?;
        if config.answer_tokens == 0 || config.batch_size == 0 {
            let field = if config.answer_tokens == 0 {
                "answer_tokens"
            } else {
                "batch_size"
            };
            return Err(ConfigError::new(field, "at least 1", 0).into());
        }
        let name = format!("mc-judge({})", model.name());
        Ok(Self {
            name,
            model,
            constitution,
            config,
        })
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The constitution.
    pub fn constitution(&self) -> &Constitution {
        &self.constitution
    }

    /// The settings.
    pub fn config(&self) -> &JudgeConfig {
        &self.config
    }

    fn model_error(&self, source: BackendError) -> JudgeError {
        JudgeError::Model {
            judge: self.name.clone(),
            source,
        }
    }

    /// `p(first option)` of each prompt, and whether it was parsed / undecided.
    fn ask(&self, prompts: &[Text]) -> Result<Vec<(f64, bool, bool)>, JudgeError> {
        let options = prompt::comparison_options();
        let mut out = Vec::with_capacity(prompts.len());
        for chunk in prompts.chunks(self.config.batch_size) {
            let rows = self
                .model
                .option_logprobs_batch(chunk, &options)
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
                match p_first(row) {
                    Some(p) => out.push((p, false, false)),
                    None => {
                        missing.push(i);
                        out.push((0.5, true, true));
                    }
                }
            }
            if missing.is_empty() {
                continue;
            }
            let asked: Vec<Text> = missing.iter().map(|&i| chunk[i].clone()).collect();
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
                if let Some(a) = prompt::parse_choice(answer) {
                    out[base + i] = (if a { 1.0 } else { 0.0 }, true, false);
                }
            }
        }
        Ok(out)
    }
}

/// `p(A)` from the log-probs of `A` and `B`: their softmax; an option the model did not
/// report counts as probability 0 next to one it did; `None` when neither was reported.
pub fn p_first(logprobs: &[Option<f64>]) -> Option<f64> {
    match (
        logprobs.first().copied().flatten(),
        logprobs.get(1).copied().flatten(),
    ) {
        (Some(a), Some(b)) => {
            let m = a.max(b);
            let (ea, eb) = ((a - m).exp(), (b - m).exp());
            Some(ea / (ea + eb))
        }
        (Some(_), None) => Some(1.0),
        (None, Some(_)) => Some(0.0),
        (None, None) => None,
    }
}

impl<M: TextModel> PairwiseJudge for MultipleChoiceJudge<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn judge(&self, comparisons: &[Comparison]) -> Result<Vec<Judgement>, JudgeError> {
        let mut questions = Vec::new();
        let mut prompts = Vec::new();
        let mut principles_of = Vec::with_capacity(comparisons.len());
        for (index, c) in comparisons.iter().enumerate() {
            let chosen = self.config.principles.choose(&self.constitution, c);
            for &principle in &chosen {
                let phrasing = &self.constitution.principles[principle].comparison;
                let orders: &[bool] = if self.config.both_orders {
                    &[true, false]
                } else {
                    &[true]
                };
                for &a_first in orders {
                    let (x, y) = if a_first { (&c.a, &c.b) } else { (&c.b, &c.a) };
                    prompts.push(prompt::comparison_prompt(
                        &c.conversation,
                        phrasing,
                        x,
                        y,
                        self.config.form,
                    ));
                    questions.push(Question { index, a_first });
                }
            }
            principles_of.push(chosen);
        }
        let answers = self.ask(&prompts)?;
        let mut sums = vec![[0.0f64; 2]; comparisons.len()];
        let mut counts = vec![[0usize; 2]; comparisons.len()];
        let mut parsed = vec![0usize; comparisons.len()];
        let mut undecided = vec![0usize; comparisons.len()];
        for (q, &(p, was_parsed, was_undecided)) in questions.iter().zip(&answers) {
            let (slot, p_a) = if q.a_first { (0, p) } else { (1, 1.0 - p) };
            sums[q.index][slot] += p_a;
            counts[q.index][slot] += 1;
            parsed[q.index] += usize::from(was_parsed);
            undecided[q.index] += usize::from(was_undecided);
        }
        Ok((0..comparisons.len())
            .map(|i| {
                let first = sums[i][0] / counts[i][0].max(1) as f64;
                let (p_a, by_order) = if self.config.both_orders {
                    let second = sums[i][1] / counts[i][1].max(1) as f64;
                    (0.5 * (first + second), Some((first, second)))
                } else {
                    (first, None)
                };
                Judgement {
                    p_a: p_a.clamp(0.0, 1.0),
                    principles: principles_of[i]
                        .iter()
                        .map(|&k| self.constitution.principles[k].name.clone())
                        .collect(),
                    by_order,
                    parsed: parsed[i],
                    undecided: undecided[i],
                }
            })
            .collect())
    }
}

impl<M> std::fmt::Debug for MultipleChoiceJudge<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipleChoiceJudge")
            .field("name", &self.name)
            .field("constitution", &self.constitution.name)
            .field("config", &self.config)
            .finish()
    }
}
