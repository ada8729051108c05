//! `score_model`: a grading model reads a rubric and answers with a number.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::model_prompt::{
    MessageTemplate, Prompt, SamplingParams, default_model, find_model, run_batch,
};
use super::{BuildContext, Failure, FieldError, GradeResult, Grader, GraderSample, Item, quote};
use crate::backend::TextModel;

fn default_range() -> [f64; 2] {
    [0.0, 1.0]
}

/// Configuration of a [`ScoreModel`] grader (`type = "score_model"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreModelConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Name of the grading model in the [`BuildContext`] (default `"default"`).
    #[serde(default = "default_model")]
    pub model: String,
    /// The prompt: messages whose contents are templates (the rubric, the item, the
    /// sample).
    pub input: Vec<MessageTemplate>,
    /// `[min, max]` of the score (default `[0, 1]`); answers outside are clamped.
    #[serde(default = "default_range")]
    pub range: [f64; 2],
    /// Sampling parameters of the grading model.
    #[serde(default)]
    pub sampling_params: SamplingParams,
    /// Score at or above which the grade counts as passed; reported in the reason only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

/// OpenAI's `score_model` grader: the templated `input` messages are sent to a grading
/// model, whose answer is read as a number and clamped to `range` (OpenAI RFT graders
/// guide, "Score model graders").
///
/// The answer is read as: a JSON object with a numeric `result` (OpenAI's structured
/// output) or `score`; else the whole trimmed answer as a number; else its last line as a
/// number. Anything else — and a non-finite number — scores 0 with a
/// [`Failure::Model`] reason quoting the answer. The score is not rescaled.
pub struct ScoreModel {
    name: String,
    model: Arc<dyn TextModel>,
    prompt: Prompt,
    range: [f64; 2],
    params: SamplingParams,
    pass_threshold: Option<f64>,
}

impl ScoreModel {
    /// The grader for `config`, its model taken from `ctx`.
    pub fn new(config: &ScoreModelConfig, ctx: &BuildContext) -> Result<Self, FieldError> {
        let [lo, hi] = config.range;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(FieldError::new(
                "range",
                format!("expected [min, max] with finite min < max, got [{lo}, {hi}]"),
            ));
        }
        config.sampling_params.validate()?;
        Ok(Self {
            name: config.name.clone(),
            model: find_model(ctx, &config.model)?,
            prompt: Prompt::new(&config.input)?,
            range: config.range,
            params: config.sampling_params.clone(),
            pass_threshold: config.pass_threshold,
        })
    }

    fn score_answer(&self, answer: &str) -> GradeResult {
        let Some(value) = parse_number_answer(answer) else {
            return GradeResult::fail(
                Failure::Model,
                format!(
                    "expected a number from the grading model, got {}",
                    quote(answer)
                ),
            );
        };
        let [lo, hi] = self.range;
        let score = value.clamp(lo, hi);
        let clamped = if score != value {
            format!(" (clamped from {value} to [{lo}, {hi}])")
        } else {
            String::new()
        };
        let verdict = match self.pass_threshold {
            Some(t) if score >= t => format!(" (pass: ≥ {t})"),
            Some(t) => format!(" (fail: < {t})"),
            None => String::new(),
        };
        GradeResult::new(score, format!("model score {score}{clamped}{verdict}"))
    }
}

/// A number from a grading model's answer: JSON `{"result": x}` or `{"score": x}`, the
/// whole trimmed answer, or its last line; `None` if none is a finite number.
pub(crate) fn parse_number_answer(answer: &str) -> Option<f64> {
    let parse = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    if let Some(serde_json::Value::Object(o)) = GraderSample::from_text(answer).output_json {
        return ["result", "score"]
            .iter()
            .find_map(|k| o.get(*k).and_then(serde_json::Value::as_f64))
            .filter(|v| v.is_finite());
    }
    parse(answer).or_else(|| answer.trim().lines().last().and_then(parse))
}

impl Grader for ScoreModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "score_model"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        self.grade_batch(&[(sample, item)]).remove(0)
    }

    fn grade_batch(&mut self, batch: &[(&GraderSample, &Item)]) -> Vec<GradeResult> {
        run_batch(&self.model, &self.prompt, &self.params.options(), batch)
            .into_iter()
            .map(|r| match r {
                Ok(answer) => self.score_answer(&answer),
                Err(failed) => failed,
            })
            .collect()
    }
}

impl std::fmt::Debug for ScoreModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScoreModel")
            .field("name", &self.name)
            .field("model", &self.model.name())
            .field("range", &self.range)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::parse_number_answer;

    #[test]
    fn answers_read_as_numbers() {
        assert_eq!(parse_number_answer(" 0.7 "), Some(0.7));
        assert_eq!(
            parse_number_answer("{\"result\": 3, \"steps\": []}"),
            Some(3.0)
        );
        assert_eq!(parse_number_answer("The rubric says...\n8"), Some(8.0));
        assert_eq!(parse_number_answer("good"), None);
        assert_eq!(parse_number_answer("NaN"), None);
        assert_eq!(parse_number_answer("{\"result\": \"high\"}"), None);
    }
}
