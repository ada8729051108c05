//! Grader templates: strings such as `{{ item.reference_answer }}` or
//! `{{ sample.output_text }}`, rendered with minijinja against the `sample` and `item`
//! namespaces, as OpenAI's graders template their inputs.

use std::fmt;
use std::sync::Arc;

use minijinja::{Environment, UndefinedBehavior};

use super::sample::{GraderSample, Item};

/// The template's name inside its environment.
const NAME: &str = "t";

/// A compiled grader template.
///
/// The context has two namespaces: `sample` (`output_text`, `output_json`) and `item`
/// (the dataset row's fields). Undefined variables are errors (minijinja's strict mode),
/// so a misspelt field is reported rather than rendered as an empty string. Objects and
/// arrays render as JSON with the `tojson` filter (`{{ item.answer | tojson }}`).
#[derive(Clone)]
pub struct Template {
    source: String,
    env: Arc<Environment<'static>>,
}

impl Template {
    /// Compiles `source`; the error is minijinja's syntax error message.
    pub fn new(source: impl Into<String>) -> Result<Self, String> {
        let source = source.into();
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template_owned(NAME, source.clone())
            .map_err(|e| format!("{e:#}"))?;
        Ok(Self {
            source,
            env: Arc::new(env),
        })
    }

    /// The template's source.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Renders the template for `sample` and `item`; the error says which variable or
    /// expression failed.
    pub fn render(&self, sample: &GraderSample, item: &Item) -> Result<String, String> {
        let tmpl = self.env.get_template(NAME).map_err(|e| format!("{e:#}"))?;
        let ctx = minijinja::context! {
            sample => minijinja::Value::from(minijinja::value::Serde(sample)),
            item => minijinja::Value::from(minijinja::value::Serde(item)),
        };
        tmpl.render(ctx)
            .map_err(|e| format!("cannot render `{}`: {e:#}", self.source))
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

impl PartialEq for Template {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_both_namespaces_and_rejects_undefined_fields() {
        let item: Item = json!({"answer": "Paris", "n": 3})
            .as_object()
            .unwrap()
            .clone();
        let sample = GraderSample::from_text("{\"city\": \"Rome\"}");
        let t =
            Template::new("{{ sample.output_json.city }}/{{ item.answer }}/{{ item.n }}").unwrap();
        assert_eq!(t.render(&sample, &item).unwrap(), "Rome/Paris/3");
        let bad = Template::new("{{ item.anwser }}").unwrap();
        let e = bad.render(&sample, &item).unwrap_err();
        assert!(e.contains("undefined"), "{e}");
        assert!(Template::new("{{ item.answer ").is_err());
    }
}
