//! Prompt/completion examples for supervised fine-tuning: `{"prompt", "completion"}`.

use serde_json::{Map, Value};

use super::report::Problem;
use super::value::{check_form, check_not_blank, object, required_text, text_json};
use super::{Format, ReadOptions};
use crate::record::CompletionExample;

/// TRL's prompt-completion SFT format: `{"prompt", "completion"}`, both strings or both
/// lists of messages; the completion must be non-empty (the prompt may be empty). This is
/// what SL-CAI's revisions are written in (`rlaif_judge::critique`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PromptCompletion;

const FIELDS: &[&str] = &["prompt", "completion"];

impl Format for PromptCompletion {
    type Record = CompletionExample;

    fn name(&self) -> &'static str {
        "prompt-completion"
    }

    fn fields(&self) -> &'static [&'static str] {
        FIELDS
    }

    fn parse(&self, value: &Value, opts: &ReadOptions) -> Result<CompletionExample, Problem> {
        let obj = object(value, "`prompt` and `completion`")?;
        let prompt = required_text(obj, "prompt", opts)?;
        let completion = required_text(obj, "completion", opts)?;
        check_form(&completion, &prompt, "prompt", "completion", "completion")?;
        check_not_blank(&completion, "completion", "completion", "completion")?;
        Ok(CompletionExample { prompt, completion })
    }

    fn to_json(&self, ex: &CompletionExample) -> Result<Value, Problem> {
        let mut o = Map::new();
        o.insert("prompt".into(), text_json(&ex.prompt));
        o.insert("completion".into(), text_json(&ex.completion));
        Ok(Value::Object(o))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Reason;
    use crate::record::{Message, Text};
    use serde_json::json;

    #[test]
    fn round_trips_and_rejects_blank_or_mixed_completions() {
        let v = json!({"prompt": "\n\nHuman: hi\n\nAssistant:", "completion": " hello"});
        let ex = PromptCompletion.parse(&v, &ReadOptions::default()).unwrap();
        assert_eq!(ex.completion, Text::Plain(" hello".into()));
        assert_eq!(PromptCompletion.to_json(&ex).unwrap(), v);
        let chat = json!({"prompt": [{"role": "user", "content": "hi"}], "completion": [{"role": "assistant", "content": "hello"}]});
        let ex = PromptCompletion
            .parse(&chat, &ReadOptions::default())
            .unwrap();
        assert_eq!(
            ex.completion,
            Text::Chat(vec![Message::new("assistant", "hello")])
        );
        let blank = json!({"prompt": "q", "completion": "  "});
        let e = PromptCompletion
            .parse(&blank, &ReadOptions::default())
            .unwrap_err();
        assert_eq!(e.reason, Reason::EmptyText("completion"));
        let mixed = json!({"prompt": "q", "completion": [{"role": "assistant", "content": "x"}]});
        assert!(
            PromptCompletion
                .parse(&mixed, &ReadOptions::default())
                .is_err()
        );
    }
}
