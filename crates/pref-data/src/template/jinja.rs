//! [`JinjaTemplate`]: a Hugging Face Jinja chat template compiled with minijinja, and how
//! it is read from a `tokenizer_config.json`.

use rlhf_core::ConfigError;
use std::collections::BTreeMap;
use std::path::Path;

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde_json::Value as Json;

use super::functions::{raise_exception, strftime_now};
use super::{TemplateError, preview};
use crate::record::Message;

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
        let config: Json = serde_json::from_str(&text).map_err(|source| TemplateError::Json {
            path: path.to_path_buf(),
            source,
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
        let config: Json = serde_json::from_str(json).map_err(|source| TemplateError::Json {
            path: origin.to_path_buf(),
            source,
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
            source: ConfigError::new(field, expected, got),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(v: &[(&str, &str)]) -> Vec<Message> {
        v.iter().map(|(r, c)| Message::new(*r, *c)).collect()
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
            e.to_string()
                .starts_with("c.json: `chat_template`: expected"),
            "{e}"
        );
    }
}
