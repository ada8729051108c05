//! Text models that graders and AI judges run on: the [`TextModel`] trait and
//! [`LocalModel`], any [`lm::CausalLm`] with its tokenizer.
//!
//! A text model does two things:
//!
//! - [`generate`](TextModel::generate): continue a batch of prompts (plain text, or chat
//!   messages that the model renders with its chat template) — what `score_model` and
//!   `label_model` graders need;
//! - [`option_logprobs`](TextModel::option_logprobs): the log-probability of each of a few
//!   short continuations as the next text after a prompt (`log p(" A")` vs `log p(" B")`),
//!   what AI judges that compare options read instead of sampled text.
//!
//! The trait fits both a local model and an OpenAI-compatible HTTP client
//! (`/v1/completions` for plain prompts, `/v1/chat/completions` for messages, log-probs
//! from `logprobs`/`top_logprobs`): an option the server did not report is `None`
//! ([`crate::http::HttpModel`]).

mod gemma_gguf;
mod local;

pub use local::LocalModel;

use pref_data::Text;
use serde::{Deserialize, Serialize};

/// Settings of one [`TextModel::generate`] call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenerateOptions {
    /// Most tokens generated per prompt.
    pub max_new_tokens: usize,
    /// Sampling temperature; 0 is greedy decoding.
    pub temperature: f32,
    /// Nucleus sampling mass (1 keeps every token).
    pub top_p: f32,
    /// Seed of the sampler (the same seed, model and prompts give the same texts).
    pub seed: u64,
    /// Generation stops at the first of these strings, which is not included in the text.
    pub stop: Vec<String>,
}

impl Default for GenerateOptions {
    /// 256 greedy tokens, seed 0, no stop strings.
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
        }
    }
}

/// Why a text model could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// The model (or server) failed.
    #[error("model `{model}`: {message}")]
    Model {
        /// The model's name.
        model: String,
        /// What failed.
        message: String,
    },
    /// The request cannot be served as given (a prompt longer than the context, an empty
    /// batch, invalid options).
    #[error("model `{model}`: invalid request: {message}")]
    Input {
        /// The model's name.
        model: String,
        /// What is wrong.
        message: String,
    },
    /// A server's reply was an error, or not what the API promises (see
    /// [`HttpError`](crate::http::HttpError): URL, status and what was wrong).
    #[error("model `{model}`: {source}")]
    Server {
        /// The model's name.
        model: String,
        /// What went wrong with the request or the reply.
        #[source]
        source: Box<crate::http::HttpError>,
    },
    /// The model does not offer this operation (e.g. a server without log-probs).
    #[error("model `{model}` does not support {what}")]
    Unsupported {
        /// The model's name.
        model: String,
        /// The operation.
        what: &'static str,
    },
}

/// A model that continues text: a local [`lm::CausalLm`] ([`LocalModel`]), a server, or a
/// fake in tests. Methods take `&self` so that one model can serve several graders
/// (share it as `Arc<dyn TextModel>`).
pub trait TextModel {
    /// The model's name, for messages.
    fn name(&self) -> &str;

    /// One continuation per prompt, in order. Chat prompts ([`Text::Chat`]) are rendered
    /// with the model's chat template and a generation prompt; plain prompts are
    /// continued as they are.
    fn generate(
        &self,
        prompts: &[Text],
        options: &GenerateOptions,
    ) -> Result<Vec<String>, BackendError>;

    /// For each of `options`, the log-probability (natural log, summed over its tokens)
    /// that it is the text right after `prompt` (for a chat prompt: the start of the
    /// assistant's reply). `None` where the model cannot tell (a server that reports only
    /// its top tokens, an option too long for the context).
    fn option_logprobs(
        &self,
        prompt: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError>;

    /// [`option_logprobs`](TextModel::option_logprobs) of the same `options` after each of
    /// `prompts`, one row per prompt. The default asks one prompt at a time; models that
    /// can batch (a local model: one forward pass for many prompts) or run requests
    /// concurrently (a server) override it.
    fn option_logprobs_batch(
        &self,
        prompts: &[Text],
        options: &[String],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        prompts
            .iter()
            .map(|p| self.option_logprobs(p, options))
            .collect()
    }
}

impl<T: TextModel + ?Sized> TextModel for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn generate(
        &self,
        prompts: &[Text],
        options: &GenerateOptions,
    ) -> Result<Vec<String>, BackendError> {
        (**self).generate(prompts, options)
    }
    fn option_logprobs(
        &self,
        prompt: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError> {
        (**self).option_logprobs(prompt, options)
    }
    fn option_logprobs_batch(
        &self,
        prompts: &[Text],
        options: &[String],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        (**self).option_logprobs_batch(prompts, options)
    }
}

impl<T: TextModel + ?Sized> TextModel for &T {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn generate(
        &self,
        prompts: &[Text],
        options: &GenerateOptions,
    ) -> Result<Vec<String>, BackendError> {
        (**self).generate(prompts, options)
    }
    fn option_logprobs(
        &self,
        prompt: &Text,
        options: &[String],
    ) -> Result<Vec<Option<f64>>, BackendError> {
        (**self).option_logprobs(prompt, options)
    }
    fn option_logprobs_batch(
        &self,
        prompts: &[Text],
        options: &[String],
    ) -> Result<Vec<Vec<Option<f64>>>, BackendError> {
        (**self).option_logprobs_batch(prompts, options)
    }
}

/// `text` cut at the first of `stop` (unchanged when none occurs).
pub fn cut_at_stop(text: &str, stop: &[String]) -> String {
    let end = stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
        .unwrap_or(text.len());
    text[..end].to_string()
}
