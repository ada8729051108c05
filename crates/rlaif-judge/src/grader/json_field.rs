//! `json_field`: a field of the output's JSON equals a reference.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::template::Template;
use super::{Failure, FieldError, GradeResult, Grader, GraderSample, Item, quote, render};

/// Configuration of a [`JsonField`] grader (`type = "json_field"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonFieldConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// JSON pointer (RFC 6901) into `sample.output_json`, e.g. `/answer/city`.
    pub path: String,
    /// Template of the expected value, e.g. `{{ item.city }}`.
    pub value: String,
}

/// JSON field match: 1 if the value at `path` in the output's JSON equals the rendered
/// `value`, else 0. The rendered value is compared as JSON when it parses as JSON (so
/// `3`, `true`, `[1, 2]` compare as values: `3` equals `3.0`), and as a string otherwise
/// (so `Paris` equals the JSON string `"Paris"`). An output that is not JSON, or has no
/// value at `path`, is a [`Failure::MalformedOutput`].
#[derive(Clone, Debug)]
pub struct JsonField {
    name: String,
    path: String,
    value: Template,
}

impl JsonField {
    /// The grader for `config`.
    pub fn new(config: &JsonFieldConfig) -> Result<Self, FieldError> {
        if !(config.path.is_empty() || config.path.starts_with('/')) {
            return Err(FieldError::new(
                "path",
                format!(
                    "expected a JSON pointer such as \"/answer\" (empty or starting with `/`), got {:?}",
                    config.path
                ),
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            path: config.path.clone(),
            value: super::compile(&config.value, "value")?,
        })
    }
}

fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

impl Grader for JsonField {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "json_field"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let expected = match render(&self.value, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let Some(json) = &sample.output_json else {
            return GradeResult::fail(
                Failure::MalformedOutput,
                format!("the output is not JSON: {}", quote(&sample.output_text)),
            );
        };
        let Some(found) = json.pointer(&self.path) else {
            return GradeResult::fail(
                Failure::MalformedOutput,
                format!("the output's JSON has no value at {:?}", self.path),
            );
        };
        let passed = match serde_json::from_str::<Value>(&expected) {
            Ok(v) if json_equal(found, &v) => true,
            _ => matches!(found, Value::String(s) if *s == expected),
        };
        let op = if passed { "equals" } else { "differs from" };
        GradeResult::pass(
            passed,
            format!(
                "{:?} = {} {op} {}",
                self.path,
                quote(&found.to_string()),
                quote(&expected)
            ),
        )
    }
}
