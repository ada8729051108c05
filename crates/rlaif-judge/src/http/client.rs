//! POSTing JSON with a timeout, retries with exponential backoff, and classified errors.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::error::{HttpError, preview, tail};

/// Characters of a reply quoted in an error.
const QUOTE: usize = 200;

/// Counters of what a client did.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

/// A blocking JSON client (ureq) shared by the worker threads of one model.
pub(crate) struct Client {
    agent: ureq::Agent,
    api_key: Option<String>,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    pub counters: Counters,
}

/// One failed attempt: retry it, or give up at once.
enum Attempt {
    Retry {
        error: HttpError,
        retry_after: Option<Duration>,
    },
    Fatal(HttpError),
}

impl Client {
    pub fn new(
        api_key: Option<String>,
        timeout: Duration,
        max_retries: u32,
        backoff: Duration,
        max_backoff: Duration,
    ) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(timeout)
            .timeout(timeout)
            .build();
        Self {
            agent,
            api_key,
            timeout,
            max_retries,
            backoff,
            max_backoff,
            counters: Counters::default(),
        }
    }

    /// POSTs `body` to `url` and parses the reply as JSON. Connection failures, timeouts,
    /// HTTP 408, 429 and 5xx are retried up to `max_retries` times, waiting
    /// `backoff · 2^(k−1)` before retry `k` (at most `max_backoff`; a `Retry-After` header
    /// in seconds is honoured, also capped); other statuses and replies that are not JSON
    /// fail at once.
    pub fn post_json(&self, url: &str, body: &Value) -> Result<Value, HttpError> {
        let text = body.to_string();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            self.counters.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(url, &text, attempts) {
                Ok(reply) => return parse_reply(url, &reply),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry { error, retry_after }) => {
                    if attempts > self.max_retries {
                        return Err(error);
                    }
                    self.counters.retries.fetch_add(1, Ordering::Relaxed);
                    let exp = self
                        .backoff
                        .saturating_mul(1u32 << (attempts - 1).min(16))
                        .min(self.max_backoff);
                    std::thread::sleep(retry_after.map_or(exp, |r| r.min(self.max_backoff)));
                }
            }
        }
    }

    fn attempt(&self, url: &str, body: &str, attempts: u32) -> Result<String, Attempt> {
        let mut request = self.agent.post(url).set("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.set("Authorization", &format!("Bearer {key}"));
        }
        let transport = |message: String| {
            let timed_out = message.contains("timed out") || message.contains("Timeout");
            Attempt::Retry {
                error: if timed_out {
                    HttpError::Timeout {
                        url: url.to_string(),
                        timeout: self.timeout,
                        attempts,
                    }
                } else {
                    HttpError::Transport {
                        url: url.to_string(),
                        message,
                        attempts,
                    }
                },
                retry_after: None,
            }
        };
        match request.send_string(body) {
            Ok(response) => response
                .into_string()
                .map_err(|e| transport(format!("reading the reply: {e}"))),
            Err(ureq::Error::Status(status, response)) => {
                let retry_after = response
                    .header("Retry-After")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Duration::from_secs_f64);
                let text = response.into_string().unwrap_or_default();
                let error = HttpError::Status {
                    url: url.to_string(),
                    status,
                    body: preview(text.trim(), QUOTE),
                    attempts,
                };
                if status == 408 || status == 429 || status >= 500 {
                    Err(Attempt::Retry { error, retry_after })
                } else {
                    Err(Attempt::Fatal(error))
                }
            }
            Err(ureq::Error::Transport(t)) => Err(transport(t.to_string())),
        }
    }
}

/// The reply as JSON: [`HttpError::Truncated`] when it ends mid-value,
/// [`HttpError::NotJson`] when it is something else, [`HttpError::Shape`] when it is an
/// `{"error": …}` object.
fn parse_reply(url: &str, text: &str) -> Result<Value, HttpError> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        if e.is_eof() && !text.trim().is_empty() {
            HttpError::Truncated {
                url: url.to_string(),
                message: e.to_string(),
                tail: tail(text, 60),
            }
        } else {
            HttpError::NotJson {
                url: url.to_string(),
                message: e.to_string(),
                preview: preview(text, 60),
            }
        }
    })?;
    if let Some(err) = value.get("error").filter(|e| !e.is_null()) {
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .map_or_else(|| err.to_string(), str::to_string);
        return Err(HttpError::Shape {
            url: url.to_string(),
            field: "error".into(),
            what: format!("is set: {}", preview(&message, QUOTE)),
        });
    }
    Ok(value)
}
