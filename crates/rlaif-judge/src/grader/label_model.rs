//! `label_model`: a grading model picks one of a few labels.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model_prompt::{
    MessageTemplate, Prompt, SamplingParams, default_model, find_model, run_batch,
};
use super::{BuildContext, Failure, FieldError, GradeResult, Grader, GraderSample, Item, quote};
use crate::backend::TextModel;

/// Configuration of a [`LabelModel`] grader (`type = "label_model"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelModelConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Name of the grading model in the [`BuildContext`] (default `"default"`).
    #[serde(default = "default_model")]
    pub model: String,
    /// The prompt: messages whose contents are templates.
    pub input: Vec<MessageTemplate>,
    /// The labels the model may answer (distinct, non-empty).
    pub labels: Vec<String>,
    /// The labels that pass (non-empty, a subset of `labels`).
    pub passing_labels: Vec<String>,
    /// Sampling parameters of the grading model.
    #[serde(default)]
    pub sampling_params: SamplingParams,
    /// Choose the label of highest log-probability as the next text after the prompt
    /// ([`TextModel::option_logprobs`]) instead of generating an answer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub use_logprobs: bool,
}

/// OpenAI's `label_model` grader: the grading model answers one of `labels`; the score is
/// 1 if it is one of `passing_labels`, else 0 (OpenAI evals/RFT graders, "Label model
/// graders").
///
/// The answer is trimmed, unquoted and stripped of trailing `.`/`!`; a JSON
/// `{"label": …}` answer is read too. It must equal a label exactly, or, failing that,
/// case-insensitively (when only one label matches). Any other answer scores 0 with a
/// [`Failure::Model`] reason. With `use_logprobs`, the label is the one the model finds
/// most likely as the next text instead.
pub struct LabelModel {
    name: String,
    model: Arc<dyn TextModel>,
    prompt: Prompt,
    labels: Vec<String>,
    passing: Vec<String>,
    params: SamplingParams,
    use_logprobs: bool,
}

impl LabelModel {
    /// The grader for `config`, its model taken from `ctx`. `passing_labels` must be a
    /// non-empty subset of `labels`.
    pub fn new(config: &LabelModelConfig, ctx: &BuildContext) -> Result<Self, FieldError> {
        if config.labels.is_empty() {
            return Err(FieldError::new("labels", "expected at least one label"));
        }
        for (i, l) in config.labels.iter().enumerate() {
            if l.trim().is_empty() {
                return Err(FieldError::new(
                    format!("labels[{i}]"),
                    "expected a non-empty label",
                ));
            }
            if config.labels[..i].contains(l) {
                return Err(FieldError::new(
                    format!("labels[{i}]"),
                    format!("duplicate label {l:?}"),
                ));
            }
        }
        if config.passing_labels.is_empty() {
            return Err(FieldError::new(
                "passing_labels",
                "expected at least one passing label",
            ));
        }
        for (i, p) in config.passing_labels.iter().enumerate() {
            if !config.labels.contains(p) {
                return Err(FieldError::new(
                    format!("passing_labels[{i}]"),
                    format!(
                        "{p:?} is not one of `labels` ({}): passing_labels must be a subset of labels",
                        config
                            .labels
                            .iter()
                            .map(|l| format!("{l:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        config.sampling_params.validate()?;
        Ok(Self {
            name: config.name.clone(),
            model: find_model(ctx, &config.model)?,
            prompt: Prompt::new(&config.input)?,
            labels: config.labels.clone(),
            passing: config.passing_labels.clone(),
            params: config.sampling_params.clone(),
            use_logprobs: config.use_logprobs,
        })
    }

    fn label_grade(&self, label: &str, how: &str) -> GradeResult {
        let passed = self.passing.iter().any(|p| p == label);
        let verdict = if passed { "passing" } else { "not passing" };
        GradeResult::pass(passed, format!("model {how} {label:?} ({verdict})"))
    }

    fn grade_answer(&self, answer: &str) -> GradeResult {
        match match_label(answer, &self.labels) {
            Some(label) => self.label_grade(label, "answered"),
            None => GradeResult::fail(
                Failure::Model,
                format!(
                    "the grading model answered {}, which is not one of the labels ({})",
                    quote(answer),
                    self.labels
                        .iter()
                        .map(|l| format!("{l:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }

    fn grade_logprobs(&self, sample: &GraderSample, item: &Item) -> GradeResult {
        let prompt = match self.prompt.render(sample, item) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let lps = match self.model.option_logprobs(&prompt, &self.labels) {
            Ok(l) => l,
            Err(e) => return GradeResult::fail(Failure::Model, e),
        };
        let best = self
            .labels
            .iter()
            .zip(&lps)
            .filter_map(|(l, lp)| lp.filter(|v| v.is_finite()).map(|v| (l, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((label, lp)) => self.label_grade(label, &format!("gives log p = {lp:.4} to")),
            None => GradeResult::fail(
                Failure::Model,
                format!(
                    "model `{}` gave no log-probability for any label",
                    self.model.name()
                ),
            ),
        }
    }
}

/// The label `answer` names: exact after trimming quotes and final `.`/`!`, or the one
/// label equal ignoring case; a JSON `{"label": …}` answer is read too.
pub(crate) fn match_label<'l>(answer: &str, labels: &'l [String]) -> Option<&'l String> {
    let json_label = match GraderSample::from_text(answer).output_json {
        Some(serde_json::Value::Object(o)) => {
            o.get("label").and_then(|v| v.as_str()).map(str::to_string)
        }
        _ => None,
    };
    let raw = json_label.unwrap_or_else(|| answer.to_string());
    let cleaned = raw
        .trim()
        .trim_end_matches(['.', '!'])
        .trim_matches(|c| c == '"' || c == '\'' || c == '`')
        .trim();
    if let Some(l) = labels.iter().find(|l| l.as_str() == cleaned) {
        return Some(l);
    }
    let mut ci = labels
        .iter()
        .filter(|l| l.to_lowercase() == cleaned.to_lowercase());
    match (ci.next(), ci.next()) {
        (Some(l), None) => Some(l),
        _ => None,
    }
}

impl Grader for LabelModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "label_model"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        self.grade_batch(&[(sample, item)]).remove(0)
    }

    fn grade_batch(&mut self, batch: &[(&GraderSample, &Item)]) -> Vec<GradeResult> {
        if self.use_logprobs {
            return batch
                .iter()
                .map(|(s, i)| self.grade_logprobs(s, i))
                .collect();
        }
        run_batch(&self.model, &self.prompt, &self.params.options(), batch)
            .into_iter()
            .map(|r| match r {
                Ok(answer) => self.grade_answer(&answer),
                Err(failed) => failed,
            })
            .collect()
    }
}

impl std::fmt::Debug for LabelModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelModel")
            .field("name", &self.name)
            .field("model", &self.model.name())
            .field("labels", &self.labels)
            .field("passing_labels", &self.passing)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::match_label;

    #[test]
    fn answers_match_labels() {
        let labels = vec!["correct".to_string(), "incorrect".to_string()];
        assert_eq!(match_label(" Correct.", &labels).unwrap(), "correct");
        assert_eq!(match_label("\"incorrect\"", &labels).unwrap(), "incorrect");
        assert_eq!(
            match_label("{\"label\": \"correct\"}", &labels).unwrap(),
            "correct"
        );
        assert!(match_label("maybe", &labels).is_none());
        assert!(match_label("", &labels).is_none());
    }
}
