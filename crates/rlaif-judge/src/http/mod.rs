//! [`HttpModel`]: a [`TextModel`] served by any OpenAI-compatible server (llama.cpp's
//! server and llama-cpp-python, vLLM, SGLang, Ollama, hosted APIs).
//!
//! | call | endpoint | request |
//! |---|---|---|
//! | [`generate`](TextModel::generate), plain prompt | `POST {base}/completions` | `prompt`, `max_tokens`, `temperature`, `top_p`, `seed`, `stop` |
//! | [`generate`](TextModel::generate), chat prompt | `POST {base}/chat/completions` | `messages`, the same settings |
//! | [`option_logprobs`](TextModel::option_logprobs), plain prompt | `POST {base}/completions` | `max_tokens: 1`, `temperature: 0`, `logprobs: k` |
//! | [`option_logprobs`](TextModel::option_logprobs), chat prompt | `POST {base}/chat/completions` | `max_tokens: 1`, `temperature: 0`, `logprobs: true`, `top_logprobs: k` |
//!
//! Base models are asked on `/v1/completions` (the chat endpoint of a base model has no
//! template to render with), chat models on `/v1/chat/completions`: the form of the prompt
//! ([`Text::Plain`] or [`Text::Chat`]) chooses. Option log-probs are read from the `k` top
//! tokens of the first generated position ([`HttpConfig::top_logprobs`]); an option is found
//! when a reported token equals it up to surrounding whitespace (so only options that are one
//! token of the server's tokenizer, such as `"A"`/`"B"` or single digits), and is `None`
//! otherwise. When all the options start with the same whitespace (the ratings `" 1"` …
//! `" 9"`) and the server reports that whitespace as a token of its own (Gemma's tokenizer
//! makes the space before a digit a separate token), a plain prompt is asked again with the
//! whitespace appended: `p(" 7") = p(" 7" as one token) + p(" ") · p("7" | prompt + " ")`. A server that reports no log-probs gives
//! `None` for every option, and the judges then parse a generated answer instead.
//!
//! Requests run on up to [`HttpConfig::concurrency`] threads at once (a batch of prompts is
//! one request each), each with a timeout, retried with exponential backoff on connection
//! failures, timeouts, HTTP 408, 429 and 5xx (honouring `Retry-After`); other statuses,
//! replies that are not JSON, truncated JSON, replies without the promised fields, and
//! refusals are errors at once ([`HttpError`], inside [`BackendError::Server`]). With
//! [`HttpConfig::cache_dir`] every successful reply is stored on disk under the SHA-256 of
//! the endpoint and request body, so a rerun asks nothing twice. The API key, if any, is read
//! from the environment variable [`HttpConfig::api_key_env`] (default `OPENAI_API_KEY`) and
//! sent as `Authorization: Bearer …`; it is never part of the cache key or of messages.
//!
//! Sampling seeds: row `i` of a [`generate`](TextModel::generate) batch is sent with seed
//! `options.seed + i`, so the same prompt twice in a batch is sampled twice.
//!
//! ```no_run
//! use rlaif_judge::http::{HttpConfig, HttpModel};
//! use rlaif_judge::{GenerateOptions, TextModel};
//! use pref_data::Text;
//!
//! let model = HttpModel::new(
//!     HttpConfig::new("http://127.0.0.1:8080/v1", "gemma-3-270m").with_cache_dir(".cache/replies"),
//! )?;
//! let prompt = Text::Plain("The capital of France is".into());
//! let text = model.generate(&[prompt.clone()], &GenerateOptions { max_new_tokens: 5, ..Default::default() })?;
//! let lps = model.option_logprobs(&prompt, &[" Paris".into(), " Lyon".into()])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod client;
mod error;
mod reply;

pub use error::HttpError;

use rlhf_core::ConfigError;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use pref_data::Text;
use serde_json::{Value, json};

use crate::backend::{BackendError, GenerateOptions, TextModel, cut_at_stop};
use cache::DiskCache;
use client::Client;

/// Where and how an [`HttpModel`] asks.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpConfig {
    /// The API root, e.g. `http://127.0.0.1:8080/v1` (endpoints are appended).
    pub base_url: String,
    /// The `model` field of every request (also the model's name in messages).
    pub model: String,
    /// The environment variable holding the API key (default `OPENAI_API_KEY`); unset or
    /// empty means no `Authorization` header.
    pub api_key_env: Option<String>,
    /// Per-request timeout, connect and reply (default 60 s).
    pub timeout: Duration,
    /// Retries after the first attempt (default 3).
    pub max_retries: u32,
    /// Wait before the first retry, doubled at each further one (default 0.5 s).
    pub backoff: Duration,
    /// Longest wait between attempts, `Retry-After` included (default 20 s).
    pub max_backoff: Duration,
    /// Requests in flight at once (default 4).
    pub concurrency: usize,
    /// Top tokens asked for when reading option log-probs (default 20; OpenAI's
    /// `/v1/completions` allows at most 5, its chat endpoint 20).
    pub top_logprobs: usize,
    /// Folder of the reply cache (default none: no cache).
    pub cache_dir: Option<PathBuf>,
}

impl HttpConfig {
    /// The defaults for the server at `base_url` and model `model`.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: Some("OPENAI_API_KEY".into()),
            timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(20),
            concurrency: 4,
            top_logprobs: 20,
            cache_dir: None,
        }
    }

    /// The same with the reply cache in `dir`.
    pub fn with_cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The same with timeout `timeout` and `max_retries` retries.
    pub fn with_timeout(mut self, timeout: Duration, max_retries: u32) -> Self {
        self.timeout = timeout;
        self.max_retries = max_retries;
        self
    }
}

/// What an [`HttpModel`] has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HttpStats {
    /// HTTP requests sent (retries included).
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Replies served from the cache.
    pub cache_hits: u64,
}

/// A model behind an OpenAI-compatible API. See the [module docs](self).
pub struct HttpModel {
    config: HttpConfig,
    base: String,
    client: Client,
    cache: Option<DiskCache>,
}

impl HttpModel {
    /// A client for `config`: checks it, reads the API key from the environment, opens the
    /// cache.
    pub fn new(config: HttpConfig) -> Result<Self, HttpError> {
        let base = config.base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ConfigError::new(
                "base_url",
                "an http:// or https:// URL",
                format_args!("{base:?}"),
            )
            .into());
        }
        if config.concurrency == 0 {
            return Err(ConfigError::new("concurrency", "at least 1", 0).into());
        }
        if config.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "more than 0 s", "0 s").into());
        }
        let api_key = match &config.api_key_env {
            None => None,
            Some(var) => match std::env::var(var) {
                Ok(k) if k.trim().is_empty() => None,
                Ok(k) => Some(k.trim().to_string()),
                Err(std::env::VarError::NotPresent) => None,
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(HttpError::ApiKey {
                        var: var.clone(),
                        problem: "is not valid Unicode".into(),
                    });
                }
            },
        };
        let cache = config
            .cache_dir
            .as_deref()
            .map(DiskCache::open)
            .transpose()?;
        let client = Client::new(
            api_key,
            config.timeout,
            config.max_retries,
            config.backoff,
            config.max_backoff,
        );
        Ok(Self {
            config,
            base,
            client,
            cache,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    /// Requests, retries and cache hits so far.
    pub fn stats(&self) -> HttpStats {
        HttpStats {
            requests: self.client.counters.requests.load(Ordering::Relaxed),
            retries: self.client.counters.retries.load(Ordering::Relaxed),
            cache_hits: self
                .cache
                .as_ref()
                .map_or(0, |c| c.hits.load(Ordering::Relaxed)),
        }
    }

    fn server_error(&self, source: HttpError) -> BackendError {
        BackendError::Server {
            model: self.config.model.clone(),
            source: Box::new(source),
        }
    }

    /// The reply to `body` at `endpoint`, read with `read`: from the cache when there, else
    /// from the server (then cached, once `read` accepted it).
    fn ask<T>(
        &self,
        endpoint: &str,
        body: &Value,
        read: impl Fn(&str, &Value) -> Result<T, HttpError>,
    ) -> Result<T, HttpError> {
        let url = format!("{}{endpoint}", self.base);
        if let Some(cache) = &self.cache
            && let Some(reply) = cache.get(&url, body)
            && let Ok(v) = read(&url, &reply)
        {
            return Ok(v);
        }
        let reply = self.client.post_json(&url, body)?;
        let v = read(&url, &reply)?;
        if let Some(cache) = &self.cache {
            cache.put(&url, body, &reply)?;
        }
        Ok(v)
    }

    /// `f(0..n)` on up to `concurrency` threads, results in order; the first error (by
    /// index) stops the remaining work.
    fn run_all<T: Send>(
        &self,
        n: usize,
        f: impl Fn(usize) -> Result<T, HttpError> + Sync,
    ) -> Result<Vec<T>, HttpError> {
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let slots: Mutex<Vec<Option<Result<T, HttpError>>>> =
            Mutex::new((0..n).map(|_| None).collect());
        let workers = self.config.concurrency.min(n).max(1);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        if failed.load(Ordering::Relaxed) {
                            break;
                        }
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let r = f(i);
                        if r.is_err() {
                            failed.store(true, Ordering::Relaxed);
                        }
                        slots.lock().expect("no worker panics holding the lock")[i] = Some(r);
                    }
                });
            }
        });
        let slots = slots.into_inner().expect("workers joined");
        let mut out = Vec::with_capacity(n);
        let mut first_error = None;
        for r in slots {
            match r {
                Some(Ok(v)) => out.push(v),
                Some(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                None => {}
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn body(&self, prompt: &Text) -> (&'static str, Value) {
        match prompt {
            Text::Plain(p) => (
                "/completions",
                json!({"model": self.config.model, "prompt": p}),
            ),
            Text::Chat(m) => (
                "/chat/completions",
                json!({"model": self.config.model, "messages": m}),
            ),
        }
    }
}

impl TextModel for HttpModel {
    fn name(&self) -> &str {
        &self.config.model
    }

    fn generate(
        &self,
        prompts: &[Text],
        options: &GenerateOptions,
    ) -> Result<Vec<String>, BackendError> {
        if options.max_new_tokens == 0 {
            return Err(BackendError::Input {
                model: self.config.model.clone(),
                message: "max_new_tokens must be at least 1".into(),
            });
        }
        self.run_all(prompts.len(), |i| {
            let (endpoint, mut body) = self.body(&prompts[i]);
            body["max_tokens"] = json!(options.max_new_tokens);
            body["temperature"] = json!(options.temperature);
            body["top_p"] = json!(options.top_p);
            body["seed"] = json!(options.seed.wrapping_add(i as u64));
            if !options.stop.is_empty() {
                body["stop"] = json!(options.stop);
            }
            let chat = matches!(prompts[i], Text::Chat(_));
            let text = self.ask(endpoint, &body, |url, reply| {
                if chat {
                    reply::chat_text(url, reply)
                } else {
                    reply::completion_text(url, reply)
                }
            })?;
            Ok(cut_at_stop(&text, &options.stop))
        })
        .map_err(|e| self.server_error(e))
    }

    fn option_logprobs(
        &self,
        prompt: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError> {
        let mut rows = self.option_logprobs_batch(std::slice::from_ref(prompt), options)?;
        Ok(rows.pop().unwrap_or_default())
    }

    fn option_logprobs_batch(
        &self,
        prompts: &[Text],
        options: &[String],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        if options.is_empty() {
            return Ok(vec![Vec::new(); prompts.len()]);
        }
        let k = self.config.top_logprobs.max(1);
        self.run_all(prompts.len(), |i| {
            let (endpoint, mut body) = self.body(&prompts[i]);
            body["max_tokens"] = json!(1);
            body["temperature"] = json!(0.0);
            let chat = matches!(prompts[i], Text::Chat(_));
            if chat {
                body["logprobs"] = json!(true);
                body["top_logprobs"] = json!(k);
            } else {
                body["logprobs"] = json!(k);
            }
            let top = self.ask(endpoint, &body, |url, reply| {
                reply::first_top_logprobs(url, reply, chat)
            })?;
            let Some(top) = top else {
                return Ok(vec![None; options.len()]);
            };
            // Options that start with the same whitespace (" 1" … " 9") in a tokenizer that
            // makes the space a token of its own (Gemma's): the first position mostly
            // reports the space, so ask again after it and add its log-prob; an option
            // that is one token with its space (" 7" in other tokenizers) counts too.
            if let Text::Plain(p) = &prompts[i]
                && let Some(space) = shared_whitespace(options)
                && let Some(&(_, l_space)) = top.iter().find(|(t, _)| *t == space)
            {
                body["prompt"] = json!(format!("{p}{space}"));
                let next = self.ask(endpoint, &body, |url, reply| {
                    reply::first_top_logprobs(url, reply, false)
                })?;
                let after_space = match next {
                    Some(next) => reply::match_options(&next, options),
                    None => vec![None; options.len()],
                };
                return Ok(options
                    .iter()
                    .zip(after_space)
                    .map(|(o, l)| {
                        let whole = top.iter().find(|(t, _)| t == o).map(|&(_, l)| l);
                        log_add(whole, l.map(|l| l + l_space))
                    })
                    .collect());
            }
            Ok(reply::match_options(&top, options))
        })
        .map_err(|e| self.server_error(e))
    }
}

/// `log(eˣ + eʸ)` of the values present.
fn log_add(x: Option<f64>, y: Option<f64>) -> Option<f64> {
    match (x, y) {
        (Some(x), Some(y)) => {
            let m = x.max(y);
            Some(m + ((x - m).exp() + (y - m).exp()).ln())
        }
        (x, None) => x,
        (None, y) => y,
    }
}

/// The leading whitespace every option starts with, when there is some.
fn shared_whitespace(options: &[String]) -> Option<String> {
    let first = options.first()?;
    let lead: String = first.chars().take_while(|c| c.is_whitespace()).collect();
    (!lead.is_empty()
        && options
            .iter()
            .all(|o| o.starts_with(&lead) && o.len() > lead.len()))
    .then_some(lead)
}

impl std::fmt::Debug for HttpModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpModel")
            .field("base_url", &self.base)
            .field("model", &self.config.model)
            .field("cache", &self.config.cache_dir)
            .finish()
    }
}
