//! Unpaired examples for KTO-style losses: `{"prompt", "completion", "label"}`.

use serde_json::{Map, Value};

use super::report::{Problem, Reason};
use super::value::{
    check_form, check_not_blank, describe, object, required, required_text, text_json,
};
use super::{Format, ReadOptions};
use crate::record::UnpairedExample;

/// TRL's unpaired preference format (KTO): `{"prompt", "completion", "label"}` with
/// `label` a boolean (`true`: desirable). Prompt and completion are both strings or both
/// lists of messages; the completion must be non-empty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpaired;

const FIELDS: &[&str] = &["prompt", "completion", "label"];

impl Format for Unpaired {
    type Record = UnpairedExample;

    fn name(&self) -> &'static str {
        "unpaired"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<UnpairedExample, Problem> {
        let obj = object(value, "`prompt`, `completion` and `label`")?;
        let prompt = required_text(obj, "prompt", opts)?;
        let completion = required_text(obj, "completion", opts)?;
        check_form(&completion, &prompt, "prompt", "completion", "completion")?;
        check_not_blank(&completion, "completion", "completion", "completion")?;
        let label = match required(obj, "label", "a boolean (true: desirable)")? {
            Value::Bool(b) => *b,
            other => {
                return Err(Problem::new(
                    Reason::WrongType("label"),
                    "label",
                    "a boolean (true: desirable)",
                    describe(other),
                ));
            }
        };
        Ok(UnpairedExample {
            prompt,
            completion,
            label,
        })
    }

    fn to_json(&self, ex: &UnpairedExample) -> Result<Value, Problem> {
        let mut o = Map::new();
        o.insert("prompt".into(), text_json(&ex.prompt));
        o.insert("completion".into(), text_json(&ex.completion));
        o.insert("label".into(), Value::Bool(ex.label));
        Ok(Value::Object(o))
    }
}
