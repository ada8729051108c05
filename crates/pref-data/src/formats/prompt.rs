//! Prompt-only datasets for on-policy methods (PPO, GRPO, RFT): `{"prompt", "reference"?}`.

use serde_json::{Map, Value};

use super::report::{Problem, Reason};
use super::value::{check_not_blank, describe, object, optional, required_text, text_json};
use super::{Format, ReadOptions};
use crate::record::PromptExample;

/// Field names accepted for the reference answer, the canonical one first. Only the
/// canonical name is written.
pub const REFERENCE_ALIASES: [&str; 4] = ["reference", "answer", "solution", "ground_truth"];

/// Prompt-only records: `{"prompt"}` (string or messages, non-empty) with an optional
/// reference answer for graders, a string under `reference` or one of its aliases
/// `answer`, `solution`, `ground_truth` (the names common datasets use; see
/// [`REFERENCE_ALIASES`]). Two of them in one record is a
/// [`Reason::ConflictingFields`] problem; `null` counts as absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromptOnly;

const FIELDS: &[&str] = &["prompt", "reference", "answer", "solution", "ground_truth"];

impl Format for PromptOnly {
    type Record = PromptExample;

    fn name(&self) -> &'static str {
        "prompt-only"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<PromptExample, Problem> {
        let obj = object(value, "`prompt` and optionally `reference`")?;
        let prompt = required_text(obj, "prompt", opts)?;
        check_not_blank(&prompt, "prompt", "prompt", "prompt")?;
        let present: Vec<&str> = REFERENCE_ALIASES
            .into_iter()
            .filter(|k| optional(obj, k).is_some())
            .collect();
        if present.len() > 1 {
            return Err(Problem::new(
                Reason::ConflictingFields("reference"),
                present[1],
                format!(
                    "at most one reference answer (`reference` or an alias: {})",
                    REFERENCE_ALIASES[1..].join(", ")
                ),
                format!("both `{}` and `{}`", present[0], present[1]),
            ));
        }
        let reference = match present.first() {
            None => None,
            Some(&name) => match &obj[name] {
                Value::String(s) if s.trim().is_empty() => {
                    return Err(Problem::new(
                        Reason::EmptyText("reference"),
                        name,
                        "a non-empty reference answer, or no field",
                        format!("{s:?}"),
                    ));
                }
                Value::String(s) => Some(s.clone()),
                other => {
                    return Err(Problem::new(
                        Reason::WrongType("reference"),
                        name,
                        "a string (the reference answer), or no field",
                        describe(other),
                    ));
                }
            },
        };
        Ok(PromptExample { prompt, reference })
    }

    fn to_json(&self, ex: &PromptExample) -> Result<Value, Problem> {
        let mut o = Map::new();
        o.insert("prompt".into(), text_json(&ex.prompt));
        if let Some(r) = &ex.reference {
            o.insert("reference".into(), Value::String(r.clone()));
        }
        Ok(Value::Object(o))
    }
}
