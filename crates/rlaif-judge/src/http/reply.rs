//! Reading OpenAI-compatible replies: the text of `/v1/completions` and
//! `/v1/chat/completions`, and the first position's top log-probabilities.

use serde_json::Value;

use super::error::{HttpError, preview};

/// `choices[0]` of a reply.
fn first_choice<'a>(url: &str, reply: &'a Value) -> Result<&'a Value, HttpError> {
    let shape = |what: &str| HttpError::Shape {
        url: url.to_string(),
        field: "choices".into(),
        what: what.to_string(),
    };
    match reply.get("choices") {
        None => Err(shape("is missing")),
        Some(Value::Array(a)) if a.is_empty() => Err(shape("is empty")),
        Some(Value::Array(a)) => Ok(&a[0]),
        Some(other) => Err(shape(&format!(
            "is not a list: {}",
            preview(&other.to_string(), 80)
        ))),
    }
}

/// [`HttpError::Refused`] when the choice finished on the content filter.
fn check_filter(url: &str, choice: &Value) -> Result<(), HttpError> {
    match choice.get("finish_reason").and_then(Value::as_str) {
        Some("content_filter") => Err(HttpError::Refused {
            url: url.to_string(),
            message: "finish_reason = content_filter".into(),
        }),
        _ => Ok(()),
    }
}

/// The text of a `/v1/completions` reply: `choices[0].text`.
pub(crate) fn completion_text(url: &str, reply: &Value) -> Result<String, HttpError> {
    let choice = first_choice(url, reply)?;
    check_filter(url, choice)?;
    match choice.get("text") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(HttpError::Shape {
            url: url.to_string(),
            field: "choices[0].text".into(),
            what: format!("is not a string: {}", preview(&other.to_string(), 80)),
        }),
        None => Err(HttpError::Shape {
            url: url.to_string(),
            field: "choices[0].text".into(),
            what: "is missing".into(),
        }),
    }
}

/// The text of a `/v1/chat/completions` reply: `choices[0].message.content`;
/// [`HttpError::Refused`] when the message carries a `refusal`.
pub(crate) fn chat_text(url: &str, reply: &Value) -> Result<String, HttpError> {
    let choice = first_choice(url, reply)?;
    check_filter(url, choice)?;
    let shape = |field: &str, what: String| HttpError::Shape {
        url: url.to_string(),
        field: field.to_string(),
        what,
    };
    let message = choice
        .get("message")
        .ok_or_else(|| shape("choices[0].message", "is missing".into()))?;
    if let Some(r) = message.get("refusal").and_then(Value::as_str) {
        return Err(HttpError::Refused {
            url: url.to_string(),
            message: preview(r, 200),
        });
    }
    match message.get("content") {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(shape(
            "choices[0].message.content",
            "is missing or null".into(),
        )),
        Some(other) => Err(shape(
            "choices[0].message.content",
            format!("is not a string: {}", preview(&other.to_string(), 80)),
        )),
    }
}

/// The top tokens and log-probs at the first generated position: from
/// `choices[0].logprobs.top_logprobs[0]` (`{token: logprob}`, completions) or
/// `choices[0].logprobs.content[0].top_logprobs` (`[{token, logprob}]`, chat). `None`
/// when the reply carries no log-probs (a server that does not offer them).
pub(crate) fn first_top_logprobs(
    url: &str,
    reply: &Value,
    chat: bool,
) -> Result<Option<Vec<(String, f64)>>, HttpError> {
    let choice = first_choice(url, reply)?;
    check_filter(url, choice)?;
    let shape = |field: &str, what: String| HttpError::Shape {
        url: url.to_string(),
        field: field.to_string(),
        what,
    };
    let Some(lp) = choice.get("logprobs").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let mut out = Vec::new();
    if chat {
        let field = "choices[0].logprobs.content[0].top_logprobs";
        let Some(first) = lp.get("content").and_then(|c| c.get(0)) else {
            return Ok(None);
        };
        let list = match first.get("top_logprobs") {
            Some(Value::Array(a)) => a,
            Some(Value::Null) | None => return Ok(None),
            Some(other) => {
                return Err(shape(
                    field,
                    format!("is not a list: {}", preview(&other.to_string(), 80)),
                ));
            }
        };
        for (i, entry) in list.iter().enumerate() {
            let token = entry.get("token").and_then(Value::as_str);
            let logprob = entry.get("logprob").and_then(Value::as_f64);
            match (token, logprob) {
                (Some(t), Some(l)) => out.push((t.to_string(), l)),
                _ => {
                    return Err(shape(
                        &format!("{field}[{i}]"),
                        format!(
                            "lacks a string `token` and a numeric `logprob`: {}",
                            preview(&entry.to_string(), 80)
                        ),
                    ));
                }
            }
        }
    } else {
        let field = "choices[0].logprobs.top_logprobs[0]";
        let Some(first) = lp.get("top_logprobs").and_then(|t| t.get(0)) else {
            return Ok(None);
        };
        match first {
            Value::Object(map) => {
                for (token, l) in map {
                    let l = l.as_f64().ok_or_else(|| {
                        shape(
                            &format!("{field}[{token:?}]"),
                            format!("is not a number: {l}"),
                        )
                    })?;
                    out.push((token.clone(), l));
                }
            }
            Value::Null => return Ok(None),
            other => {
                return Err(shape(
                    field,
                    format!(
                        "is not an object of token log-probs: {}",
                        preview(&other.to_string(), 80)
                    ),
                ));
            }
        }
    }
    Ok(Some(out))
}

/// Each option's log-prob among the reported top tokens: the log of the summed
/// probabilities of the tokens equal to the option once both are trimmed of whitespace (so
/// `" A"` and `"A"` both count for option `"A"`); `None` when no reported token matches.
/// Only an option that is one token of the server's tokenizer can be found this way.
pub(crate) fn match_options(top: &[(String, f64)], options: &[String]) -> Vec<Option<f64>> {
    options
        .iter()
        .map(|o| {
            let o = o.trim();
            let matches: Vec<f64> = top
                .iter()
                .filter(|(t, l)| !o.is_empty() && t.trim() == o && l.is_finite())
                .map(|(_, l)| *l)
                .collect();
            let max = matches.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (!matches.is_empty())
                .then(|| max + matches.iter().map(|l| (l - max).exp()).sum::<f64>().ln())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_match_trimmed_tokens_and_sum_variants() {
        let top = vec![
            (" A".to_string(), (0.5f64).ln()),
            ("A".to_string(), (0.25f64).ln()),
            (" B".to_string(), (0.125f64).ln()),
        ];
        let got = match_options(&top, &["A".into(), "B".into(), "C".into()]);
        assert!((got[0].unwrap() - 0.75f64.ln()).abs() < 1e-12);
        assert!((got[1].unwrap() - 0.125f64.ln()).abs() < 1e-12);
        assert_eq!(got[2], None);
    }

    #[test]
    fn both_logprob_shapes_are_read() {
        let completions = json!({"choices": [{"text": "A", "logprobs": {"top_logprobs": [{" A": -0.1, " B": -2.5}]}}]});
        let top = first_top_logprobs("u", &completions, false)
            .unwrap()
            .unwrap();
        assert_eq!(top.len(), 2);
        let chat = json!({"choices": [{"message": {"content": "A"}, "logprobs": {"content": [{"token": "A", "logprob": -0.1, "top_logprobs": [{"token": "A", "logprob": -0.1}, {"token": "B", "logprob": -3.0}]}]}}]});
        let top = first_top_logprobs("u", &chat, true).unwrap().unwrap();
        assert_eq!(top[1], ("B".to_string(), -3.0));
        let none = json!({"choices": [{"text": "A"}]});
        assert_eq!(first_top_logprobs("u", &none, false).unwrap(), None);
        let bad = json!({"choices": [{"logprobs": {"top_logprobs": [{"A": "x"}]}}]});
        let e = first_top_logprobs("u", &bad, false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a number"), "{e}");
    }

    #[test]
    fn refusals_and_missing_fields_are_errors() {
        let refused = json!({"choices": [{"message": {"content": null, "refusal": "I can't help with that."}}]});
        assert!(matches!(
            chat_text("u", &refused),
            Err(HttpError::Refused { .. })
        ));
        let filtered = json!({"choices": [{"text": "", "finish_reason": "content_filter"}]});
        assert!(matches!(
            completion_text("u", &filtered),
            Err(HttpError::Refused { .. })
        ));
        let e = completion_text("u", &json!({"choices": []}))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "u: unexpected reply: `choices` is empty");
        let e = completion_text("u", &json!({"choices": [{"text": 3}]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`choices[0].text` is not a string"), "{e}");
    }
}
