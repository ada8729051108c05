//! Grader configurations: TOML or JSON, tagged on `type` like OpenAI's grader objects,
//! validated with errors naming the file, the grader and the field.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use regex::Regex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{
    ConfigError, FieldError, Grader, JsonField, JsonFieldConfig, LabelModel, LabelModelConfig,
    Lexicon, LexiconConfig, Multi, MultiConfig, MultipleChoice, MultipleChoiceConfig, Numeric,
    NumericConfig, Program, ProgramConfig, RegexConfig, RegexGrader, ScoreModel, ScoreModelConfig,
    StringCheck, StringCheckConfig, TextSimilarity, TextSimilarityConfig,
};
use crate::backend::TextModel;

/// The grader types a configuration may name.
pub const GRADER_TYPES: [&str; 11] = [
    "string_check",
    "text_similarity",
    "score_model",
    "label_model",
    "multi",
    "program",
    "numeric",
    "regex",
    "json_field",
    "multiple_choice",
    "lexicon",
];

/// One grader's configuration, tagged on `type` (OpenAI's grader JSON objects, and the
/// types this crate adds).
///
/// ```toml
/// [[graders]]
/// type = "string_check"
/// name = "exact"
/// input = "{{ sample.output_text }}"
/// reference = "{{ item.reference_answer }}"
/// operation = "eq"
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum GraderConfig {
    /// [`StringCheck`].
    StringCheck(StringCheckConfig),
    /// [`TextSimilarity`].
    TextSimilarity(TextSimilarityConfig),
    /// [`ScoreModel`].
    ScoreModel(ScoreModelConfig),
    /// [`LabelModel`].
    LabelModel(LabelModelConfig),
    /// [`Multi`].
    Multi(MultiConfig),
    /// [`Program`].
    Program(ProgramConfig),
    /// [`Numeric`].
    Numeric(NumericConfig),
    /// [`RegexGrader`].
    Regex(RegexConfig),
    /// [`JsonField`].
    JsonField(JsonFieldConfig),
    /// [`MultipleChoice`].
    MultipleChoice(MultipleChoiceConfig),
    /// [`Lexicon`].
    Lexicon(LexiconConfig),
}

/// What building graders needs beyond their configuration: the text models that
/// `score_model` and `label_model` graders name in their `model` field.
#[derive(Clone, Default)]
pub struct BuildContext {
    models: BTreeMap<String, Arc<dyn TextModel>>,
}

impl BuildContext {
    /// A context with no model.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context with `model` registered as `name` (model graders default to the name
    /// `"default"`).
    pub fn with_model(mut self, name: impl Into<String>, model: Arc<dyn TextModel>) -> Self {
        self.models.insert(name.into(), model);
        self
    }

    /// The model registered as `name`.
    pub fn model(&self, name: &str) -> Option<Arc<dyn TextModel>> {
        self.models.get(name).cloned()
    }

    /// The registered names.
    pub fn model_names(&self) -> Vec<&str> {
        self.models.keys().map(String::as_str).collect()
    }
}

impl std::fmt::Debug for BuildContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildContext")
            .field("models", &self.model_names())
            .finish()
    }
}

impl GraderConfig {
    /// The grader's name.
    pub fn name(&self) -> &str {
        match self {
            GraderConfig::StringCheck(c) => &c.name,
            GraderConfig::TextSimilarity(c) => &c.name,
            GraderConfig::ScoreModel(c) => &c.name,
            GraderConfig::LabelModel(c) => &c.name,
            GraderConfig::Multi(c) => &c.name,
            GraderConfig::Program(c) => &c.name,
            GraderConfig::Numeric(c) => &c.name,
            GraderConfig::Regex(c) => &c.name,
            GraderConfig::JsonField(c) => &c.name,
            GraderConfig::MultipleChoice(c) => &c.name,
            GraderConfig::Lexicon(c) => &c.name,
        }
    }

    /// Renames the grader.
    pub fn set_name(&mut self, name: &str) {
        let n = match self {
            GraderConfig::StringCheck(c) => &mut c.name,
            GraderConfig::TextSimilarity(c) => &mut c.name,
            GraderConfig::ScoreModel(c) => &mut c.name,
            GraderConfig::LabelModel(c) => &mut c.name,
            GraderConfig::Multi(c) => &mut c.name,
            GraderConfig::Program(c) => &mut c.name,
            GraderConfig::Numeric(c) => &mut c.name,
            GraderConfig::Regex(c) => &mut c.name,
            GraderConfig::JsonField(c) => &mut c.name,
            GraderConfig::MultipleChoice(c) => &mut c.name,
            GraderConfig::Lexicon(c) => &mut c.name,
        };
        *n = name.to_string();
    }

    /// The `type` (`"string_check"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            GraderConfig::StringCheck(_) => "string_check",
            GraderConfig::TextSimilarity(_) => "text_similarity",
            GraderConfig::ScoreModel(_) => "score_model",
            GraderConfig::LabelModel(_) => "label_model",
            GraderConfig::Multi(_) => "multi",
            GraderConfig::Program(_) => "program",
            GraderConfig::Numeric(_) => "numeric",
            GraderConfig::Regex(_) => "regex",
            GraderConfig::JsonField(_) => "json_field",
            GraderConfig::MultipleChoice(_) => "multiple_choice",
            GraderConfig::Lexicon(_) => "lexicon",
        }
    }

    /// Builds the grader, with models from `ctx`; errors name `origin` (a file name, or
    /// any label), the grader and the field.
    pub fn build(&self, ctx: &BuildContext, origin: &str) -> Result<Box<dyn Grader>, ConfigError> {
        self.build_inner(ctx).map_err(|(path, e)| {
            let grader = if path.is_empty() {
                self.name().to_string()
            } else {
                format!("{}.{path}", self.name())
            };
            e.into_config_error(origin, &grader)
        })
    }

    /// Builds the grader; an error carries the sub-grader path (empty for this grader).
    pub(crate) fn build_inner(
        &self,
        ctx: &BuildContext,
    ) -> Result<Box<dyn Grader>, (String, FieldError)> {
        let here = |e: FieldError| (String::new(), e);
        Ok(match self {
            GraderConfig::StringCheck(c) => Box::new(StringCheck::new(c).map_err(here)?),
            GraderConfig::TextSimilarity(c) => Box::new(TextSimilarity::new(c).map_err(here)?),
            GraderConfig::ScoreModel(c) => Box::new(ScoreModel::new(c, ctx).map_err(here)?),
            GraderConfig::LabelModel(c) => Box::new(LabelModel::new(c, ctx).map_err(here)?),
            GraderConfig::Multi(c) => Box::new(Multi::new(c, ctx)?),
            GraderConfig::Program(c) => Box::new(Program::new(c).map_err(here)?),
            GraderConfig::Numeric(c) => Box::new(Numeric::new(c).map_err(here)?),
            GraderConfig::Regex(c) => Box::new(RegexGrader::new(c).map_err(here)?),
            GraderConfig::JsonField(c) => Box::new(JsonField::new(c).map_err(here)?),
            GraderConfig::MultipleChoice(c) => Box::new(MultipleChoice::new(c).map_err(here)?),
            GraderConfig::Lexicon(c) => Box::new(Lexicon::new(c).map_err(here)?),
        })
    }

    /// One grader from its JSON object; an error carries the grader path (the `name`, or
    /// `at` when it has none) and the field.
    pub fn from_json_value(value: &Value, at: &str) -> Result<Self, (String, FieldError)> {
        let Some(obj) = value.as_object() else {
            return Err((
                at.to_string(),
                FieldError::new(
                    "<grader>",
                    format!(
                        "expected a table (object) with a `type`, got {}",
                        short(value)
                    ),
                ),
            ));
        };
        let who = match obj.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => at.to_string(),
        };
        let err = |e: FieldError| (who.clone(), e);
        let kind = match obj.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(other) => {
                return Err(err(FieldError::new(
                    "type",
                    format!("expected a grader type (a string), got {}", short(other)),
                )));
            }
            None => {
                return Err(err(FieldError::new(
                    "type",
                    format!("missing: expected one of {}", types_list()),
                )));
            }
        };
        let mut rest: Map<String, Value> = obj.clone();
        rest.remove("type");
        Ok(match kind {
            "string_check" => GraderConfig::StringCheck(typed(rest).map_err(err)?),
            "text_similarity" => GraderConfig::TextSimilarity(typed(rest).map_err(err)?),
            "score_model" => GraderConfig::ScoreModel(typed(rest).map_err(err)?),
            "label_model" => GraderConfig::LabelModel(typed(rest).map_err(err)?),
            "program" => GraderConfig::Program(typed(rest).map_err(err)?),
            "numeric" => GraderConfig::Numeric(typed(rest).map_err(err)?),
            "regex" => GraderConfig::Regex(typed(rest).map_err(err)?),
            "json_field" => GraderConfig::JsonField(typed(rest).map_err(err)?),
            "multiple_choice" => GraderConfig::MultipleChoice(typed(rest).map_err(err)?),
            "lexicon" => GraderConfig::Lexicon(typed(rest).map_err(err)?),
            "multi" => GraderConfig::Multi(multi_from_json(rest, &who)?),
            "python" => {
                return Err(err(FieldError::new(
                    "type",
                    "the `python` grader runs in OpenAI's sandbox; use a `program` grader (a command reading {\"sample\", \"item\"} as JSON on stdin)",
                )));
            }
            other => {
                return Err(err(FieldError::new(
                    "type",
                    format!(
                        "unknown grader type `{other}`, expected one of {}",
                        types_list()
                    ),
                )));
            }
        })
    }
}

fn multi_from_json(
    mut rest: Map<String, Value>,
    who: &str,
) -> Result<MultiConfig, (String, FieldError)> {
    let err = |e: FieldError| (who.to_string(), e);
    let graders_value = rest.remove("graders").ok_or_else(|| {
        err(FieldError::new(
            "graders",
            "missing: expected a table of named sub-graders",
        ))
    })?;
    let Value::Object(subs) = graders_value else {
        return Err(err(FieldError::new(
            "graders",
            format!(
                "expected a table of named sub-graders, got {}",
                short(&graders_value)
            ),
        )));
    };
    let mut graders = BTreeMap::new();
    for (key, v) in subs {
        let mut sub = GraderConfig::from_json_value(&v, &key)
            .map_err(|(_, e)| (format!("{who}.{key}"), e))?;
        if sub.name().is_empty() {
            sub.set_name(&key);
        }
        graders.insert(key, sub);
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rest {
        #[serde(default)]
        name: String,
        calculate_output: String,
    }
    let r: Rest = typed(rest).map_err(err)?;
    Ok(MultiConfig {
        name: r.name,
        graders,
        calculate_output: r.calculate_output,
    })
}

/// Deserialises a grader's fields, naming the offending field.
fn typed<T: DeserializeOwned>(fields: Map<String, Value>) -> Result<T, FieldError> {
    serde_path_to_error::deserialize::<_, T>(Value::Object(fields)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        static FIELD: OnceLock<Regex> = OnceLock::new();
        let re = FIELD
            .get_or_init(|| Regex::new(r"(?:missing|unknown) field `([^`]+)`").expect("valid"));
        let field = if path.is_empty() || path == "." {
            re.captures(&message)
                .and_then(|c| c.get(1))
                .map_or_else(|| "<grader>".to_string(), |m| m.as_str().to_string())
        } else {
            path
        };
        FieldError::new(field, message)
    })
}

fn types_list() -> String {
    GRADER_TYPES
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

impl<'de> Deserialize<'de> for GraderConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        GraderConfig::from_json_value(&v, "<grader>").map_err(|(who, e)| {
            serde::de::Error::custom(format!(
                "grader `{who}`: field `{}`: {}",
                e.field, e.message
            ))
        })
    }
}

/// The format of a grader configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigFormat {
    /// TOML: `[[graders]]` tables, or one grader's fields at the top level.
    Toml,
    /// JSON: `{"graders": [...]}`, a list of graders, or one grader object.
    Json,
}

/// Parses graders from `text` in `format`; `origin` names the text in errors (a file
/// name). Every top-level grader needs a unique, non-empty `name`.
pub fn parse_graders(
    text: &str,
    format: ConfigFormat,
    origin: &str,
) -> Result<Vec<GraderConfig>, ConfigError> {
    let value: Value = match format {
        ConfigFormat::Toml => toml::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            format: "TOML",
            message: e.to_string().trim().to_string(),
        })?,
        ConfigFormat::Json => serde_json::from_str(text).map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            format: "JSON",
            message: e.to_string(),
        })?,
    };
    let list: Vec<Value> = match value {
        Value::Array(a) => a,
        Value::Object(mut o) if !o.contains_key("type") => {
            if let Some(key) = o.keys().find(|k| *k != "graders") {
                return Err(ConfigError::Invalid {
                    origin: origin.to_string(),
                    grader: "<file>".to_string(),
                    field: key.clone(),
                    message: "unknown top-level key: expected `graders` (a list of graders) or one grader with a `type`".to_string(),
                });
            }
            match o.remove("graders") {
                Some(Value::Array(a)) => a,
                Some(other) => {
                    return Err(ConfigError::Invalid {
                        origin: origin.to_string(),
                        grader: "<file>".to_string(),
                        field: "graders".to_string(),
                        message: format!("expected a list of graders, got {}", short(&other)),
                    });
                }
                None => Vec::new(),
            }
        }
        single => vec![single],
    };
    let mut out: Vec<GraderConfig> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let at = format!("#{}", i + 1);
        let g = GraderConfig::from_json_value(v, &at)
            .map_err(|(who, e)| e.into_config_error(origin, &who))?;
        if g.name().trim().is_empty() {
            return Err(
                FieldError::new("name", "missing: every top-level grader needs a name")
                    .into_config_error(origin, &at),
            );
        }
        if out.iter().any(|o| o.name() == g.name()) {
            return Err(FieldError::new("name", "duplicate grader name")
                .into_config_error(origin, g.name()));
        }
        out.push(g);
    }
    if out.is_empty() {
        return Err(ConfigError::Invalid {
            origin: origin.to_string(),
            grader: "<file>".to_string(),
            field: "graders".to_string(),
            message: "no grader defined".to_string(),
        });
    }
    Ok(out)
}

/// Reads graders from a `.toml` or `.json` file (see [`parse_graders`]).
pub fn load_graders(path: impl AsRef<Path>) -> Result<Vec<GraderConfig>, ConfigError> {
    let path = path.as_ref();
    let origin = path.display().to_string();
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => ConfigFormat::Toml,
        Some("json") => ConfigFormat::Json,
        _ => {
            return Err(ConfigError::Syntax {
                origin,
                format: "TOML or JSON",
                message: "the file name must end in .toml or .json".to_string(),
            });
        }
    };
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_graders(&text, format, &origin)
}

/// Builds every grader of `configs` (see [`GraderConfig::build`]).
pub fn build_graders(
    configs: &[GraderConfig],
    ctx: &BuildContext,
    origin: &str,
) -> Result<Vec<Box<dyn Grader>>, ConfigError> {
    configs.iter().map(|c| c.build(ctx, origin)).collect()
}

/// `configs` as TOML (`[[graders]]` tables), which [`parse_graders`] reads back equal.
pub fn graders_to_toml(configs: &[GraderConfig]) -> Result<String, ConfigError> {
    #[derive(Serialize)]
    struct File<'a> {
        graders: &'a [GraderConfig],
    }
    toml::to_string(&File { graders: configs }).map_err(|e| ConfigError::Syntax {
        origin: "<output>".to_string(),
        format: "TOML",
        message: e.to_string(),
    })
}

/// `configs` as pretty JSON (`{"graders": [...]}`), which [`parse_graders`] reads back
/// equal.
pub fn graders_to_json(configs: &[GraderConfig]) -> String {
    serde_json::to_string_pretty(&serde_json::json!({ "graders": configs })).unwrap_or_default()
}
