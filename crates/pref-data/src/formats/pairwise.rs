//! The pairwise preference format, TRL conventions: `{"prompt", "chosen", "rejected"}`,
//! plain or conversational, with an implicit prompt when `prompt` is absent.

use serde_json::{Map, Value};

use super::report::{Problem, Reason};
use super::value::{
    check_distinct, check_form, check_not_blank, json_number, object, optional, optional_margin,
    parse_text, required_text, same_form,
};
use super::{Format, ReadOptions};
use crate::record::{PreferencePair, Text};

/// TRL's preference format: `{"prompt", "chosen", "rejected"}` with plain strings or
/// lists of messages, `prompt` optional (implicit prompt, see [`extract_prompt`]), plus an
/// optional non-negative `margin` (Llama 2's preference-strength margin). Reads into
/// hard-labelled [`PreferencePair`]s (`p_chosen = 1`); soft labels have their own format,
/// [`super::SoftPairwise`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pairwise;

const FIELDS: &[&str] = &["prompt", "chosen", "rejected", "margin"];

impl Format for Pairwise {
    type Record = PreferencePair;

    fn name(&self) -> &'static str {
        "pairwise"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<PreferencePair, Problem> {
        let obj = object(
            value,
            "`chosen`, `rejected` and optionally `prompt`, `margin`",
        )?;
        let chosen = required_text(obj, "chosen", opts)?;
        let rejected = required_text(obj, "rejected", opts)?;
        check_form(&rejected, &chosen, "chosen", "rejected", "rejected")?;
        let prompt = match optional(obj, "prompt") {
            Some(v) => Some(parse_text(v, "prompt", "prompt", opts)?),
            None => None,
        };
        let (prompt, chosen, rejected) = match prompt {
            // As TRL's `maybe_extract_prompt`: a prompt of another form than the
            // completions is not their prompt.
            Some(p) if same_form(&p, &chosen) => (p, chosen, rejected),
            _ => {
                if chosen == rejected {
                    return Err(Problem::new(
                        Reason::IdenticalCompletions,
                        "rejected",
                        "a text different from `chosen` (the prompt is implicit: the shared prefix of `chosen` and `rejected`)",
                        "the same text as `chosen`",
                    ));
                }
                extract_prompt(&chosen, &rejected)
            }
        };
        check_not_blank(&chosen, "chosen", "chosen", "completion")?;
        check_not_blank(&rejected, "rejected", "rejected", "completion")?;
        check_distinct(&chosen, &rejected, "chosen", "rejected")?;
        let margin = optional_margin(obj)?;
        Ok(PreferencePair {
            prompt,
            chosen,
            rejected,
            p_chosen: 1.0,
            margin,
        })
    }

    fn to_json(&self, pair: &PreferencePair) -> Result<Value, Problem> {
        if pair.p_chosen != 1.0 {
            return Err(Problem::new(
                Reason::OutOfRange("p_chosen"),
                "p_chosen",
                "1 (a hard label; write soft labels in the soft pairwise format)",
                format!("{}", pair.p_chosen),
            ));
        }
        check_form(&pair.prompt, &pair.chosen, "chosen", "prompt", "prompt")?;
        let mut o = Map::new();
        o.insert("prompt".into(), super::value::text_json(&pair.prompt));
        o.insert("chosen".into(), super::value::text_json(&pair.chosen));
        o.insert("rejected".into(), super::value::text_json(&pair.rejected));
        if let Some(m) = pair.margin {
            o.insert("margin".into(), json_number(m, "margin", "margin")?);
        }
        Ok(Value::Object(o))
    }
}

/// Splits two full texts that share a prompt into `(prompt, chosen, rejected)`, as TRL's
/// `extract_prompt` does.
///
/// For messages the prompt is the longest common prefix of the two lists. For strings it
/// is the longest common prefix (in characters), less one character when the first
/// difference follows a space, which then starts both completions:
///
/// ```
/// use pref_data::formats::extract_prompt;
/// use pref_data::Text;
///
/// let (p, c, r) = extract_prompt(&"The sky is blue.".into(), &"The sky is green.".into());
/// assert_eq!((p, c, r), ("The sky is".into(), " blue.".into(), " green.".into()));
/// ```
///
/// Texts of different forms have no common prefix: the prompt is then empty, of the
/// form of `chosen`. Unlike TRL, a text that is a prefix of the other leaves an empty
/// completion (TRL's loop instead moves the last shared element into both completions),
/// and texts differing from their first character give an empty prompt (TRL's
/// `chosen[idx - 1]` wraps around to the last character).
pub fn extract_prompt(chosen: &Text, rejected: &Text) -> (Text, Text, Text) {
    match (chosen, rejected) {
        (Text::Plain(c), Text::Plain(r)) => {
            let mut split = c.len().min(r.len());
            let mut previous = None;
            for ((i, a), b) in c.char_indices().zip(r.chars()) {
                if a != b {
                    // `' '` is one byte, so `i - 1` is a char boundary.
                    split = if previous == Some(' ') { i - 1 } else { i };
                    break;
                }
                previous = Some(a);
            }
            (
                Text::Plain(c[..split].to_string()),
                Text::Plain(c[split..].to_string()),
                Text::Plain(r[split..].to_string()),
            )
        }
        (Text::Chat(c), Text::Chat(r)) => {
            let split = c.iter().zip(r).take_while(|(a, b)| a == b).count();
            (
                Text::Chat(c[..split].to_vec()),
                Text::Chat(c[split..].to_vec()),
                Text::Chat(r[split..].to_vec()),
            )
        }
        (Text::Plain(_), _) => (Text::Plain(String::new()), chosen.clone(), rejected.clone()),
        (Text::Chat(_), _) => (Text::Chat(Vec::new()), chosen.clone(), rejected.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Message;
    use serde_json::json;

    fn parse(v: Value) -> Result<PreferencePair, Problem> {
        Pairwise.parse(&v, &ReadOptions::default())
    }

    #[test]
    fn explicit_plain_and_conversational() {
        let p = parse(json!({"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}))
            .unwrap();
        assert_eq!(p, PreferencePair::new("The sky is", " blue.", " green."));
        let user = json!({"role": "user", "content": "What color is the sky?"});
        let p = parse(json!({
            "prompt": [user],
            "chosen": [{"role": "assistant", "content": "It is blue."}],
            "rejected": [{"role": "assistant", "content": "It is green."}],
            "margin": 0.5,
        }))
        .unwrap();
        assert_eq!(
            p.prompt,
            Text::Chat(vec![Message::new("user", "What color is the sky?")])
        );
        assert_eq!(p.margin, Some(0.5));
    }

    /// The examples of TRL's `extract_prompt` docstring and tests.
    #[test]
    fn implicit_prompt_matches_trl() {
        let p =
            parse(json!({"chosen": "The sky is blue.", "rejected": "The sky is green."})).unwrap();
        assert_eq!(p, PreferencePair::new("The sky is", " blue.", " green."));

        let q = json!({"role": "user", "content": "What color is the sky?"});
        let p = parse(json!({
            "chosen": [q, {"role": "assistant", "content": "It is blue."}],
            "rejected": [q, {"role": "assistant", "content": "It is green."}],
        }))
        .unwrap();
        assert_eq!(
            p.prompt,
            Text::Chat(vec![Message::new("user", "What color is the sky?")])
        );
        assert_eq!(
            p.chosen,
            Text::Chat(vec![Message::new("assistant", "It is blue.")])
        );

        // A string prompt next to conversations is not the prompt (maybe_extract_prompt).
        let p2 = parse(json!({
            "prompt": "What color is the sky?",
            "chosen": [q, {"role": "assistant", "content": "It is blue."}],
            "rejected": [q, {"role": "assistant", "content": "It is green."}],
        }))
        .unwrap();
        assert_eq!(p2, p);

        // No space before the difference: nothing is moved back.
        let (p, c, r) = extract_prompt(&"ab1".into(), &"ab2".into());
        assert_eq!((p, c, r), ("ab".into(), "1".into(), "2".into()));
        // Multi-byte characters.
        let (p, c, r) = extract_prompt(&"é ü x".into(), &"é ü y".into());
        assert_eq!((p, c, r), ("é ü".into(), " x".into(), " y".into()));
    }

    #[test]
    fn implicit_prompt_edge_cases() {
        // A prefix of the other: the shorter completion is empty.
        let e = parse(json!({"chosen": "abc", "rejected": "abcd"})).unwrap_err();
        assert_eq!(e.reason, Reason::EmptyText("chosen"));
        let e = parse(json!({"chosen": "abc", "rejected": "abc"})).unwrap_err();
        assert_eq!(e.reason, Reason::IdenticalCompletions);
        // Different from the first character: empty prompt.
        let p = parse(json!({"chosen": "x ", "rejected": "y"})).unwrap();
        assert_eq!(p, PreferencePair::new("", "x ", "y"));
    }

    #[test]
    fn writes_explicitly_and_refuses_soft_labels() {
        let pair = PreferencePair::new("q", " a", " b");
        let v = Pairwise.to_json(&pair).unwrap();
        assert_eq!(v, json!({"prompt": "q", "chosen": " a", "rejected": " b"}));
        let soft = PreferencePair {
            p_chosen: 0.7,
            ..pair.clone()
        };
        let e = Pairwise.to_json(&soft).unwrap_err();
        assert_eq!(e.field, "p_chosen");
        let mixed = PreferencePair {
            prompt: Text::Chat(vec![]),
            ..pair
        };
        assert_eq!(
            Pairwise.to_json(&mixed).unwrap_err().reason,
            Reason::MixedForms("prompt")
        );
    }
}
