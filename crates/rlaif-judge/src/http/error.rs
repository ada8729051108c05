//! [`HttpError`]: why a request to an OpenAI-compatible server failed.

use std::path::PathBuf;
use std::time::Duration;

use rlhf_core::ConfigError;

/// A request that failed or a reply that is not what the API promises. Every message names
/// the URL; replies are quoted (shortened) so that the cause can be seen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The server did not answer within the timeout, on every attempt.
    #[error("{url}: no reply within {timeout:?} ({attempts} attempt(s))")]
    Timeout {
        /// The endpoint.
        url: String,
        /// The per-request timeout.
        timeout: Duration,
        /// Attempts made.
        attempts: u32,
    },
    /// The connection failed or broke (refused, reset, closed mid-reply), on every attempt.
    #[error("{url}: connection failed ({attempts} attempt(s)): {message}")]
    Transport {
        /// The endpoint.
        url: String,
        /// What the HTTP client reported.
        message: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The server answered with an error status: a refusal (4xx other than 408/429, not
    /// retried) or an overload/server error that persisted through every retry.
    #[error("{url}: HTTP {status} ({attempts} attempt(s)): {body}")]
    Status {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the reply's body.
        body: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The reply's body is not JSON.
    #[error("{url}: the reply is not JSON ({message}); it starts {preview:?}")]
    NotJson {
        /// The endpoint.
        url: String,
        /// The JSON parser's message.
        message: String,
        /// The start of the body.
        preview: String,
    },
    /// The reply's JSON ends early (a body cut off mid-object).
    #[error("{url}: the reply is truncated JSON ({message}); it ends {tail:?}")]
    Truncated {
        /// The endpoint.
        url: String,
        /// The JSON parser's message.
        message: String,
        /// The end of the body.
        tail: String,
    },
    /// The reply is JSON but lacks what the API promises (a field missing or mistyped), or
    /// carries an `error` object.
    #[error("{url}: unexpected reply: `{field}` {what}")]
    Shape {
        /// The endpoint.
        url: String,
        /// The JSON path of the field (e.g. `choices[0].text`).
        field: String,
        /// What is wrong with it.
        what: String,
    },
    /// The model declined to answer (a chat `refusal`, or `finish_reason` =
    /// `content_filter`).
    #[error("{url}: the model refused: {message}")]
    Refused {
        /// The endpoint.
        url: String,
        /// The refusal text or the finish reason.
        message: String,
    },
    /// The API key's environment variable is set but not usable.
    #[error("API key: environment variable `{var}` {problem}")]
    ApiKey {
        /// The variable.
        var: String,
        /// What is wrong (e.g. not Unicode, empty).
        problem: String,
    },
    /// The configuration cannot work.
    #[error("HTTP model configuration: {0}")]
    Config(#[from] ConfigError),
    /// The on-disk cache could not be written.
    #[error("reply cache {}: cannot {action}: {source}", path.display())]
    Cache {
        /// The cache file or folder.
        path: PathBuf,
        /// What was being done: `create the folder`, `write`, `rename`.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// The first `n` characters of `s` (with `…` when cut), for messages.
pub(crate) fn preview(s: &str, n: usize) -> String {
    let mut out: String = s.chars().take(n).collect();
    if s.chars().count() > n {
        out.push('…');
    }
    out
}

/// The last `n` characters of `s` (with `…` when cut), for messages.
pub(crate) fn tail(s: &str, n: usize) -> String {
    let count = s.chars().count();
    if count <= n {
        return s.to_string();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(count - n));
    out
}
