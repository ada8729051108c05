//! What `score_model` and `label_model` graders share: templated chat messages, sampling
//! parameters, and the grading model.

use std::sync::Arc;

use pref_data::{Message, Text};
use serde::{Deserialize, Serialize};

use super::template::Template;
use super::{Failure, FieldError, GradeResult, GraderSample, Item};
use crate::backend::{GenerateOptions, TextModel};

/// One message of a model grader's prompt; `content` is a template over `sample` and
/// `item` (OpenAI's `input` messages).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageTemplate {
    /// `system`, `developer`, `user` or `assistant`.
    pub role: String,
    /// The message, templated.
    pub content: String,
}

impl MessageTemplate {
    /// A message.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// Sampling parameters of a grading model (OpenAI's `sampling_params`). Unset values take
/// deterministic defaults: greedy decoding, 64 tokens, seed 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingParams {
    /// Temperature (0: greedy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Most tokens of the answer (`max_tokens` is accepted too).
    #[serde(default, alias = "max_tokens", skip_serializing_if = "Option::is_none")]
    pub max_completions_tokens: Option<usize>,
    /// Sampler seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl SamplingParams {
    pub(crate) fn options(&self) -> GenerateOptions {
        GenerateOptions {
            max_new_tokens: self.max_completions_tokens.unwrap_or(64),
            temperature: self.temperature.unwrap_or(0.0),
            top_p: self.top_p.unwrap_or(1.0),
            seed: self.seed.unwrap_or(0),
            stop: Vec::new(),
        }
    }

    pub(crate) fn validate(&self) -> Result<(), FieldError> {
        if let Some(t) = self.temperature
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(FieldError::new(
                "sampling_params.temperature",
                format!("expected a number >= 0, got {t}"),
            ));
        }
        if let Some(p) = self.top_p
            && !(p > 0.0 && p <= 1.0)
        {
            return Err(FieldError::new(
                "sampling_params.top_p",
                format!("expected a number in (0, 1], got {p}"),
            ));
        }
        if self.max_completions_tokens == Some(0) {
            return Err(FieldError::new(
                "sampling_params.max_completions_tokens",
                "expected at least 1 token",
            ));
        }
        Ok(())
    }
}

/// A compiled prompt: its messages' templates.
#[derive(Clone, Debug)]
pub(crate) struct Prompt {
    messages: Vec<(String, Template)>,
}

impl Prompt {
    pub(crate) fn new(messages: &[MessageTemplate]) -> Result<Self, FieldError> {
        if messages.is_empty() {
            return Err(FieldError::new(
                "input",
                "expected at least one message {role, content}",
            ));
        }
        let mut out = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            if m.role.trim().is_empty() {
                return Err(FieldError::new(
                    format!("input[{i}].role"),
                    "expected a non-empty role such as \"system\" or \"user\"",
                ));
            }
            let t = super::compile(&m.content, &format!("input[{i}].content"))?;
            out.push((m.role.clone(), t));
        }
        Ok(Self { messages: out })
    }

    /// The chat prompt for `sample` and `item`, or the template failure.
    pub(crate) fn render(&self, sample: &GraderSample, item: &Item) -> Result<Text, GradeResult> {
        let mut messages = Vec::with_capacity(self.messages.len());
        for (role, t) in &self.messages {
            let content = super::render(t, sample, item)?;
            messages.push(Message::new(role.clone(), content));
        }
        Ok(Text::Chat(messages))
    }
}

/// Runs `model` on the prompts of a batch, keeping each template failure in place: one
/// answer (or failed grade) per input.
pub(crate) fn run_batch(
    model: &Arc<dyn TextModel>,
    prompt: &Prompt,
    options: &GenerateOptions,
    batch: &[(&GraderSample, &Item)],
) -> Vec<Result<String, GradeResult>> {
    let rendered: Vec<Result<Text, GradeResult>> =
        batch.iter().map(|(s, i)| prompt.render(s, i)).collect();
    let prompts: Vec<Text> = rendered
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    let answers = if prompts.is_empty() {
        Ok(Vec::new())
    } else {
        model.generate(&prompts, options)
    };
    let mut answers = match answers {
        Ok(a) if a.len() == prompts.len() => a.into_iter(),
        Ok(a) => {
            let e = format!(
                "model `{}` returned {} answers for {} prompts",
                model.name(),
                a.len(),
                prompts.len()
            );
            return rendered
                .into_iter()
                .map(|r| r.and_then(|_| Err(GradeResult::fail(Failure::Model, &e))))
                .collect();
        }
        Err(e) => {
            return rendered
                .into_iter()
                .map(|r| r.and_then(|_| Err(GradeResult::fail(Failure::Model, &e))))
                .collect();
        }
    };
    rendered
        .into_iter()
        .map(|r| r.map(|_| answers.next().unwrap_or_default()))
        .collect()
}

/// The model of `name` in `models`, or the problem with field `model`.
pub(crate) fn find_model(
    ctx: &super::BuildContext,
    name: &str,
) -> Result<Arc<dyn TextModel>, FieldError> {
    ctx.model(name).ok_or_else(|| {
        let known = ctx.model_names();
        FieldError::new(
            "model",
            if known.is_empty() {
                format!(
                    "no text model named `{name}` (none was registered: BuildContext::with_model)"
                )
            } else {
                format!(
                    "no text model named `{name}`; registered: {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        )
    })
}

/// The default model name of model graders.
pub(crate) fn default_model() -> String {
    "default".to_string()
}
