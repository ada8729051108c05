//! `text_similarity`: a similarity metric between two rendered templates.

use serde::{Deserialize, Serialize};

use super::metrics;
use super::template::Template;
use super::{FieldError, GradeResult, Grader, GraderSample, Item, render};

/// The metric of a [`TextSimilarity`] grader (OpenAI's `evaluation_metric`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimilarityMetric {
    /// rapidfuzz `fuzz.ratio / 100` ([`metrics::fuzzy_ratio`]).
    FuzzyMatch,
    /// Sentence BLEU (Papineni et al. 2002; [`metrics::bleu`]).
    Bleu,
    /// Sentence GLEU (Wu et al. 2016; [`metrics::gleu`]).
    Gleu,
    /// METEOR (Banerjee & Lavie 2005; [`metrics::meteor`]), exact and stem matching.
    Meteor,
    /// ROUGE-1 F-measure (Lin 2004; [`metrics::rouge_n`]).
    #[serde(rename = "rouge_1")]
    Rouge1,
    /// ROUGE-2 F-measure.
    #[serde(rename = "rouge_2")]
    Rouge2,
    /// ROUGE-3 F-measure.
    #[serde(rename = "rouge_3")]
    Rouge3,
    /// ROUGE-4 F-measure.
    #[serde(rename = "rouge_4")]
    Rouge4,
    /// ROUGE-5 F-measure.
    #[serde(rename = "rouge_5")]
    Rouge5,
    /// ROUGE-L F-measure ([`metrics::rouge_l`]).
    #[serde(rename = "rouge_l")]
    RougeL,
}

impl SimilarityMetric {
    /// The similarity of `input` to `reference` in \[0, 1\].
    pub fn score(self, input: &str, reference: &str) -> f64 {
        use SimilarityMetric::*;
        match self {
            FuzzyMatch => metrics::fuzzy_ratio(input, reference),
            Bleu => metrics::bleu(reference, input),
            Gleu => metrics::gleu(reference, input),
            Meteor => metrics::meteor(reference, input),
            Rouge1 => metrics::rouge_n(reference, input, 1),
            Rouge2 => metrics::rouge_n(reference, input, 2),
            Rouge3 => metrics::rouge_n(reference, input, 3),
            Rouge4 => metrics::rouge_n(reference, input, 4),
            Rouge5 => metrics::rouge_n(reference, input, 5),
            RougeL => metrics::rouge_l(reference, input),
        }
    }

    /// The configuration name (`"fuzzy_match"`, `"rouge_l"`, ...).
    pub fn as_str(self) -> &'static str {
        use SimilarityMetric::*;
        match self {
            FuzzyMatch => "fuzzy_match",
            Bleu => "bleu",
            Gleu => "gleu",
            Meteor => "meteor",
            Rouge1 => "rouge_1",
            Rouge2 => "rouge_2",
            Rouge3 => "rouge_3",
            Rouge4 => "rouge_4",
            Rouge5 => "rouge_5",
            RougeL => "rouge_l",
        }
    }
}

/// Configuration of a [`TextSimilarity`] grader (`type = "text_similarity"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextSimilarityConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Template of the text graded, e.g. `{{ sample.output_text }}`.
    pub input: String,
    /// Template of the reference text.
    pub reference: String,
    /// The metric.
    pub evaluation_metric: SimilarityMetric,
    /// Similarity at or above which the grade counts as passed. Reported in the reason
    /// only: the score is the similarity itself (see [`TextSimilarity`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_threshold: Option<f64>,
}

/// OpenAI's `text_similarity` grader: the score is the metric's similarity in \[0, 1\]
/// between the rendered `input` and `reference` (OpenAI RFT graders guide, "Text
/// similarity graders").
///
/// OpenAI's fine-tuning grader schema (`/fine_tuning/alpha/graders`) has no
/// `pass_threshold`: RFT rewards are the raw similarity. Its evals variant has one, for
/// pass/fail; here it is optional and only reported (`pass`/`fail` in the reason).
///
/// | `evaluation_metric` | formula and reference |
/// |---|---|
/// | `fuzzy_match` | [`metrics::fuzzy_ratio`] (rapidfuzz, which OpenAI names) |
/// | `bleu` | [`metrics::bleu`] (Papineni et al. 2002) |
/// | `gleu` | [`metrics::gleu`] (Wu et al. 2016) |
/// | `meteor` | [`metrics::meteor`] (Banerjee & Lavie 2005) |
/// | `rouge_1` … `rouge_5`, `rouge_l` | [`metrics::rouge_n`], [`metrics::rouge_l`] (Lin 2004) |
///
/// OpenAI's `cosine` metric (embeddings; evals only) is not offered.
#[derive(Clone, Debug)]
pub struct TextSimilarity {
    name: String,
    input: Template,
    reference: Template,
    metric: SimilarityMetric,
    pass_threshold: Option<f64>,
}

impl TextSimilarity {
    /// The grader for `config`.
    pub fn new(config: &TextSimilarityConfig) -> Result<Self, FieldError> {
        if let Some(t) = config.pass_threshold
            && !t.is_finite()
        {
            return Err(FieldError::new(
                "pass_threshold",
                format!("expected a finite number, got {t}"),
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            input: super::compile(&config.input, "input")?,
            reference: super::compile(&config.reference, "reference")?,
            metric: config.evaluation_metric,
            pass_threshold: config.pass_threshold,
        })
    }
}

impl Grader for TextSimilarity {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "text_similarity"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let input = match render(&self.input, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let reference = match render(&self.reference, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let score = self.metric.score(&input, &reference);
        let verdict = match self.pass_threshold {
            Some(t) if score >= t => format!(" (pass: ≥ {t})"),
            Some(t) => format!(" (fail: < {t})"),
            None => String::new(),
        };
        GradeResult::new(
            score,
            format!("{} = {score:.6}{verdict}", self.metric.as_str()),
        )
    }
}
