//! [`TemplateError`]: what can go wrong loading or rendering a chat template.

use std::path::PathBuf;

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
