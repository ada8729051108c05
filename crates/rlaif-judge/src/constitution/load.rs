//! Reading and writing constitutions (TOML, JSON), with errors naming file, principle and
//! field.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::Constitution;

/// The label of errors about top-level fields.
pub(super) const TOP: &str = "top level";

/// Why a constitution cannot be used. Messages name the origin (a file, or a label such as
/// `<TOML>` for text given directly), the principle (its name and position) and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConstitutionError {
    /// The file could not be read or written.
    #[error("constitution {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not valid TOML or JSON, or the file name has neither extension.
    #[error("{origin}: not valid {format}: {message}")]
    Syntax {
        /// The file or label.
        origin: String,
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A field is missing, unknown, of the wrong type, blank, or a duplicate name.
    #[error("{origin}: {principle}: field `{field}`: {message}")]
    Invalid {
        /// The file or label.
        origin: String,
        /// Which principle: ``principle `name` (#3)``, `principle #3` when it has no
        /// readable name, or `top level` for the constitution's own fields.
        principle: String,
        /// The field (`name`, `critique_request`, `revision_request`, `comparison`,
        /// `principles`, `description`, or an unknown one).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The two formats of a constitution file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConstitutionFormat {
    /// TOML: top-level `name`, `description`, `[[principles]]` tables.
    Toml,
    /// JSON: `{"name", "description", "principles": [...]}`.
    Json,
}

impl ConstitutionFormat {
    /// The format of a file named `*.toml` or `*.json`.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Some(Self::Toml),
            Some("json") => Some(Self::Json),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Toml => "TOML",
            Self::Json => "JSON",
        }
    }
}

/// ``principle `name` (#i+1)``, or `principle #i+1` without a name.
pub(super) fn principle_label(name: Option<&str>, index: usize) -> String {
    match name {
        Some(n) if !n.trim().is_empty() => format!("principle `{n}` (#{})", index + 1),
        _ => format!("principle #{}", index + 1),
    }
}

impl Constitution {
    /// Parses and validates a constitution from `text`; `origin` names it in errors.
    pub fn parse(
        text: &str,
        format: ConstitutionFormat,
        origin: &str,
    ) -> Result<Self, ConstitutionError> {
        let syntax = |message: String| ConstitutionError::Syntax {
            origin: origin.to_string(),
            format: format.name(),
            message,
        };
        let value: Value = match format {
            ConstitutionFormat::Toml => {
                toml::from_str(text).map_err(|e| syntax(e.to_string().trim().to_string()))?
            }
            ConstitutionFormat::Json => {
                serde_json::from_str(text).map_err(|e| syntax(e.to_string()))?
            }
        };
        let constitution = from_value(&value, origin)?;
        constitution.validate(origin)?;
        Ok(constitution)
    }

    /// Reads a `.toml` or `.json` constitution file (see [`Constitution::parse`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ConstitutionError> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let format =
            ConstitutionFormat::from_path(path).ok_or_else(|| ConstitutionError::Syntax {
                origin: origin.clone(),
                format: "TOML or JSON",
                message: "the file name must end in .toml or .json".into(),
            })?;
        let text = std::fs::read_to_string(path).map_err(|source| ConstitutionError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, format, &origin)
    }

    /// The constitution as TOML (reads back equal with [`Constitution::parse`]).
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a constitution is plain strings and lists")
    }

    /// The constitution as pretty-printed JSON (reads back equal).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a constitution is plain strings and lists")
    }

    /// Writes the constitution to `path` in the format its extension names.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ConstitutionError> {
        let path = path.as_ref();
        let text = match ConstitutionFormat::from_path(path) {
            Some(ConstitutionFormat::Toml) => self.to_toml(),
            Some(ConstitutionFormat::Json) => self.to_json(),
            None => {
                return Err(ConstitutionError::Syntax {
                    origin: path.display().to_string(),
                    format: "TOML or JSON",
                    message: "the file name must end in .toml or .json".into(),
                });
            }
        };
        std::fs::write(path, text).map_err(|source| ConstitutionError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Deserialises `value`, turning serde's error path into principle and field.
fn from_value(value: &Value, origin: &str) -> Result<Constitution, ConstitutionError> {
    if !value.is_object() {
        return Err(ConstitutionError::Invalid {
            origin: origin.to_string(),
            principle: TOP.into(),
            field: "<document>".into(),
            message: "expected a table with `name` and `principles`".into(),
        });
    }
    serde_path_to_error::deserialize::<_, Constitution>(value.clone()).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let (principle, field) = locate(value, &path, &message);
        ConstitutionError::Invalid {
            origin: origin.to_string(),
            principle,
            field,
            message,
        }
    })
}

/// The principle label and field of a deserialisation error at `path` (serde's path, e.g.
/// `principles[2].comparison`) with `message`.
fn locate(value: &Value, path: &str, message: &str) -> (String, String) {
    static PRINCIPLE: OnceLock<Regex> = OnceLock::new();
    static FIELD: OnceLock<Regex> = OnceLock::new();
    let principle_re =
        PRINCIPLE.get_or_init(|| Regex::new(r"^principles\[(\d+)\](?:\.(.+))?$").expect("valid"));
    let field_re =
        FIELD.get_or_init(|| Regex::new(r"(?:missing|unknown) field `([^`]+)`").expect("valid"));
    let from_message = || {
        field_re
            .captures(message)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str().to_string())
    };
    if let Some(c) = principle_re.captures(path) {
        let index: usize = c[1].parse().unwrap_or(0);
        let name = value
            .get("principles")
            .and_then(|p| p.get(index))
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str);
        let field = c
            .get(2)
            .map(|m| m.as_str().to_string())
            .or_else(from_message)
            .unwrap_or_else(|| "<principle>".into());
        return (principle_label(name, index), field);
    }
    let field = if path.is_empty() || path == "." {
        from_message().unwrap_or_else(|| "<document>".into())
    } else {
        path.to_string()
    };
    (TOP.into(), field)
}
