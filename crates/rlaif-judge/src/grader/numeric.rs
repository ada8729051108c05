//! `numeric`: the answer's number within a tolerance of the reference.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::template::Template;
use super::{Failure, FieldError, GradeResult, Grader, GraderSample, Item, quote, render};

fn default_input() -> String {
    "{{ sample.output_text }}".to_string()
}

/// Configuration of a [`Numeric`] grader (`type = "numeric"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumericConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Template of the text whose last number is the answer (default
    /// `{{ sample.output_text }}`). Ignored when `json_pointer` is set.
    #[serde(default = "default_input")]
    pub input: String,
    /// A JSON pointer (RFC 6901, e.g. `/answer`) into `sample.output_json` holding the
    /// answer (a number, or a string holding one), instead of the text's last number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointer: Option<String>,
    /// Template of the reference number, e.g. `{{ item.answer }}`.
    pub reference: String,
    /// Absolute tolerance (default 0).
    #[serde(default)]
    pub abs_tolerance: f64,
    /// Relative tolerance, a fraction of `|reference|` (default 0).
    #[serde(default)]
    pub rel_tolerance: f64,
}

/// Numeric answer check: score 1 when `|answer − reference| ≤ max(abs_tolerance,
/// rel_tolerance · |reference|)`, else 0 (with both tolerances 0: exact equality).
///
/// The answer is the last number in the rendered `input` ([`last_number`]: thousands
/// separators `1,234`, decimals, exponents, a leading sign), or the value at
/// `json_pointer` in the output's JSON. No number (or no JSON, or no value at the
/// pointer) is a [`Failure::MalformedOutput`]; a reference that is not a number is a
/// [`Failure::Template`] problem of the dataset row.
#[derive(Clone, Debug)]
pub struct Numeric {
    name: String,
    input: Template,
    json_pointer: Option<String>,
    reference: Template,
    abs_tolerance: f64,
    rel_tolerance: f64,
}

impl Numeric {
    /// The grader for `config`.
    pub fn new(config: &NumericConfig) -> Result<Self, FieldError> {
        for (field, v) in [
            ("abs_tolerance", config.abs_tolerance),
            ("rel_tolerance", config.rel_tolerance),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(FieldError::new(
                    field,
                    format!("expected a finite number >= 0, got {v}"),
                ));
            }
        }
        if let Some(p) = &config.json_pointer
            && !(p.is_empty() || p.starts_with('/'))
        {
            return Err(FieldError::new(
                "json_pointer",
                format!(
                    "expected a JSON pointer such as \"/answer\" (empty or starting with `/`), got {p:?}"
                ),
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            input: super::compile(&config.input, "input")?,
            json_pointer: config.json_pointer.clone(),
            reference: super::compile(&config.reference, "reference")?,
            abs_tolerance: config.abs_tolerance,
            rel_tolerance: config.rel_tolerance,
        })
    }

    fn answer(&self, sample: &GraderSample, item: &Item) -> Result<f64, GradeResult> {
        if let Some(ptr) = &self.json_pointer {
            let Some(json) = &sample.output_json else {
                return Err(GradeResult::fail(
                    Failure::MalformedOutput,
                    format!("the output is not JSON: {}", quote(&sample.output_text)),
                ));
            };
            let Some(v) = json.pointer(ptr) else {
                return Err(GradeResult::fail(
                    Failure::MalformedOutput,
                    format!("the output's JSON has no value at {ptr:?}"),
                ));
            };
            return match v {
                serde_json::Value::Number(n) => n.as_f64().ok_or_else(|| {
                    GradeResult::fail(Failure::MalformedOutput, "number out of range")
                }),
                serde_json::Value::String(s) => last_number(s).ok_or_else(|| {
                    GradeResult::fail(
                        Failure::MalformedOutput,
                        format!("no number in {ptr:?} = {}", quote(s)),
                    )
                }),
                other => Err(GradeResult::fail(
                    Failure::MalformedOutput,
                    format!("expected a number at {ptr:?}, got {other}"),
                )),
            };
        }
        let text = render(&self.input, sample, item)?;
        last_number(&text).ok_or_else(|| {
            GradeResult::fail(
                Failure::MalformedOutput,
                format!("no number in {}", quote(&text)),
            )
        })
    }
}

/// The last number in `text`: optional sign, digits with optional `,` thousands
/// separators, optional decimals and exponent (`-1,234.5e3`, `.5`). `None` if there is
/// none (or it is not finite).
pub fn last_number(text: &str) -> Option<f64> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
            .expect("valid regex")
    });
    re.find_iter(text)
        .filter(|m| m.as_str().chars().any(|c| c.is_ascii_digit()))
        .filter_map(|m| {
            let s = m.as_str().replace(',', "");
            s.parse::<f64>().ok()
        })
        .filter(|v| v.is_finite())
        .last()
}

impl Grader for Numeric {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "numeric"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let reference_text = match render(&self.reference, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let Some(reference) = reference_text
            .trim()
            .replace(',', "")
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
        else {
            return GradeResult::fail(
                Failure::Template,
                format!("the reference {} is not a number", quote(&reference_text)),
            );
        };
        let answer = match self.answer(sample, item) {
            Ok(v) => v,
            Err(e) => return e,
        };
        let tolerance = self.abs_tolerance.max(self.rel_tolerance * reference.abs());
        let diff = (answer - reference).abs();
        let passed = diff <= tolerance;
        let op = if passed { "≤" } else { ">" };
        GradeResult::pass(
            passed,
            format!(
                "answer {answer} vs reference {reference}: |difference| {diff} {op} tolerance {tolerance}"
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::last_number;

    #[test]
    fn last_number_reads_common_forms() {
        assert_eq!(last_number("The answer is 42."), Some(42.0));
        assert_eq!(last_number("from 3 to -1,234.5"), Some(-1234.5));
        assert_eq!(last_number("x = 1e-3"), Some(0.001));
        assert_eq!(last_number("about .5"), Some(0.5));
        assert_eq!(last_number("no digits here"), None);
        assert_eq!(last_number(""), None);
        assert_eq!(last_number("ends with a dot 7."), Some(7.0));
    }
}
