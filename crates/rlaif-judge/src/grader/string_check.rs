//! `string_check`: exact or substring comparison of two rendered templates.

use serde::{Deserialize, Serialize};

use super::template::Template;
use super::{FieldError, GradeResult, Grader, GraderSample, Item, render};

/// The comparison a [`StringCheck`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StringOperation {
    /// `input == reference` (case-sensitive).
    Eq,
    /// `input != reference` (case-sensitive); `neq` is accepted as an alias.
    #[serde(alias = "neq")]
    Ne,
    /// `input` contains `reference` (case-sensitive).
    Like,
    /// `input` contains `reference`, ignoring case (Unicode lowercase of both).
    Ilike,
}

/// Configuration of a [`StringCheck`] (`type = "string_check"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StringCheckConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Template of the text checked, e.g. `{{ sample.output_text }}`.
    pub input: String,
    /// Template of the reference, e.g. `{{ item.reference_answer }}`.
    pub reference: String,
    /// `eq`, `ne` (or `neq`), `like` or `ilike`.
    pub operation: StringOperation,
}

/// OpenAI's `string_check` grader: 1 if the rendered `input` and `reference` satisfy the
/// operation, else 0 (OpenAI RFT graders guide, "String check graders"):
///
/// | operation | score 1 when |
/// |---|---|
/// | `eq` | `input == reference` (case-sensitive) |
/// | `ne` (`neq`) | `input != reference` (case-sensitive) |
/// | `like` | `input` contains `reference` (case-sensitive) |
/// | `ilike` | `input` contains `reference`, case-insensitively |
///
/// No trimming or normalisation is applied, as in OpenAI's grader.
#[derive(Clone, Debug)]
pub struct StringCheck {
    name: String,
    input: Template,
    reference: Template,
    operation: StringOperation,
}

impl StringCheck {
    /// The grader for `config`.
    pub fn new(config: &StringCheckConfig) -> Result<Self, FieldError> {
        Ok(Self {
            name: config.name.clone(),
            input: super::compile(&config.input, "input")?,
            reference: super::compile(&config.reference, "reference")?,
            operation: config.operation,
        })
    }
}

impl Grader for StringCheck {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "string_check"
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
        let (passed, verb) = match self.operation {
            StringOperation::Eq => (input == reference, "equals"),
            StringOperation::Ne => (input != reference, "differs from"),
            StringOperation::Like => (input.contains(&reference), "contains"),
            StringOperation::Ilike => (
                input.to_lowercase().contains(&reference.to_lowercase()),
                "contains (ignoring case)",
            ),
        };
        let not = if passed { "" } else { "not: " };
        GradeResult::pass(
            passed,
            format!(
                "{not}input {} {verb} reference {}",
                super::quote(&input),
                super::quote(&reference)
            ),
        )
    }
}
