//! `regex`: a regular expression matches the answer.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::template::Template;
use super::{FieldError, GradeResult, Grader, GraderSample, Item, quote, render};

fn default_input() -> String {
    "{{ sample.output_text }}".to_string()
}

/// How a [`RegexGrader`]'s pattern must match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegexMode {
    /// Anywhere in the text (Python's `re.search`).
    #[default]
    Search,
    /// The whole text (Python's `re.fullmatch`).
    FullMatch,
}

/// Configuration of a [`RegexGrader`] (`type = "regex"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Template of the text matched (default `{{ sample.output_text }}`).
    #[serde(default = "default_input")]
    pub input: String,
    /// The pattern (Rust `regex` syntax, close to Python's without look-around or
    /// back-references).
    pub pattern: String,
    /// `search` (default) or `full_match`.
    #[serde(default)]
    pub mode: RegexMode,
    /// Ignore case.
    #[serde(default)]
    pub case_insensitive: bool,
}

/// A regular-expression check: 1 if `pattern` matches the rendered `input` (anywhere, or
/// the whole text with `full_match`), else 0. An invalid pattern is rejected when the
/// grader is built.
#[derive(Clone, Debug)]
pub struct RegexGrader {
    name: String,
    input: Template,
    regex: Regex,
    mode: RegexMode,
}

impl RegexGrader {
    /// The grader for `config`.
    pub fn new(config: &RegexConfig) -> Result<Self, FieldError> {
        let source = match config.mode {
            RegexMode::Search => config.pattern.clone(),
            RegexMode::FullMatch => format!(r"\A(?:{})\z", config.pattern),
        };
        let regex = RegexBuilder::new(&source)
            .case_insensitive(config.case_insensitive)
            .build()
            .map_err(|e| FieldError::new("pattern", format!("invalid regular expression: {e}")))?;
        Ok(Self {
            name: config.name.clone(),
            input: super::compile(&config.input, "input")?,
            regex,
            mode: config.mode,
        })
    }
}

impl Grader for RegexGrader {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "regex"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let text = match render(&self.input, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let passed = self.regex.is_match(&text);
        let how = match self.mode {
            RegexMode::Search => "matches in",
            RegexMode::FullMatch => "matches all of",
        };
        let not = if passed { "" } else { "not: " };
        GradeResult::pass(
            passed,
            format!("{not}/{}/ {how} {}", self.regex.as_str(), quote(&text)),
        )
    }
}
