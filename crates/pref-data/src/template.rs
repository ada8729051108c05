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

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use minijinja::value::Serde;
use minijinja::{Environment, ErrorKind, Value};
use serde_json::Value as Json;

use crate::record::{Message, Text};

/// Name under which the Jinja source is stored in its environment.
const TEMPLATE_NAME: &str = "chat_template";
/// Special-token entries of a `tokenizer_config.json` passed to the template as variables.
const SPECIAL_TOKEN_KEYS: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "pad_token",
    "sep_token",
    "cls_token",
    "mask_token",
];
/// Characters of a rendering quoted in an error message.
const PREVIEW_CHARS: usize = 80;

/// Errors from loading or rendering a chat template.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A `tokenizer_config.json` (or template file) could not be read.
    #[error("I/O error while reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A `tokenizer_config.json` is not what a chat template is read from.
    #[error("{}: field `{field}`: expected {expected}, got {got}", path.display())]
    Config {
        /// The file (or `<in-memory>`).
        path: PathBuf,
        /// The offending field.
        field: String,
        /// What was expected.
        expected: String,
        /// What was found.
        got: String,
    },
    /// The Jinja source does not compile.
    #[error("chat template from {origin} does not compile: {source:#}")]
    Syntax {
        /// Where the template came from.
        origin: String,
        /// minijinja's error (with line information).
        source: minijinja::Error,
    },
    /// Rendering failed (including a `raise_exception(..)` call in the template).
    #[error("chat template from {origin} failed to render {messages} message(s): {source:#}")]
    Render {
        /// Where the template came from.
        origin: String,
        /// Number of messages rendered.
        messages: usize,
        /// minijinja's error.
        source: minijinja::Error,
    },
    /// The rendering of prompt + completion does not start with the rendering of the prompt
    /// alone, so the completion cannot be cut out of it.
    #[error(
        "the rendering of prompt + completion does not start with the rendering of the prompt \
         (with add_generation_prompt=true); they differ at byte {at}: prompt rendering \
         continues {prompt:?}, full rendering continues {full:?}. The template probably \
         renders the last turn differently; use plain-text data or another template"
    )]
    PrefixMismatch {
        /// Byte offset of the first difference.
        at: usize,
        /// The prompt rendering from the first difference (shortened).
        prompt: String,
        /// The full rendering from the first difference (shortened).
        full: String,
    },
}

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

/// A compiled Hugging Face chat template with its special tokens.
#[derive(Debug, Clone)]
pub struct JinjaTemplate {
    env: Environment<'static>,
    origin: String,
    special_tokens: BTreeMap<String, String>,
    kwargs: BTreeMap<String, Json>,
}

impl JinjaTemplate {
    /// Compiles `source` with the given special tokens (e.g. `("bos_token", "<s>")`), which
    /// the template sees as variables.
    ///
    /// `origin` names the template in errors.
    pub fn new<I, K, V>(
        source: impl Into<String>,
        special_tokens: I,
        origin: impl Into<String>,
    ) -> Result<Self, TemplateError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let origin = origin.into();
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|source| TemplateError::Syntax {
                origin: origin.clone(),
                source,
            })?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_function("strftime_now", strftime_now);
        env.add_template_owned(TEMPLATE_NAME, source.into())
            .map_err(|source| TemplateError::Syntax {
                origin: origin.clone(),
                source,
            })?;
        Ok(Self {
            env,
            origin,
            special_tokens: special_tokens
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            kwargs: BTreeMap::new(),
        })
    }

    /// Reads the chat template and special tokens of a `tokenizer_config.json`.
    ///
    /// `chat_template` may be a string, or a list of `{"name", "template"}` objects, in
    /// which case the one named `"default"` is used. Special tokens may be strings or
    /// added-token objects (`{"content": "<s>", ...}`).
    pub fn from_tokenizer_config(path: impl AsRef<Path>) -> Result<Self, TemplateError> {
        Self::from_tokenizer_config_named(path, "default")
    }

    /// As [`from_tokenizer_config`](Self::from_tokenizer_config), choosing the named
    /// template of a list-form `chat_template`. A `chat_template.jinja` file next to the
    /// config (the newer `transformers` layout) is used when the config has none.
    pub fn from_tokenizer_config_named(
        path: impl AsRef<Path>,
        name: &str,
    ) -> Result<Self, TemplateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let config: Json = serde_json::from_str(&text).map_err(|e| TemplateError::Config {
            path: path.to_path_buf(),
            field: "<file>".into(),
            expected: "a JSON object".into(),
            got: format!("invalid JSON ({e})"),
        })?;
        let sibling = path.with_file_name("chat_template.jinja");
        let fallback = if config.get("chat_template").is_none() && sibling.is_file() {
            Some(
                std::fs::read_to_string(&sibling).map_err(|source| TemplateError::Io {
                    path: sibling.clone(),
                    source,
                })?,
            )
        } else {
            None
        };
        Self::from_config_value(&config, name, fallback, path)
    }

    /// As [`from_tokenizer_config_named`](Self::from_tokenizer_config_named), from the JSON
    /// text of a config; `origin` names it in errors.
    pub fn from_tokenizer_config_str(
        json: &str,
        name: &str,
        origin: impl AsRef<Path>,
    ) -> Result<Self, TemplateError> {
        let origin = origin.as_ref();
        let config: Json = serde_json::from_str(json).map_err(|e| TemplateError::Config {
            path: origin.to_path_buf(),
            field: "<file>".into(),
            expected: "a JSON object".into(),
            got: format!("invalid JSON ({e})"),
        })?;
        Self::from_config_value(&config, name, None, origin)
    }

    fn from_config_value(
        config: &Json,
        name: &str,
        fallback: Option<String>,
        path: &Path,
    ) -> Result<Self, TemplateError> {
        let config_err = |field: &str, expected: &str, got: String| TemplateError::Config {
            path: path.to_path_buf(),
            field: field.into(),
            expected: expected.into(),
            got,
        };
        let Some(obj) = config.as_object() else {
            return Err(config_err("<file>", "a JSON object", kind(config).into()));
        };
        let source = match (obj.get("chat_template"), fallback) {
            (Some(Json::String(s)), _) => s.clone(),
            (Some(Json::Array(list)), _) => {
                let mut names = Vec::new();
                let mut found = None;
                for item in list {
                    let n = item.get("name").and_then(Json::as_str);
                    let t = item.get("template").and_then(Json::as_str);
                    match (n, t) {
                        (Some(n), Some(t)) => {
                            if n == name {
                                found = Some(t.to_string());
                            }
                            names.push(n.to_string());
                        }
                        _ => {
                            return Err(config_err(
                                "chat_template",
                                "a list of {\"name\": string, \"template\": string} objects",
                                format!("an item {}", preview(&item.to_string())),
                            ));
                        }
                    }
                }
                found.ok_or_else(|| {
                    config_err(
                        "chat_template",
                        &format!("a template named {name:?}"),
                        format!("templates named {names:?}"),
                    )
                })?
            }
            (Some(other), _) => {
                return Err(config_err(
                    "chat_template",
                    "a string or a list of named templates",
                    kind(other).into(),
                ));
            }
            (None, Some(s)) => s,
            (None, None) => {
                return Err(config_err(
                    "chat_template",
                    "a chat template (or a chat_template.jinja file beside the config)",
                    "no `chat_template` field".into(),
                ));
            }
        };
        let mut special = Vec::new();
        for key in SPECIAL_TOKEN_KEYS {
            match obj.get(key) {
                None | Some(Json::Null) => {}
                Some(Json::String(s)) => special.push((key.to_string(), s.clone())),
                Some(v) => match v.get("content").and_then(Json::as_str) {
                    Some(s) => special.push((key.to_string(), s.to_string())),
                    None => {
                        return Err(config_err(
                            key,
                            "a string, null, or an object with a string `content`",
                            kind(v).into(),
                        ));
                    }
                },
            }
        }
        Self::new(source, special, path.display().to_string())
    }

    /// Adds a template variable, as `chat_template_kwargs` / extra `apply_chat_template`
    /// arguments do in `transformers` (e.g. `enable_thinking = false`, or a fixed
    /// `date_string`). It overrides a special token of the same name.
    pub fn with_kwarg(mut self, name: impl Into<String>, value: Json) -> Self {
        self.kwargs.insert(name.into(), value);
        self
    }

    /// Where the template came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The special tokens the template sees, by variable name.
    pub fn special_tokens(&self) -> &BTreeMap<String, String> {
        &self.special_tokens
    }

    /// Renders `messages` (and the generation prompt if `add_generation_prompt`), with
    /// `tools` and `documents` set to none, as `transformers` passes them without tools.
    pub fn render(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String, TemplateError> {
        let err = |source| TemplateError::Render {
            origin: self.origin.clone(),
            messages: messages.len(),
            source,
        };
        let template = self.env.get_template(TEMPLATE_NAME).map_err(err)?;
        let mut ctx: BTreeMap<String, Value> = self
            .special_tokens
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        for (k, v) in &self.kwargs {
            ctx.insert(k.clone(), Value::from(Serde(v)));
        }
        ctx.insert("messages".into(), Value::from(Serde(messages)));
        ctx.insert(
            "add_generation_prompt".into(),
            Value::from(add_generation_prompt),
        );
        ctx.insert("tools".into(), Value::from(()));
        ctx.insert("documents".into(), Value::from(()));
        template.render(Value::from(ctx)).map_err(err)
    }
}

fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

/// `raise_exception(message)`: templates call it to reject a conversation.
fn raise_exception(message: String) -> Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(
        ErrorKind::InvalidOperation,
        format!("template raised an exception: {message}"),
    ))
}

/// `strftime_now(format)`: the current UTC date/time, for templates that print today's date
/// (Llama 3.2). Supports `%Y %m %d %e %H %M %S %b %B %a %A %j %y %%`.
fn strftime_now(format: String) -> Result<String, minijinja::Error> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    strftime(&format, secs)
}

/// Formats `secs` since the Unix epoch (UTC) with a subset of C's `strftime`.
fn strftime(format: &str, secs: i64) -> Result<String, minijinja::Error> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Civil date from day count (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_mar + 2) / 153;
    let day = doy_mar - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let cum = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let yday = cum[(month - 1) as usize] + day + i64::from(leap && month > 2);
    let weekday = DAYS[days.rem_euclid(7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year.rem_euclid(100))),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('e') => out.push_str(&format!("{day:2}")),
            Some('j') => out.push_str(&format!("{yday:03}")),
            Some('H') => out.push_str(&format!("{:02}", tod / 3600)),
            Some('M') => out.push_str(&format!("{:02}", tod / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", tod % 60)),
            Some('b') => out.push_str(&month_name[..3]),
            Some('B') => out.push_str(month_name),
            Some('a') => out.push_str(&weekday[..3]),
            Some('A') => out.push_str(weekday),
            Some('%') => out.push('%'),
            other => {
                return Err(minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!(
                        "strftime_now: unsupported directive %{}",
                        other.map_or(String::new(), String::from)
                    ),
                ));
            }
        }
    }
    Ok(out)
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
    fn jinja_features_hf_templates_use() {
        let src = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'system' %}\
                   {{ raise_exception('no system') }}{% endif %}\
                   <{{ m.role }}>{{ m['content'] | trim }}{{ m.content.strip().upper() }}\
                   {% if loop.last %}.{% endif %}{% endfor %}\
                   {% if add_generation_prompt %}<assistant>{% endif %}";
        let t = JinjaTemplate::new(src, [("bos_token", "<s>")], "test").unwrap();
        let out = t.render(&msgs(&[("user", " hi ")]), true).unwrap();
        assert_eq!(out, "<s><user>hiHI.<assistant>");
        let err = t.render(&msgs(&[("system", "x")]), false).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("no system") && msg.contains("test"), "{msg}");
        let syntax =
            JinjaTemplate::new("{% for %}", Vec::<(String, String)>::new(), "bad").unwrap_err();
        assert!(matches!(syntax, TemplateError::Syntax { .. }), "{syntax}");
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

    #[test]
    fn config_forms() {
        let cfg = r#"{"chat_template": [{"name": "tool_use", "template": "T"},
                      {"name": "default", "template": "{{ eos_token }}D"}],
                      "eos_token": {"content": "</s>", "lstrip": false}, "pad_token": null}"#;
        let t = JinjaTemplate::from_tokenizer_config_str(cfg, "default", "cfg.json").unwrap();
        assert_eq!(t.render(&[], false).unwrap(), "</s>D");
        let e = JinjaTemplate::from_tokenizer_config_str(cfg, "nope", "cfg.json").unwrap_err();
        assert!(e.to_string().contains("tool_use"), "{e}");
        let e = JinjaTemplate::from_tokenizer_config_str("{}", "default", "c.json").unwrap_err();
        assert!(
            e.to_string().starts_with("c.json: field `chat_template`"),
            "{e}"
        );
    }

    #[test]
    fn strftime_known_dates() {
        // 2024-07-26 13:05:09 UTC, a Friday.
        let s = strftime("%d %b %Y %H:%M:%S %A %j %B %%", 1_721_999_109).unwrap();
        assert_eq!(s, "26 Jul 2024 13:05:09 Friday 208 July %");
        assert_eq!(strftime("%Y-%m-%d", 0).unwrap(), "1970-01-01");
        assert_eq!(strftime("%Y-%m-%d", 951_782_400).unwrap(), "2000-02-29");
        assert!(strftime("%Q", 0).is_err());
    }
}
