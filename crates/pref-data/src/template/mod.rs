//! Chat templates: conversations → strings, before tokenisation.
//!
//! Two templates:
//!
//! - [`ChatTemplate::Plain`], built in: each message becomes one line `"{role}: {content}\n"`,
//!   and the generation prompt is `"assistant: "`. So `[user: "Hi"]` with the generation
//!   prompt renders as `"user: Hi\nassistant: "`, and the completion `[assistant: "Hello"]`
//!   after it renders as `"Hello\n"`.
//! - [`ChatTemplate::Jinja`]: the Hugging Face `chat_template` Jinja string of a model's
//!   `tokenizer_config.json` (or `chat_template.jinja`), rendered with [minijinja] set up as
//!   `transformers` sets up Jinja2 (`trim_blocks`, `lstrip_blocks`, loop controls,
//!   `raise_exception`, `strftime_now`, and Python string/dict methods such as `.strip()`
//!   through `minijinja-contrib`'s pycompat layer), with the tokenizer's special tokens
//!   (`bos_token`, `eos_token`, ...) as variables.
//!
//! Plain-string texts (TRL's "standard" form) are never templated: a plain prompt and a
//! plain completion pass through unchanged whichever template is chosen.
//!
//! A prompt/completion pair in conversational form is rendered as TRL's
//! `maybe_apply_chat_template` does: the prompt with `add_generation_prompt = true`, and the
//! completion as the rendering of prompt + completion messages with the prompt's rendering
//! removed from its start ([`ChatTemplate::render_pair`]). If the full rendering does not
//! start with the prompt's, this is an error ([`TemplateError::PrefixMismatch`]), where
//! recent TRL versions instead cut at the longest common prefix; an error makes a template
//! that re-renders earlier turns visible instead of silently moving tokens between prompt
//! and completion. When one side is conversational
//! and the other plain, the plain side is wrapped as one message: a `user` message for a
//! prompt, an `assistant` message for a completion.

mod error;
mod functions;
mod jinja;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use crate::record::{Message, Text};

pub use error::TemplateError;
pub use jinja::JinjaTemplate;

/// Characters of a rendering quoted in an error message.
const PREVIEW_CHARS: usize = 80;

/// How conversations become strings. See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub enum ChatTemplate {
    /// The built-in template: `"{role}: {content}\n"` per message, `"assistant: "` as the
    /// generation prompt.
    #[default]
    Plain,
    /// A Hugging Face Jinja chat template.
    Jinja(Arc<JinjaTemplate>),
}

impl ChatTemplate {
    /// The Jinja template of a `tokenizer_config.json` (see
    /// [`JinjaTemplate::from_tokenizer_config`]).
    pub fn from_tokenizer_config(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        Ok(Self::Jinja(Arc::new(JinjaTemplate::from_tokenizer_config(
            path,
        )?)))
    }

    /// Renders `messages`, followed by the generation prompt if `add_generation_prompt`.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        match self {
            ChatTemplate::Plain => Ok(render_plain(messages, add_generation_prompt)),
            ChatTemplate::Jinja(t) => t.render(messages, add_generation_prompt),
        }
    }

    /// Renders a prompt on its own, as generation continues it: a plain string unchanged, a
    /// conversation with the generation prompt.
    pub fn render_prompt(&self, prompt: &Text) -> Result<String, TemplateError> {
        match prompt {
            Text::Plain(s) => Ok(s.clone()),
            Text::Chat(m) => self.render(m, true),
        }
    }

    /// Renders a prompt and one completion to `(prompt, completion)` strings whose
    /// concatenation is the rendered conversation (see the [module docs](self)).
    ///
    /// # Errors
    ///
    /// [`TemplateError::PrefixMismatch`] if the full rendering does not start with the
    /// prompt rendering; rendering errors of a Jinja template.
    pub fn render_pair(
        &self,
        prompt: &Text,
        completion: &Text,
    ) -> Result<(String, String), TemplateError> {
        if let (Text::Plain(p), Text::Plain(c)) = (prompt, completion) {
            return Ok((p.clone(), c.clone()));
        }
        let prompt_msgs = as_messages(prompt, "user");
        let mut all = prompt_msgs.clone().into_owned();
        all.extend(as_messages(completion, "assistant").iter().cloned());
        let prompt_str = self.render(&prompt_msgs, true)?;
        let full = self.render(&all, false)?;
        match full.strip_prefix(prompt_str.as_str()) {
            Some(c) => Ok((prompt_str.clone(), c.to_string())),
            None => {
                let at = prompt_str
                    .char_indices()
                    .zip(full.chars())
                    .find(|((_, a), b)| a != b)
                    .map_or(prompt_str.len().min(full.len()), |((i, _), _)| i);
                Err(TemplateError::PrefixMismatch {
                    at,
                    prompt: preview(&prompt_str[at..]),
                    full: preview(&full[at.min(full.len())..]),
                })
            }
        }
    }
}

/// Canonical string key of a prompt, for splitting by prompt: a plain prompt itself, a
/// conversation as compact JSON of its messages.
pub fn prompt_key(prompt: &Text) -> Cow<'_, str> {
    match prompt {
        Text::Plain(s) => Cow::Borrowed(s),
        Text::Chat(m) => Cow::Owned(serde_json::to_string(m).unwrap_or_default()),
    }
}

fn as_messages<'a>(text: &'a Text, role: &str) -> Cow<'a, [Message]> {
    match text {
        Text::Chat(m) => Cow::Borrowed(m),
        Text::Plain(s) => Cow::Owned(vec![Message::new(role, s.clone())]),
    }
}

fn render_plain(messages: &[Message], add_generation_prompt: bool) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str(&m.role);
        out.push_str(": ");
        out.push_str(&m.content);
        out.push('\n');
    }
    if add_generation_prompt {
        out.push_str("assistant: ");
    }
    out
}

fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(PREVIEW_CHARS).collect();
    if s.chars().count() > PREVIEW_CHARS {
        p.push('…');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(v: &[(&str, &str)]) -> Vec<Message> {
        v.iter().map(|(r, c)| Message::new(*r, *c)).collect()
    }

    #[test]
    fn plain_template_renders_lines_and_generation_prompt() {
        let t = ChatTemplate::Plain;
        let m = msgs(&[("system", "Be brief."), ("user", "Hi")]);
        assert_eq!(
            t.render(&m, true).unwrap(),
            "system: Be brief.\nuser: Hi\nassistant: "
        );
        assert_eq!(
            t.render(&m, false).unwrap(),
            "system: Be brief.\nuser: Hi\n"
        );
        let (p, c) = t
            .render_pair(
                &Text::Chat(msgs(&[("user", "Hi")])),
                &Text::Chat(msgs(&[("assistant", "Hello")])),
            )
            .unwrap();
        assert_eq!(
            (p.as_str(), c.as_str()),
            ("user: Hi\nassistant: ", "Hello\n")
        );
    }

    #[test]
    fn plain_strings_pass_through_any_template() {
        let j =
            JinjaTemplate::new("[{{ messages[0].content }}]", [("bos_token", "<s>")], "t").unwrap();
        for t in [ChatTemplate::Plain, ChatTemplate::Jinja(Arc::new(j))] {
            let (p, c) = t.render_pair(&"Q: x".into(), &" A".into()).unwrap();
            assert_eq!((p.as_str(), c.as_str()), ("Q: x", " A"));
            assert_eq!(t.render_prompt(&"Q".into()).unwrap(), "Q");
        }
    }

    #[test]
    fn mixed_forms_wrap_the_plain_side() {
        let (p, c) = ChatTemplate::Plain
            .render_pair(&"Hi".into(), &Text::Chat(msgs(&[("assistant", "Yo")])))
            .unwrap();
        assert_eq!((p.as_str(), c.as_str()), ("user: Hi\nassistant: ", "Yo\n"));
    }

    #[test]
    fn prefix_mismatch_is_an_error() {
        // A template that renders the last message differently from the others.
        let src = "{% for m in messages %}{% if loop.last %}[{{ m.content }}]\
                   {% else %}{{ m.content }};{% endif %}{% endfor %}";
        let t = ChatTemplate::Jinja(Arc::new(
            JinjaTemplate::new(src, Vec::<(String, String)>::new(), "t").unwrap(),
        ));
        let err = t
            .render_pair(
                &Text::Chat(msgs(&[("user", "a")])),
                &Text::Chat(msgs(&[("assistant", "b")])),
            )
            .unwrap_err();
        match err {
            TemplateError::PrefixMismatch { at, .. } => assert_eq!(at, 0),
            e => panic!("{e}"),
        }
    }
}
