//! Helpers shared by the formats: reading typed fields out of a JSON object with
//! [`Problem`]s that name the field, and writing [`Text`]s and numbers back.

use serde_json::{Map, Number, Value};

use super::ReadOptions;
use super::report::{Problem, Reason};
use crate::record::{Message, Text};

/// What a [`Text`] field holds, in the words of error messages.
pub(crate) const TEXT_EXPECTED: &str =
    "a string or a list of {\"role\": ..., \"content\": ...} messages";

/// A short description of a JSON value, for error messages: its kind and (for short
/// values) the value, e.g. `a number (3)`, `null`.
pub(crate) fn describe(value: &Value) -> String {
    const MAX_CHARS: usize = 40;
    let kind = match value {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(a) if a.is_empty() => return "an empty array".to_string(),
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let text = value.to_string();
    let short = if text.chars().count() > MAX_CHARS {
        format!("{}…", text.chars().take(MAX_CHARS).collect::<String>())
    } else {
        text
    };
    format!("{kind} ({short})")
}

/// A short quoted excerpt of a text, for error messages.
pub(crate) fn excerpt(text: &Text) -> String {
    const MAX_CHARS: usize = 60;
    let full = match text {
        Text::Plain(s) => format!("{s:?}"),
        Text::Chat(m) => serde_json::to_string(m).unwrap_or_default(),
    };
    if full.chars().count() > MAX_CHARS {
        format!("{}…", full.chars().take(MAX_CHARS).collect::<String>())
    } else {
        full
    }
}

/// The record as an object, or a [`Reason::NotAnObject`] problem listing `fields`.
pub(crate) fn object<'a>(
    value: &'a Value,
    fields: &str,
) -> Result<&'a Map<String, Value>, Problem> {
    value.as_object().ok_or_else(|| {
        Problem::new(
            Reason::NotAnObject,
            "<record>",
            format!("a JSON object with fields {fields}"),
            describe(value),
        )
    })
}

/// A required field (present and not `null`).
pub(crate) fn required<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
    expected: &str,
) -> Result<&'a Value, Problem> {
    match obj.get(name) {
        Some(Value::Null) => Err(Problem::new(
            Reason::WrongType(name),
            name,
            expected,
            "null",
        )),
        Some(v) => Ok(v),
        None => {
            let present: Vec<String> = obj.keys().map(|k| format!("`{k}`")).collect();
            let got = if present.is_empty() {
                "nothing (the field is missing; the record is empty)".to_string()
            } else {
                format!(
                    "nothing (the field is missing; the record has {})",
                    present.join(", ")
                )
            };
            Err(Problem::new(
                Reason::MissingField(name),
                name,
                expected,
                got,
            ))
        }
    }
}

/// An optional field: `None` when absent or `null`.
pub(crate) fn optional<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

/// A required [`Text`] field.
pub(crate) fn required_text(
    obj: &Map<String, Value>,
    name: &'static str,
    opts: &ReadOptions,
) -> Result<Text, Problem> {
    parse_text(required(obj, name, TEXT_EXPECTED)?, name, name, opts)
}

/// A [`Text`]: a string, or a list of `{"role", "content"}` messages (both strings,
/// the role non-empty). `top` is the top-level field (the reason's key), `at` the place
/// of the value (e.g. `completions[2]`). Message fields other than `role` and
/// `content` are ignored, or rejected under `opts.deny_unknown_fields`.
pub(crate) fn parse_text(
    value: &Value,
    top: &'static str,
    at: &str,
    opts: &ReadOptions,
) -> Result<Text, Problem> {
    match value {
        Value::String(s) => Ok(Text::Plain(s.clone())),
        Value::Array(items) => {
            let mut messages = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let here = format!("{at}[{i}]");
                let Some(m) = item.as_object() else {
                    return Err(Problem::new(
                        Reason::InvalidMessage(top),
                        here,
                        "a message {\"role\": string, \"content\": string}",
                        describe(item),
                    ));
                };
                let string = |key: &str| match m.get(key) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    other => Err(Problem::new(
                        Reason::InvalidMessage(top),
                        format!("{here}.{key}"),
                        "a string",
                        other
                            .map(describe)
                            .unwrap_or_else(|| "nothing (the field is missing)".to_string()),
                    )),
                };
                let role = string("role")?;
                if role.trim().is_empty() {
                    return Err(Problem::new(
                        Reason::InvalidMessage(top),
                        format!("{here}.role"),
                        "a non-empty role such as \"user\" or \"assistant\"",
                        format!("{role:?}"),
                    ));
                }
                let content = string("content")?;
                if opts.deny_unknown_fields
                    && let Some(key) = m.keys().find(|k| *k != "role" && *k != "content")
                {
                    return Err(Problem::new(
                        Reason::UnknownField,
                        format!("{here}.{key}"),
                        "only `role` and `content` in a message (unknown fields are denied)",
                        format!("an unknown field `{key}`"),
                    ));
                }
                messages.push(Message { role, content });
            }
            Ok(Text::Chat(messages))
        }
        other => Err(Problem::new(
            Reason::WrongType(top),
            at,
            TEXT_EXPECTED,
            describe(other),
        )),
    }
}

/// A required number field.
pub(crate) fn required_number(
    obj: &Map<String, Value>,
    name: &'static str,
    expected: &str,
) -> Result<f64, Problem> {
    number(required(obj, name, expected)?, name, name, expected)
}

/// A number (any JSON number; `expected` words the error otherwise).
pub(crate) fn number(
    value: &Value,
    top: &'static str,
    at: &str,
    expected: &str,
) -> Result<f64, Problem> {
    value
        .as_f64()
        .ok_or_else(|| Problem::new(Reason::WrongType(top), at, expected, describe(value)))
}

/// An optional margin: absent/`null`, or a finite non-negative number.
pub(crate) fn optional_margin(obj: &Map<String, Value>) -> Result<Option<f64>, Problem> {
    const EXPECTED: &str = "a non-negative number (or no field)";
    let Some(v) = optional(obj, "margin") else {
        return Ok(None);
    };
    let m = number(v, "margin", "margin", EXPECTED)?;
    check_margin(m)?;
    Ok(Some(m))
}

/// A margin must be finite and non-negative.
pub(crate) fn check_margin(m: f64) -> Result<(), Problem> {
    if m.is_finite() && m >= 0.0 {
        Ok(())
    } else {
        Err(Problem::new(
            Reason::OutOfRange("margin"),
            "margin",
            "a non-negative number (or no field)",
            format!("{m}"),
        ))
    }
}

/// A probability must be in `[0, 1]` (NaN is not).
pub(crate) fn check_probability(p: f64, name: &'static str) -> Result<(), Problem> {
    if (0.0..=1.0).contains(&p) {
        Ok(())
    } else {
        Err(Problem::new(
            Reason::OutOfRange(name),
            name,
            "a probability in [0, 1]",
            format!("{p}"),
        ))
    }
}

/// A JSON number for a finite `x`, or an out-of-range problem.
pub(crate) fn json_number(x: f64, top: &'static str, at: &str) -> Result<Value, Problem> {
    Number::from_f64(x).map(Value::Number).ok_or_else(|| {
        Problem::new(
            Reason::OutOfRange(top),
            at,
            "a finite number (JSON has no NaN or infinity)",
            format!("{x}"),
        )
    })
}

/// The JSON form of a text: a string, or a list of `{"role", "content"}` objects.
pub(crate) fn text_json(text: &Text) -> Value {
    match text {
        Text::Plain(s) => Value::String(s.clone()),
        Text::Chat(messages) => Value::Array(
            messages
                .iter()
                .map(|m| {
                    let mut o = Map::new();
                    o.insert("role".into(), Value::String(m.role.clone()));
                    o.insert("content".into(), Value::String(m.content.clone()));
                    Value::Object(o)
                })
                .collect(),
        ),
    }
}

/// Whether two texts are of the same form (both plain or both conversational).
pub(crate) fn same_form(a: &Text, b: &Text) -> bool {
    matches!(
        (a, b),
        (Text::Plain(_), Text::Plain(_)) | (Text::Chat(_), Text::Chat(_))
    )
}

/// The form of a text, in words.
pub(crate) fn form_name(t: &Text) -> &'static str {
    match t {
        Text::Plain(_) => "a string",
        Text::Chat(_) => "a list of messages",
    }
}

/// A [`Reason::MixedForms`] problem unless `text` has the form of `reference`.
pub(crate) fn check_form(
    text: &Text,
    reference: &Text,
    reference_name: &str,
    top: &'static str,
    at: &str,
) -> Result<(), Problem> {
    if same_form(text, reference) {
        Ok(())
    } else {
        Err(Problem::new(
            Reason::MixedForms(top),
            at,
            format!(
                "the same form as `{reference_name}` ({})",
                form_name(reference)
            ),
            form_name(text),
        ))
    }
}

/// A [`Reason::EmptyText`] problem if `text` is blank; `what` names it (`completion`,
/// `prompt`).
pub(crate) fn check_not_blank(
    text: &Text,
    top: &'static str,
    at: &str,
    what: &str,
) -> Result<(), Problem> {
    if text.is_blank() {
        Err(Problem::new(
            Reason::EmptyText(top),
            at,
            format!("a non-empty {what}"),
            match text {
                Text::Plain(s) => format!("{s:?}"),
                Text::Chat(m) if m.is_empty() => "an empty list of messages".to_string(),
                Text::Chat(_) => "messages whose contents are all empty".to_string(),
            },
        ))
    } else {
        Ok(())
    }
}

/// Whether two completions count as the same: equal after trimming surrounding
/// whitespace (of the string, or of each message's content, roles equal).
pub(crate) fn same_text(a: &Text, b: &Text) -> bool {
    match (a, b) {
        (Text::Plain(x), Text::Plain(y)) => x.trim() == y.trim(),
        (Text::Chat(x), Text::Chat(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(m, n)| m.role == n.role && m.content.trim() == n.content.trim())
        }
        _ => false,
    }
}

/// A [`Reason::IdenticalCompletions`] problem if `b` is the same as `a`.
pub(crate) fn check_distinct(a: &Text, b: &Text, a_name: &str, b_at: &str) -> Result<(), Problem> {
    if same_text(a, b) {
        Err(Problem::new(
            Reason::IdenticalCompletions,
            b_at,
            format!("a completion different from `{a_name}`"),
            format!("the same text: {}", excerpt(b)),
        ))
    } else {
        Ok(())
    }
}
