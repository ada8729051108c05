//! The judges' prompts: a conversation as text, the multiple-choice comparison of Bai et al.
//! 2022 (appendix, "RL-CAI"), the 1–N rating of d-RLAIF (Lee et al. 2023), and reading an
//! answer from generated text.

use std::sync::OnceLock;

use pref_data::{Message, Text};
use regex::Regex;
use serde::{Deserialize, Serialize};

/// The opening line of every judge prompt.
pub const PREAMBLE: &str = "Consider the following conversation between a human and an assistant:";

/// How a judge asks its model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptForm {
    /// One plain-text prompt that the answer continues (base models, `/v1/completions`):
    /// the multiple-choice prompt ends `The answer is: (` and the options are `A` and `B`.
    #[default]
    Plain,
    /// One user message asking for the answer (chat models, `/v1/chat/completions`, or a
    /// local model with a chat template): the options are the reply's first text, `A` or
    /// `B`.
    Chat,
}

/// The conversation as the judge shows it: `Human: …` / `Assistant: …` turns separated
/// by blank lines. A plain prompt in the HH-RLHF layout (`\n\nHuman: …\n\nAssistant:`) is
/// trimmed and loses its final empty `Assistant:` turn; messages are written with `user` →
/// `Human`, `assistant` → `Assistant` (other roles capitalised).
pub fn conversation_text(conversation: &Text) -> String {
    match conversation {
        Text::Plain(s) => {
            let t = s.trim();
            t.strip_suffix("Assistant:")
                .unwrap_or(t)
                .trim_end()
                .to_string()
        }
        Text::Chat(messages) => messages
            .iter()
            .map(|m| format!("{}: {}", speaker(&m.role), m.content.trim()))
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

fn speaker(role: &str) -> String {
    match role {
        "user" => "Human".into(),
        "assistant" => "Assistant".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// The multiple-choice question comparing `first` (option A) and `second` (option B) after
/// `conversation` under a principle's `comparison` phrasing (Bai et al. 2022):
///
/// ```text
/// Consider the following conversation between a human and an assistant:
///
/// Human: …
///
/// <comparison>
/// Options:
/// (A) <first>
/// (B) <second>
/// The answer is: (
/// ```
///
/// In [`PromptForm::Chat`] the same text is one user message whose last line is instead
/// `Answer with the letter of the better option only: A or B.`
pub fn comparison_prompt(
    conversation: &Text,
    comparison: &str,
    first: &str,
    second: &str,
    form: PromptForm,
) -> Text {
    let body = format!(
        "{PREAMBLE}\n\n{}\n\n{}\nOptions:\n(A) {}\n(B) {}\n",
        conversation_text(conversation),
        comparison.trim(),
        first.trim(),
        second.trim()
    );
    match form {
        PromptForm::Plain => Text::Plain(format!("{body}The answer is: (")),
        PromptForm::Chat => Text::Chat(vec![Message::new(
            "user",
            format!("{body}Answer with the letter of the better option only: A or B."),
        )]),
    }
}

/// The continuations whose log-probs a comparison reads: `A`, then `B`.
pub fn comparison_options() -> Vec<String> {
    vec!["A".into(), "B".into()]
}

/// The rating question of the scoring judge (d-RLAIF, Lee et al. 2023): the conversation,
/// the reply to rate as the assistant's last turn, the `instruction`, and
///
/// ```text
/// Rate the assistant's last reply on a scale from <min> to <max>, where <min> is the worst and <max> the best.
/// Rating:
/// ```
///
/// continued by `" <k>"`; in [`PromptForm::Chat`] the last line asks for the number only.
pub fn rating_prompt(
    conversation: &Text,
    response: &str,
    instruction: &str,
    min: u32,
    max: u32,
    form: PromptForm,
) -> Text {
    let body = format!(
        "{PREAMBLE}\n\n{}\n\nAssistant: {}\n\n{}\nRate the assistant's last reply on a scale from {min} to {max}, where {min} is the worst and {max} the best.\n",
        conversation_text(conversation),
        response.trim(),
        instruction.trim(),
    );
    match form {
        PromptForm::Plain => Text::Plain(format!("{body}Rating:")),
        PromptForm::Chat => Text::Chat(vec![Message::new(
            "user",
            format!("{body}Answer with the number only."),
        )]),
    }
}

/// The continuations of a rating: `" <min>"` … `" <max>"`.
pub fn rating_options(min: u32, max: u32) -> Vec<String> {
    (min..=max).map(|k| format!(" {k}")).collect()
}

/// Which option a generated answer names: `Some(true)` for A, `Some(false)` for B, `None`
/// when it names neither (or both in the same breath). Reads `(A)`, `A`, `A)`, `Option B`,
/// `The answer is (B)`, `**A**`…: the first standalone letter A or B, looked for first in
/// parentheses, then after "option"/"answer", then at the start.
pub fn parse_choice(text: &str) -> Option<bool> {
    static PAREN: OnceLock<Regex> = OnceLock::new();
    static NAMED: OnceLock<Regex> = OnceLock::new();
    static START: OnceLock<Regex> = OnceLock::new();
    let paren = PAREN.get_or_init(|| Regex::new(r"\(\s*([AB])\s*\)").expect("valid"));
    let named = NAMED.get_or_init(|| {
        Regex::new(r"(?i:option|answer(?:\s+is)?|response)\W{0,3}([AB])\b").expect("valid")
    });
    let start = START.get_or_init(|| Regex::new(r"^[\s*_(\[]*([AB])\b").expect("valid"));
    let t = text.trim();
    let found = paren
        .captures(t)
        .or_else(|| named.captures(t))
        .or_else(|| start.captures(t))?;
    Some(&found[1] == "A")
}

/// The first whole number in `text` within `[min, max]`, if any.
pub fn parse_rating(text: &str, min: u32, max: u32) -> Option<u32> {
    static NUMBER: OnceLock<Regex> = OnceLock::new();
    let re = NUMBER.get_or_init(|| Regex::new(r"\d+").expect("valid"));
    re.find_iter(text)
        .filter_map(|m| m.as_str().parse::<u32>().ok())
        .find(|k| (min..=max).contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hh_prompts_lose_the_empty_assistant_turn() {
        let t =
            Text::Plain("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: how?\n\nAssistant:".into());
        assert_eq!(
            conversation_text(&t),
            "Human: hi\n\nAssistant: hello\n\nHuman: how?"
        );
        let c = Text::Chat(vec![
            Message::new("system", "be kind"),
            Message::new("user", " hi "),
        ]);
        assert_eq!(conversation_text(&c), "System: be kind\n\nHuman: hi");
    }

    #[test]
    fn the_comparison_prompt_has_the_paper_layout() {
        let t = Text::Plain("\n\nHuman: hi\n\nAssistant:".into());
        let Text::Plain(p) =
            comparison_prompt(&t, "Which is kinder?", " x ", "y", PromptForm::Plain)
        else {
            panic!("plain")
        };
        assert_eq!(
            p,
            "Consider the following conversation between a human and an assistant:\n\nHuman: hi\n\nWhich is kinder?\nOptions:\n(A) x\n(B) y\nThe answer is: ("
        );
    }

    #[test]
    fn answers_are_parsed() {
        for (text, want) in [
            ("(A)", Some(true)),
            (" B) because", Some(false)),
            ("The answer is (B).", Some(false)),
            ("Option A is better", Some(true)),
            ("**B**", Some(false)),
            ("A", Some(true)),
            ("Both are bad", None),
            ("", None),
            ("Because", None),
        ] {
            assert_eq!(parse_choice(text), want, "{text:?}");
        }
        assert_eq!(parse_rating(" 7/9", 1, 9), Some(7));
        assert_eq!(parse_rating("10, no, 3", 1, 9), Some(3));
        assert_eq!(parse_rating("none", 1, 9), None);
    }
}
