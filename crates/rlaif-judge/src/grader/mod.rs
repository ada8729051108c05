//! Graders: OpenAI-style reinforcement fine-tuning (RFT) graders and a few more, each
//! scoring one model output against its dataset row.
//!
//! A [`Grader`] maps a [`GraderSample`] (the output text, and its JSON when the output is
//! JSON) and an [`Item`] (the dataset row) to a [`GradeResult`]: a score and a reason.
//! Graders never panic on what a model wrote: an empty, non-JSON or enormous output, a
//! template naming a missing field, a grading model that answers nonsense, a program that
//! hangs — each scores 0 with a reason starting with its [`Failure`] prefix. Mistakes in
//! the configuration itself are [`ConfigError`]s when the grader is built.
//!
//! | `type` | grader | score |
//! |---|---|---|
//! | `string_check` | [`StringCheck`] | 1/0: `eq`, `ne`, `like`, `ilike` |
//! | `text_similarity` | [`TextSimilarity`] | the similarity in \[0, 1\]: fuzzy match, BLEU, GLEU, METEOR, ROUGE-1…5, ROUGE-L |
//! | `score_model` | [`ScoreModel`] | a grading model's number, clamped to `range` |
//! | `label_model` | [`LabelModel`] | 1 if the model's label is in `passing_labels` |
//! | `multi` | [`Multi`] | `calculate_output` over named sub-graders |
//! | `program` | [`Program`] | the float an external command prints (in place of OpenAI's `python`) |
//! | `numeric` | [`Numeric`] | 1 if the number is within tolerance of the reference |
//! | `regex` | [`RegexGrader`] | 1 if the pattern matches |
//! | `json_field` | [`JsonField`] | 1 if the JSON field equals the reference |
//! | `multiple_choice` | [`MultipleChoice`] | 1 if the chosen letter is the reference |
//! | `lexicon` | [`Lexicon`] | (#positive − #negative words) / #words, in \[−1, 1\] |
//! | — | [`FnGrader`] | a Rust closure |
//!
//! Configurations are read from TOML or JSON ([`GraderConfig`], [`load_graders`]); a
//! [`GraderReward`](crate::GraderReward) makes any grader a reward for online RL.

mod closure;
mod config;
mod error;
pub mod formula;
mod json_field;
mod label_model;
mod lexicon;
pub mod metrics;
mod model_prompt;
mod multi;
mod multiple_choice;
mod numeric;
mod program;
mod regex_grader;
mod result;
mod sample;
mod score_model;
mod string_check;
pub mod template;
mod text_similarity;

pub use closure::FnGrader;
pub use config::{
    BuildContext, ConfigFormat, GRADER_TYPES, GraderConfig, build_graders, graders_to_json,
    graders_to_toml, load_graders, parse_graders,
};
pub use error::{ConfigError, FieldError};
pub use json_field::{JsonField, JsonFieldConfig};
pub use label_model::{LabelModel, LabelModelConfig};
pub use lexicon::{Lexicon, LexiconConfig};
pub use model_prompt::{MessageTemplate, SamplingParams};
pub use multi::{Multi, MultiConfig};
pub use multiple_choice::{MultipleChoice, MultipleChoiceConfig, extract_choice};
pub use numeric::{Numeric, NumericConfig, last_number};
pub use program::{Program, ProgramConfig};
pub use regex_grader::{RegexConfig, RegexGrader, RegexMode};
pub use result::{Failure, GradeResult};
pub use sample::{GraderSample, Item};
pub use score_model::{ScoreModel, ScoreModelConfig};
pub use string_check::{StringCheck, StringCheckConfig, StringOperation};
pub use template::Template;
pub use text_similarity::{SimilarityMetric, TextSimilarity, TextSimilarityConfig};

/// A grader: scores one model output against its dataset row.
///
/// Implementations return a finite score and never panic on model output; failures are
/// grades of 0 with a reason ([`GradeResult::fail`]). [`grade_batch`](Grader::grade_batch)
/// grades many samples at once (model graders override it to run their model on the
/// whole batch).
pub trait Grader {
    /// The grader's name (the key of its metrics and, inside a `multi` grader, its name in
    /// the formula).
    fn name(&self) -> &str;

    /// The grader's type, as in configurations (`"string_check"`, `"multi"`, ...).
    fn kind(&self) -> &'static str;

    /// Grades `sample` against `item`.
    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult;

    /// Grades every `(sample, item)` pair, in order. The default grades one at a time.
    fn grade_batch(&mut self, batch: &[(&GraderSample, &Item)]) -> Vec<GradeResult> {
        batch.iter().map(|(s, i)| self.grade(s, i)).collect()
    }
}

impl<G: Grader + ?Sized> Grader for Box<G> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn kind(&self) -> &'static str {
        (**self).kind()
    }
    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        (**self).grade(sample, item)
    }
    fn grade_batch(&mut self, batch: &[(&GraderSample, &Item)]) -> Vec<GradeResult> {
        (**self).grade_batch(batch)
    }
}

impl std::fmt::Debug for dyn Grader + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grader")
            .field("name", &self.name())
            .field("kind", &self.kind())
            .finish()
    }
}

/// Compiles the template of `field`.
pub(crate) fn compile(source: &str, field: &str) -> Result<Template, FieldError> {
    Template::new(source).map_err(|e| FieldError::new(field, format!("bad template: {e}")))
}

/// Renders `template`, or the [`Failure::Template`] grade saying why not.
pub(crate) fn render(
    template: &Template,
    sample: &GraderSample,
    item: &Item,
) -> Result<String, GradeResult> {
    template
        .render(sample, item)
        .map_err(|e| GradeResult::fail(Failure::Template, e))
}

/// A text quoted for a reason, shortened to 80 characters.
pub(crate) fn quote(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() > MAX {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}… ({} chars)", text.chars().count())
    } else {
        format!("{text:?}")
    }
}
