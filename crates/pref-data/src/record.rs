//! In-memory records of every preference-data format, independent of how they were stored.
//!
//! Readers turn file records into these types; tokenisation turns them into token ids. A
//! text is either a plain string or a conversation (TRL's two forms); a chat template
//! renders the conversational form to a string before tokenisation.

use serde::{Deserialize, Serialize};

/// One chat message, as in TRL's conversational datasets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// `"system"`, `"user"`, `"assistant"` (or another role a template knows).
    pub role: String,
    /// The message text.
    pub content: String,
}

impl Message {
    /// A message.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// A prompt or a completion: a plain string, or a list of messages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Text {
    /// Standard (plain string) form.
    Plain(String),
    /// Conversational form.
    Chat(Vec<Message>),
}

impl Text {
    /// Whether the text has no content (empty string, or no message with content).
    pub fn is_blank(&self) -> bool {
        match self {
            Text::Plain(s) => s.trim().is_empty(),
            Text::Chat(m) => m.iter().all(|m| m.content.trim().is_empty()),
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::Plain(s.to_string())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Plain(s)
    }
}

/// A pairwise preference: `chosen` is preferred to `rejected` as a continuation of `prompt`,
/// with probability `p_chosen` (1 for a hard label; in `[0, 1]` for soft, e.g. AI-feedback,
/// labels) and an optional margin (Llama 2's preference-strength margin).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PreferencePair {
    /// Shared context.
    pub prompt: Text,
    /// Preferred completion (the `a` of a soft pair).
    pub chosen: Text,
    /// Other completion (the `b` of a soft pair).
    pub rejected: Text,
    /// Probability that `chosen` is preferred; 1.0 for hard labels.
    pub p_chosen: f64,
    /// Optional margin by which `chosen` should out-score `rejected`.
    pub margin: Option<f64>,
}

impl PreferencePair {
    /// A hard-labelled pair without margin.
    pub fn new(
        prompt: impl Into<Text>,
        chosen: impl Into<Text>,
        rejected: impl Into<Text>,
    ) -> Self {
        Self {
            prompt: prompt.into(),
            chosen: chosen.into(),
            rejected: rejected.into(),
            p_chosen: 1.0,
            margin: None,
        }
    }
}

/// An unpaired example for KTO-style losses: a completion labelled desirable or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpairedExample {
    /// Context.
    pub prompt: Text,
    /// The completion.
    pub completion: Text,
    /// `true` if desirable.
    pub label: bool,
}

/// A supervised example: `completion` is the text to learn after `prompt` (TRL's
/// prompt-completion SFT form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionExample {
    /// Context.
    pub prompt: Text,
    /// The target continuation.
    pub completion: Text,
}

/// A prompt for on-policy methods (PPO, GRPO, RFT), with an optional reference answer for
/// graders.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptExample {
    /// The prompt.
    pub prompt: Text,
    /// A reference answer, if the dataset has one.
    pub reference: Option<String>,
}

/// A reinforcement fine-tuning (RFT) task, OpenAI's RFT data format: a conversation to
/// continue and the row's other fields (reference answers and anything graders read),
/// the `item` of OpenAI's grader templates (`{{ item.reference_answer }}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RftExample {
    /// The conversation, always [`Text::Chat`], its last message from the user.
    pub prompt: Text,
    /// Every field of the row except `messages`.
    pub item: serde_json::Map<String, serde_json::Value>,
}

/// A prompt with K ≥ 2 completions, best first; or, with `scores`, in any order with one
/// score each (higher is better).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RankedExample {
    /// Context.
    pub prompt: Text,
    /// The completions, best first when `scores` is `None`.
    pub completions: Vec<Text>,
    /// One score per completion, if the ranking is given by scores.
    pub scores: Option<Vec<f64>>,
}

impl RankedExample {
    /// Completion indices best first: the given order, or by descending score (stable, so
    /// equal scores keep their file order).
    pub fn order(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.completions.len()).collect();
        if let Some(s) = &self.scores {
            idx.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
        }
        idx
    }

    /// Every implied pair `(better, worse)` as completion indices: K·(K−1)/2 pairs, except
    /// that two completions with equal scores imply no pair.
    pub fn implied_pairs(&self) -> Vec<(usize, usize)> {
        let order = self.order();
        let mut out = Vec::new();
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i + 1..] {
                let tie = self.scores.as_ref().is_some_and(|s| s[a] == s[b]);
                if !tie {
                    out.push((a, b));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranked_order_and_pairs_follow_scores_and_skip_ties() {
        let r = RankedExample {
            prompt: "q".into(),
            completions: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            scores: Some(vec![1.0, 3.0, 2.0, 3.0]),
        };
        assert_eq!(r.order(), vec![1, 3, 2, 0]);
        assert_eq!(
            r.implied_pairs(),
            vec![(1, 2), (1, 0), (3, 2), (3, 0), (2, 0)]
        );
        let plain = RankedExample { scores: None, ..r };
        assert_eq!(plain.implied_pairs().len(), 6);
    }

    #[test]
    fn text_deserialises_both_forms() {
        let p: Text = serde_json::from_str(r#""hi""#).unwrap();
        assert_eq!(p, Text::Plain("hi".into()));
        let c: Text = serde_json::from_str(r#"[{"role":"user","content":"hi"}]"#).unwrap();
        assert_eq!(c, Text::Chat(vec![Message::new("user", "hi")]));
        assert!(Text::Plain("  ".into()).is_blank());
    }
}
