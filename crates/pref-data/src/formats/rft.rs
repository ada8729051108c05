//! OpenAI's reinforcement fine-tuning (RFT) format: `{"messages": [...], <item fields>}`.

use serde_json::{Map, Value};

use super::report::{Problem, Reason};
use super::value::{check_not_blank, describe, object, parse_text, required, text_json};
use super::{Format, ReadOptions};
use crate::record::{RftExample, Text};
use crate::split::{SplitFractions, split_by_prompt};
use crate::template::prompt_key;

const MESSAGES_EXPECTED: &str = "a non-empty list of {\"role\": ..., \"content\": ...} messages (an RFT prompt is a conversation)";

/// OpenAI's RFT rows: `messages`, a conversation in the chat-completions form whose last
/// message is from the `user`, and any other fields — the reference answer and whatever
/// else the graders read, kept as the record's [`item`](RftExample::item)
/// (`{{ item.<field> }}` in grader templates).
///
/// Problems: `messages` missing, not a list ([`Reason::WrongType`]), a malformed message
/// ([`Reason::InvalidMessage`]), no message or only empty contents
/// ([`Reason::EmptyText`]), a last message not from `user` ([`Reason::InvalidMessage`]).
/// [`ReadOptions::deny_unknown_fields`] applies to the messages' fields only: every other
/// top-level field is item data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rft;

impl Format for Rft {
    type Record = RftExample;

    fn name(&self) -> &'static str {
        "RFT"
    }

    fn fields(&self) -> &'static [&'static str] {
        &["messages"]
    }

    fn open_fields(&self) -> bool {
        true
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<RftExample, Problem> {
        let obj = object(value, "`messages` and any reference fields")?;
        let messages = required(obj, "messages", MESSAGES_EXPECTED)?;
        if !messages.is_array() {
            return Err(Problem::new(
                Reason::WrongType("messages"),
                "messages",
                MESSAGES_EXPECTED,
                describe(messages),
            ));
        }
        let prompt = parse_text(messages, "messages", "messages", opts)?;
        check_not_blank(&prompt, "messages", "messages", "conversation")?;
        if let Text::Chat(m) = &prompt
            && let Some(last) = m.last()
            && last.role != "user"
        {
            return Err(Problem::new(
                Reason::InvalidMessage("messages"),
                format!("messages[{}].role", m.len() - 1),
                "the last message from \"user\" (the model answers it)",
                format!("{:?}", last.role),
            ));
        }
        let mut item = obj.clone();
        item.remove("messages");
        Ok(RftExample { prompt, item })
    }

    fn to_json(&self, ex: &RftExample) -> Result<Value, Problem> {
        if !matches!(ex.prompt, Text::Chat(_)) {
            return Err(Problem::new(
                Reason::WrongType("messages"),
                "messages",
                MESSAGES_EXPECTED,
                "a plain string prompt",
            ));
        }
        if ex.item.contains_key("messages") {
            return Err(Problem::new(
                Reason::ConflictingFields("messages"),
                "messages",
                "an item without a `messages` field (it would collide with the conversation)",
                "an item field `messages`",
            ));
        }
        let mut o = Map::new();
        o.insert("messages".into(), text_json(&ex.prompt));
        for (k, v) in &ex.item {
            o.insert(k.clone(), v.clone());
        }
        Ok(Value::Object(o))
    }
}

/// Splits RFT examples into training and validation sets (OpenAI's RFT jobs take both),
/// by a seeded hash of each conversation: the same conversation always lands in the same
/// split, whatever the file order. Returns `(train, valid)`; `valid_fraction` in
/// `[0, 1]` is the expected share of conversations in the validation set.
pub fn split_rft(
    examples: Vec<RftExample>,
    valid_fraction: f64,
    seed: u64,
) -> (Vec<RftExample>, Vec<RftExample>) {
    let keyed: Vec<(String, RftExample)> = examples
        .into_iter()
        .map(|e| (prompt_key(&e.prompt).into_owned(), e))
        .collect();
    let s = split_by_prompt(
        keyed,
        |(k, _)| k.as_str(),
        SplitFractions {
            valid: valid_fraction,
            test: 0.0,
        },
        seed,
    );
    let strip = |v: Vec<(String, RftExample)>| v.into_iter().map(|(_, e)| e).collect();
    (strip(s.train), strip(s.valid))
}
