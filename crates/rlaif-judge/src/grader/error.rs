//! [`ConfigError`]: why a grader configuration was rejected.

use std::path::PathBuf;

/// A grader configuration that cannot be used. Every message names where the
/// configuration came from (a file, or `<TOML>`/`<JSON>` for text given directly), and,
/// for an invalid grader, the grader's name (`multi.sub` for a sub-grader) and the field:
///
/// ```text
/// graders.toml: grader `exact`: field `operation`: unknown variant `equals`, expected one of `eq`, `ne`, `neq`, `like`, `ilike`
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read grader configuration {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The text is not valid TOML or JSON.
    #[error("{origin}: not valid {format}: {message}")]
    Syntax {
        /// The file, or `<TOML>`/`<JSON>`.
        origin: String,
        /// `"TOML"` or `"JSON"`.
        format: &'static str,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A grader is invalid: an unknown type or field, a missing or mistyped field, or a
    /// value that cannot work (a bad regex, `passing_labels` not within `labels`, a
    /// formula naming an unknown grader...).
    #[error("{origin}: grader `{grader}`: field `{field}`: {message}")]
    Invalid {
        /// The file, or `<TOML>`/`<JSON>`.
        origin: String,
        /// The grader's name (`parent.child` inside a `multi` grader).
        grader: String,
        /// The offending field (a path such as `input[1].content` where nested).
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// A problem with one field of one grader, before the origin and grader name are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same problem inside `parent` (a field holding this one).
    pub fn within(self, parent: &str) -> Self {
        let field = if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        Self { field, ..self }
    }

    /// The [`ConfigError`] for this problem in grader `grader` from `origin`.
    pub fn into_config_error(self, origin: &str, grader: &str) -> ConfigError {
        ConfigError::Invalid {
            origin: origin.to_string(),
            grader: grader.to_string(),
            field: self.field,
            message: self.message,
        }
    }
}
