//! What a grader reads: the model's output ([`GraderSample`]) and the dataset row
//! ([`Item`]).

use serde_json::{Map, Value};

/// A dataset row: the reference answer and any other fields, as OpenAI's RFT `item`
/// namespace (`{{ item.reference_answer }}`).
pub type Item = Map<String, Value>;

/// The model output being graded, as OpenAI's `sample` namespace: `output_text`, and
/// `output_json` when the output is JSON.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct GraderSample {
    /// The output text.
    pub output_text: String,
    /// The output parsed as JSON, when it is a JSON object or array (possibly inside a
    /// single Markdown code fence, ```` ```json … ``` ````); `None` otherwise.
    pub output_json: Option<Value>,
}

impl GraderSample {
    /// A sample of `text`, with [`output_json`](Self::output_json) parsed from it when it
    /// is a JSON object or array.
    pub fn from_text(text: impl Into<String>) -> Self {
        let output_text = text.into();
        let output_json = parse_json_output(&output_text);
        Self {
            output_text,
            output_json,
        }
    }

    /// A sample with the given text and JSON (for outputs produced with a response
    /// format, whose JSON the caller already has).
    pub fn with_json(text: impl Into<String>, json: Option<Value>) -> Self {
        Self {
            output_text: text.into(),
            output_json: json,
        }
    }
}

/// The JSON object or array in `text` (trimmed, optionally in one code fence).
fn parse_json_output(text: &str) -> Option<Value> {
    let mut body = text.trim();
    if let Some(rest) = body.strip_prefix("```")
        && let Some(inner) = rest.strip_suffix("```")
    {
        // Drop the info string (`json`) on the fence's first line.
        body = inner.split_once('\n').map_or("", |(_, b)| b).trim();
    }
    if !(body.starts_with('{') || body.starts_with('[')) {
        return None;
    }
    match serde_json::from_str::<Value>(body) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => Some(v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_parsed_only_when_the_output_is_json() {
        assert!(GraderSample::from_text("42").output_json.is_none());
        assert!(GraderSample::from_text("{\"a\": ").output_json.is_none());
        let s = GraderSample::from_text(" {\"a\": 1} ");
        assert_eq!(s.output_json.unwrap()["a"], 1);
        let s = GraderSample::from_text("```json\n[1, 2]\n```");
        assert_eq!(s.output_json.unwrap()[1], 2);
    }
}
