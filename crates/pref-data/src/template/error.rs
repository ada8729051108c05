//! [`TemplateError`]: what can go wrong loading or rendering a chat template.

use std::path::PathBuf;

use rlhf_core::ConfigError;

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
    /// A `tokenizer_config.json` is not valid JSON.
    #[error("{}: invalid JSON: {source}", path.display())]
    Json {
        /// The file (or `<in-memory>`).
        path: PathBuf,
        /// The parser's error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A `tokenizer_config.json` is not what a chat template is read from (the field is the
    /// file's key, `<file>` for the document as a whole).
    #[error("{}: {source}", path.display())]
    Config {
        /// The file (or `<in-memory>`).
        path: PathBuf,
        /// The field, what was expected and what was found.
        #[source]
        source: ConfigError,
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
