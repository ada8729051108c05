//! Chat-template rendering against `transformers`' own rendering of the same templates
//! (fixtures made by `scripts/make_chat_template_fixtures.py`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pref_data::{ChatTemplate, JinjaTemplate, Message, TemplateError, Text};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Fixtures {
    renderings: Vec<Rendering>,
    pairs: Vec<Pair>,
}

#[derive(Deserialize)]
struct Rendering {
    template: String,
    messages: Vec<Message>,
    add_generation_prompt: bool,
    kwargs: serde_json::Map<String, Value>,
    rendered: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Pair {
    template: String,
    prompt: Vec<Message>,
    completion: Vec<Message>,
    prompt_text: String,
    completion_text: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chat_templates")
}

fn fixtures() -> Fixtures {
    let text = std::fs::read_to_string(dir().join("renderings.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load(name: &str) -> JinjaTemplate {
    JinjaTemplate::from_tokenizer_config(dir().join(name).join("tokenizer_config.json"))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn renderings_match_transformers() {
    let f = fixtures();
    let mut checked = 0;
    let mut errors = 0;
    for case in &f.renderings {
        let mut t = load(&case.template);
        for (k, v) in &case.kwargs {
            t = t.with_kwarg(k.clone(), v.clone());
        }
        let got = t.render(&case.messages, case.add_generation_prompt);
        match (&case.rendered, &case.error) {
            (Some(want), None) => {
                let got = got.unwrap_or_else(|e| panic!("{}: {e}", case.template));
                assert_eq!(
                    &got, want,
                    "{} gen={} kwargs={:?}",
                    case.template, case.add_generation_prompt, case.kwargs
                );
                checked += 1;
            }
            (None, Some(msg)) => {
                let e = got.expect_err("transformers raised, so must we");
                assert!(matches!(e, TemplateError::Render { .. }), "{e}");
                assert!(e.to_string().contains(msg.as_str()), "{e} vs {msg}");
                errors += 1;
            }
            _ => unreachable!(),
        }
    }
    // Every template, every conversation, both generation-prompt settings.
    assert_eq!(checked + errors, f.renderings.len());
    assert!(checked >= 70 && errors >= 2, "{checked} {errors}");
}

#[test]
fn pair_split_matches_trl() {
    let f = fixtures();
    assert!(f.pairs.len() >= 30);
    for case in &f.pairs {
        let t = ChatTemplate::Jinja(Arc::new(load(&case.template)));
        let (p, c) = t
            .render_pair(
                &Text::Chat(case.prompt.clone()),
                &Text::Chat(case.completion.clone()),
            )
            .unwrap();
        assert_eq!(p, case.prompt_text, "{}", case.template);
        assert_eq!(c, case.completion_text, "{}", case.template);
    }
}

#[test]
fn list_form_config_picks_default_and_named() {
    let path = dir().join("gemma/tokenizer_config.json");
    let t = JinjaTemplate::from_tokenizer_config(&path).unwrap();
    assert_eq!(t.special_tokens()["bos_token"], "<bos>");
    assert_eq!(t.special_tokens()["eos_token"], "<eos>");
    let out = t.render(&[Message::new("user", "hi")], true).unwrap();
    assert_eq!(
        out,
        "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"
    );
    let tool = JinjaTemplate::from_tokenizer_config_named(&path, "tool_use").unwrap();
    assert!(tool.render(&[], false).is_err());
}

#[test]
fn chat_template_jinja_file_beside_the_config() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("tokenizer_config.json"),
        r#"{"eos_token": "</s>"}"#,
    )
    .unwrap();
    std::fs::write(
        d.path().join("chat_template.jinja"),
        "{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}",
    )
    .unwrap();
    let t = ChatTemplate::from_tokenizer_config(d.path().join("tokenizer_config.json")).unwrap();
    assert_eq!(
        t.render(&[Message::new("user", "a")], false).unwrap(),
        "a</s>"
    );
}

#[test]
fn missing_or_bad_config_names_file_and_field() {
    let e = JinjaTemplate::from_tokenizer_config("/no/such/tokenizer_config.json").unwrap_err();
    assert!(
        e.to_string().contains("/no/such/tokenizer_config.json"),
        "{e}"
    );
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("tokenizer_config.json");
    std::fs::write(&p, r#"{"chat_template": 3}"#).unwrap();
    let e = JinjaTemplate::from_tokenizer_config(&p)
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with(
            "tokenizer_config.json: `chat_template`: expected a string or a list of named \
             templates, got a number"
        ),
        "{e}"
    );
    std::fs::write(&p, r#"{"chat_template": "{% if %}"}"#).unwrap();
    let e = JinjaTemplate::from_tokenizer_config(&p).unwrap_err();
    assert!(matches!(e, TemplateError::Syntax { .. }), "{e}");
}
