//! The Anthropic HH-RLHF format.
//!
//! Each line of an HH-RLHF file is `{"chosen": "...", "rejected": "..."}`, two full
//! dialogues `\n\nHuman: ...\n\nAssistant: ...` that share every turn but the final
//! Assistant turn. [`HhPair`] splits such a record, following TRL's
//! `extract_anthropic_prompt` convention, into the shared `prompt` (up to and
//! including the final `"\n\nAssistant:"`) and the two completions (the text after
//! it, usually starting with a space). [`Hh`] is the format for the shared reader and
//! writer ([`read_hh`](super::read_hh), [`HhReader`](super::HhReader),
//! [`write_hh`](super::write_hh)), its problems counted in the one [`Report`](super::Report)
//! by [`Reason`]; [`split_turns`] splits a dialogue into its turns.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::report::{Problem, Reason};
use super::value::{describe, object, required};
use super::{Format, ReadOptions};
use crate::record::PreferencePair;

/// The marker that opens an Assistant turn.
pub const ASSISTANT_MARKER: &str = "\n\nAssistant:";
/// The marker that opens a Human turn.
pub const HUMAN_MARKER: &str = "\n\nHuman:";

/// Anthropic HH-RLHF: `{"chosen", "rejected"}`, two full `\n\nHuman: … \n\nAssistant: …`
/// dialogues sharing all but the final Assistant turn. Reads into [`HhPair`]s (see
/// [`HhPair::from_json`] for the checks; convert to [`PreferencePair`] with `From`);
/// writes `prompt + chosen` and `prompt + rejected` back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hh;

const FIELDS: &[&str] = &["chosen", "rejected"];

impl Format for Hh {
    type Record = HhPair;

    fn name(&self) -> &'static str {
        "HH-RLHF"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, _opts: &ReadOptions) -> Result<HhPair, Problem> {
        HhPair::from_json(value)
    }

    fn to_json(&self, pair: &HhPair) -> Result<Value, Problem> {
        let mut o = Map::new();
        o.insert("chosen".into(), Value::String(pair.chosen_dialogue()));
        o.insert("rejected".into(), Value::String(pair.rejected_dialogue()));
        Ok(Value::Object(o))
    }
}

/// One preference pair in HH-RLHF form.
///
/// `prompt + chosen` and `prompt + rejected` give back the original dialogues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HhPair {
    /// The shared dialogue, up to and including the final `"\n\nAssistant:"`.
    pub prompt: String,
    /// The preferred final Assistant turn (the text after the prompt).
    pub chosen: String,
    /// The dispreferred final Assistant turn (the text after the prompt).
    pub rejected: String,
}

impl From<HhPair> for PreferencePair {
    /// A hard-labelled plain-text pair: the HH prompt (ending in `"\n\nAssistant:"`) and the
    /// two final Assistant turns, as TRL's HH preprocessing produces.
    fn from(p: HhPair) -> Self {
        PreferencePair::new(p.prompt, p.chosen, p.rejected)
    }
}

impl HhPair {
    /// Splits a `chosen`/`rejected` pair of full dialogues into prompt and completions.
    ///
    /// The problems: a dialogue without an Assistant turn ([`Reason::NoAssistantTurn`]),
    /// dialogues that differ before their final Assistant turn ([`Reason::PromptMismatch`]),
    /// an empty final turn ([`Reason::EmptyText`]), the same final turn in both
    /// ([`Reason::IdenticalCompletions`]).
    pub fn from_dialogues(chosen: &str, rejected: &str) -> Result<Self, Problem> {
        let (prompt, chosen_completion) = split_at_last_turn(chosen, "chosen")?;
        let (rejected_prompt, rejected_completion) = split_at_last_turn(rejected, "rejected")?;
        if prompt != rejected_prompt {
            let at = first_difference(prompt, rejected_prompt);
            return Err(Problem::new(
                Reason::PromptMismatch,
                "rejected",
                "the same dialogue as `chosen` up to the final \"\\n\\nAssistant:\"",
                format!(
                    "dialogues that differ from byte {at}: chosen has {}, rejected has {}",
                    snippet(chosen, at),
                    snippet(rejected, at)
                ),
            ));
        }
        for (field, completion) in [
            ("chosen", chosen_completion),
            ("rejected", rejected_completion),
        ] {
            if completion.trim().is_empty() {
                return Err(Problem::new(
                    Reason::EmptyText(field),
                    field,
                    "a non-empty final Assistant turn",
                    format!("{completion:?}"),
                ));
            }
        }
        if chosen_completion.trim() == rejected_completion.trim() {
            return Err(Problem::new(
                Reason::IdenticalCompletions,
                "rejected",
                "a final Assistant turn different from `chosen`'s",
                format!("the same text: {}", snippet(rejected_completion, 0)),
            ));
        }
        Ok(Self {
            prompt: prompt.to_string(),
            chosen: chosen_completion.to_string(),
            rejected: rejected_completion.to_string(),
        })
    }

    /// Validates one parsed JSON record `{"chosen": ..., "rejected": ...}` (other
    /// fields are ignored) and splits it with [`HhPair::from_dialogues`]. A record that
    /// is not an object is a [`Reason::NotAnObject`] problem, a missing field a
    /// [`Reason::MissingField`], one that is not a string (`null` included) a
    /// [`Reason::WrongType`].
    pub fn from_json(record: &Value) -> Result<Self, Problem> {
        let object = object(record, "`chosen` and `rejected` (strings)")?;
        let get = |field: &'static str| -> Result<&str, Problem> {
            match required(object, field, "a string")? {
                Value::String(s) => Ok(s.as_str()),
                other => Err(Problem::new(
                    Reason::WrongType(field),
                    field,
                    "a string",
                    describe(other),
                )),
            }
        };
        let chosen = get("chosen")?;
        let rejected = get("rejected")?;
        Self::from_dialogues(chosen, rejected)
    }

    /// The full preferred dialogue, `prompt + chosen`.
    pub fn chosen_dialogue(&self) -> String {
        format!("{}{}", self.prompt, self.chosen)
    }

    /// The full dispreferred dialogue, `prompt + rejected`.
    pub fn rejected_dialogue(&self) -> String {
        format!("{}{}", self.prompt, self.rejected)
    }
}

/// The speaker of a dialogue turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A `"\n\nHuman:"` turn.
    Human,
    /// A `"\n\nAssistant:"` turn.
    Assistant,
}

impl Role {
    /// The marker that opens a turn of this role.
    pub fn marker(self) -> &'static str {
        match self {
            Role::Human => HUMAN_MARKER,
            Role::Assistant => ASSISTANT_MARKER,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Human => "Human",
            Role::Assistant => "Assistant",
        })
    }
}

/// Why [`split_turns`] could not split a dialogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TurnsError {
    /// The text contains neither `"\n\nHuman:"` nor `"\n\nAssistant:"`.
    #[error("expected a dialogue with \"\\n\\nHuman:\"/\"\\n\\nAssistant:\" turns, got none: {0}")]
    NoTurns(String),
    /// There is non-blank text before the first turn marker.
    #[error("expected the dialogue to start with a turn marker, got text before it: {0}")]
    TextBeforeFirstTurn(String),
}

/// Splits an Anthropic-format dialogue into its turns, in order.
///
/// Each turn's text is trimmed of surrounding whitespace. A dialogue ending in a
/// bare marker (like an [`HhPair::prompt`]) ends with an empty turn of that role,
/// marking where the next turn goes. Marker-like text without the leading `\n\n`
/// (e.g. `"  Human: "` inside a turn) is part of the turn's text, as in the data;
/// only at the very start may the first marker lack it (`"Human: hi"`).
pub fn split_turns(dialogue: &str) -> Result<Vec<(Role, String)>, TurnsError> {
    // Accept a dialogue that opens with a marker lacking its leading blank line.
    let trimmed = dialogue.trim_start();
    let owned;
    let leading_space = &dialogue[..dialogue.len() - trimmed.len()];
    let dialogue = if !leading_space.ends_with("\n\n")
        && (trimmed.starts_with(&HUMAN_MARKER[2..]) || trimmed.starts_with(&ASSISTANT_MARKER[2..]))
    {
        owned = format!("\n\n{trimmed}");
        owned.as_str()
    } else {
        dialogue
    };
    let next_marker = |from: usize| {
        [Role::Human, Role::Assistant]
            .into_iter()
            .filter_map(|role| {
                dialogue[from..]
                    .find(role.marker())
                    .map(|i| (from + i, role))
            })
            .min_by_key(|&(i, _)| i)
    };
    let Some((first, mut role)) = next_marker(0) else {
        return Err(TurnsError::NoTurns(snippet(dialogue, 0)));
    };
    if !dialogue[..first].trim().is_empty() {
        return Err(TurnsError::TextBeforeFirstTurn(snippet(dialogue, 0)));
    }
    let mut turns = Vec::new();
    let mut start = first + role.marker().len();
    loop {
        match next_marker(start) {
            Some((end, next_role)) => {
                turns.push((role, dialogue[start..end].trim().to_string()));
                role = next_role;
                start = end + next_role.marker().len();
            }
            None => {
                turns.push((role, dialogue[start..].trim().to_string()));
                return Ok(turns);
            }
        }
    }
}

/// Splits `text` after its last `"\n\nAssistant:"` into (prompt, completion).
fn split_at_last_turn<'a>(
    text: &'a str,
    field: &'static str,
) -> Result<(&'a str, &'a str), Problem> {
    text.rfind(ASSISTANT_MARKER)
        .map(|i| text.split_at(i + ASSISTANT_MARKER.len()))
        .ok_or_else(|| {
            Problem::new(
                Reason::NoAssistantTurn(field),
                field,
                "a dialogue with at least one \"\\n\\nAssistant:\" turn",
                format!("text without one: {}", snippet(text, 0)),
            )
        })
}

/// Byte offset of the first difference between `a` and `b` (at a char boundary).
fn first_difference(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|&((_, x), y)| x != y)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.len().min(b.len()))
}

/// A short quoted excerpt of `text` starting at byte `at` (a char boundary).
fn snippet(text: &str, at: usize) -> String {
    const MAX_CHARS: usize = 60;
    let rest = text.get(at..).unwrap_or("");
    let mut s: String = rest.chars().take(MAX_CHARS).collect();
    if rest.chars().nth(MAX_CHARS).is_some() {
        s.push('…');
    }
    if rest.is_empty() {
        "the end of the text".to_string()
    } else {
        format!("{s:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DataError;
    use crate::formats::read_hh;
    use serde_json::json;
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    fn real_file() -> PathBuf {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let path = root.join("../shared/data/hh-rlhf/harmless-base-dev.jsonl.gz");
        assert!(
            path.is_file(),
            "the HH-RLHF test data is needed: {}",
            path.display()
        );
        path
    }

    #[test]
    fn real_file_lenient_counts() {
        let (pairs, report) = read_hh(real_file(), &ReadOptions::default()).unwrap();
        println!("{report}");
        assert_eq!(report.total_lines, 2000);
        assert_eq!(report.blank_lines, 0);
        assert_eq!(report.kept, 1992);
        assert_eq!(pairs.len(), report.kept);
        assert_eq!(report.kept + report.skipped_total(), report.total_lines);
        let expected = BTreeMap::from([
            (Reason::PromptMismatch, 4),
            (Reason::EmptyText("chosen"), 4),
        ]);
        assert_eq!(report.skipped, expected);
        let lines: Vec<usize> = report.examples.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![87, 517, 926, 1255, 1689, 1951]);
        let text = report.to_string();
        assert!(
            text.contains("2000 records, kept 1992, skipped 8"),
            "{text}"
        );
        assert!(text.contains("line 87: field `chosen`"), "{text}");

        for p in &pairs {
            assert!(p.prompt.ends_with(ASSISTANT_MARKER));
            assert!(p.prompt.starts_with(HUMAN_MARKER));
            assert!(!p.chosen.trim().is_empty() && !p.rejected.trim().is_empty());
            assert_ne!(p.chosen.trim(), p.rejected.trim());
            let turns = split_turns(&p.prompt).unwrap();
            assert_eq!(turns.first().unwrap().0, Role::Human);
            assert_eq!(*turns.last().unwrap(), (Role::Assistant, String::new()));
        }
        // Most completions start with a space, as in TRL's convention.
        let spaced = pairs.iter().filter(|p| p.chosen.starts_with(' ')).count();
        assert!(spaced > 1900, "{spaced}");
    }

    #[test]
    fn real_file_strict_stops_at_first_bad_line() {
        let err = read_hh(real_file(), &ReadOptions::strict()).unwrap_err();
        assert_eq!(err.line(), Some(87));
        let msg = err.to_string();
        assert!(
            msg.contains("harmless-base-dev.jsonl.gz:87: field `chosen`"),
            "{msg}"
        );
    }

    #[test]
    fn splits_prompt_and_completions() {
        let chosen = "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Joke?\n\nAssistant: Sure: ...";
        let rejected = "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Joke?\n\nAssistant: No.";
        let pair = HhPair::from_dialogues(chosen, rejected).unwrap();
        assert_eq!(
            pair.prompt,
            "\n\nHuman: Hi\n\nAssistant: Hello.\n\nHuman: Joke?\n\nAssistant:"
        );
        assert_eq!(pair.chosen, " Sure: ...");
        assert_eq!(pair.rejected, " No.");
        assert_eq!(pair.chosen_dialogue(), chosen);
        assert_eq!(pair.rejected_dialogue(), rejected);
    }

    #[test]
    fn each_problem_has_its_reason() {
        let ok = "\n\nHuman: a\n\nAssistant: b";
        let cases = [
            (json!([1]), Reason::NotAnObject),
            (json!({"rejected": ok}), Reason::MissingField("chosen")),
            (json!({"chosen": ok}), Reason::MissingField("rejected")),
            (
                json!({"chosen": 3, "rejected": ok}),
                Reason::WrongType("chosen"),
            ),
            (
                json!({"chosen": "\n\nHuman: a", "rejected": ok}),
                Reason::NoAssistantTurn("chosen"),
            ),
            (
                json!({"chosen": ok, "rejected": "\n\nHuman: x\n\nAssistant: c"}),
                Reason::PromptMismatch,
            ),
            (
                json!({"chosen": ok, "rejected": "\n\nHuman: a\n\nAssistant:  \n"}),
                Reason::EmptyText("rejected"),
            ),
            (
                json!({"chosen": ok, "rejected": "\n\nHuman: a\n\nAssistant: b "}),
                Reason::IdenticalCompletions,
            ),
        ];
        for (record, reason) in cases {
            let problem = HhPair::from_json(&record).unwrap_err();
            assert_eq!(problem.reason, reason, "{record}");
        }
        let p = HhPair::from_json(&json!({"chosen": 3, "rejected": ok})).unwrap_err();
        assert_eq!(
            p.to_string(),
            "field `chosen`: expected a string, got a number (3)"
        );
    }

    #[test]
    fn strict_names_line_and_field_lenient_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small.jsonl");
        let ok = json!({"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: a\n\nAssistant: c"});
        let bad = json!({"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": null});
        let text = format!("{ok}\n\n{ok}\n{bad}\nnot json\n{ok}\n");
        std::fs::write(&path, text).unwrap();

        let err = read_hh(&path, &ReadOptions::strict()).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.line(), Some(4), "{msg}");
        assert!(msg.contains("small.jsonl:4: field `rejected`"), "{msg}");
        assert!(msg.contains("expected a string, got null"), "{msg}");

        let (pairs, report) = read_hh(&path, &ReadOptions::default()).unwrap();
        println!("{report}");
        assert_eq!(pairs.len(), 3);
        assert_eq!(report.total_lines, 5);
        assert_eq!(report.blank_lines, 1);
        assert_eq!(report.kept, 3);
        assert_eq!(report.skipped_total(), 2);
        assert_eq!(report.skipped[&Reason::WrongType("rejected")], 1);
        assert_eq!(report.skipped[&Reason::InvalidJson], 1);
        let lines: Vec<_> = report.examples.iter().map(|e| (e.line, e.reason)).collect();
        assert_eq!(
            lines,
            vec![(4, Reason::WrongType("rejected")), (5, Reason::InvalidJson)]
        );
        assert!(report.examples[1].detail.starts_with("invalid JSON"));
        let text = report.to_string();
        assert!(text.contains("; 1 blank line ignored"), "{text}");
    }

    #[test]
    fn lenient_still_fails_on_truncated_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let full = std::fs::read(real_file()).unwrap();
        let cut = dir.path().join("cut.jsonl.gz");
        std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
        let err = read_hh(&cut, &ReadOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Gzip {
                    truncated: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("cut.jsonl.gz"));
    }

    #[test]
    fn turns() {
        let d = "\n\nHuman: Hi there\n\nAssistant:  Hello!  Human: not a turn\n\nHuman: Bye\n\nAssistant:";
        assert_eq!(
            split_turns(d).unwrap(),
            vec![
                (Role::Human, "Hi there".to_string()),
                (Role::Assistant, "Hello!  Human: not a turn".to_string()),
                (Role::Human, "Bye".to_string()),
                (Role::Assistant, String::new()),
            ]
        );
        assert!(matches!(
            split_turns("no turns"),
            Err(TurnsError::NoTurns(_))
        ));
        assert!(matches!(
            split_turns("preamble\n\nHuman: hi"),
            Err(TurnsError::TextBeforeFirstTurn(_))
        ));
        assert_eq!(
            split_turns(" Human: x\n\nAssistant: y").unwrap(),
            vec![
                (Role::Human, "x".to_string()),
                (Role::Assistant, "y".to_string())
            ]
        );
    }
}
