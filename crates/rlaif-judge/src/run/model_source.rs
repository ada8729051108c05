//! [`JudgeModelSource`]: the text model a judge or critic runs on, as configuration.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::JudgeRunError;
use crate::backend::{LocalModel, TextModel};
use crate::http::{HttpConfig, HttpModel};

/// An OpenAI-compatible server (`/v1/completions` with log-probs, or chat completions).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSource {
    /// Base URL, e.g. `http://127.0.0.1:8080/v1`. Required.
    pub url: String,
    /// Model name sent with every request. Default `"default"`.
    pub model: String,
    /// Environment variable holding the API key (sent as a bearer token). Default unset.
    pub api_key_env: Option<String>,
    /// Seconds before a request times out. Default 60.
    pub timeout_s: u64,
    /// Retries of a failed request, with exponential backoff. Default 3.
    pub max_retries: u32,
    /// Requests in flight at once. Default 4.
    pub concurrency: usize,
    /// Folder caching replies by request hash (reruns cost nothing). Default unset.
    pub cache_dir: Option<PathBuf>,
}

impl Default for HttpSource {
    fn default() -> Self {
        Self {
            url: String::new(),
            model: "default".into(),
            api_key_env: None,
            timeout_s: 60,
            max_retries: 3,
            concurrency: 4,
            cache_dir: None,
        }
    }
}

/// Where a judge's (or critic's) model comes from (`kind = "local" | "http"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JudgeModelSource {
    /// A model of this project run in-process: a model folder (Hugging Face or this
    /// project's) or a Gemma 3 `.gguf` file, with its chat template.
    Local {
        /// The folder or file.
        path: PathBuf,
    },
    /// A server ([`HttpSource`]).
    Http(HttpSource),
}

impl Default for JudgeModelSource {
    fn default() -> Self {
        Self::Local {
            path: PathBuf::new(),
        }
    }
}

impl JudgeModelSource {
    /// A local model folder or GGUF file.
    pub fn local(path: impl Into<std::path::PathBuf>) -> Self {
        Self::Local { path: path.into() }
    }

    /// An OpenAI-compatible server at `url` (default settings otherwise), its replies cached
    /// in `cache_dir` when given.
    pub fn http(url: impl Into<String>, cache_dir: Option<std::path::PathBuf>) -> Self {
        Self::Http(HttpSource {
            url: url.into(),
            cache_dir,
            ..HttpSource::default()
        })
    }

    /// Checks the settings (paths exist, URL set) without loading anything.
    pub fn validate(&self, field: &str) -> Result<(), JudgeRunError> {
        match self {
            Self::Local { path } => match lm::checkpoint::model_path_problem(path) {
                None => Ok(()),
                Some(got) => Err(JudgeRunError::config(
                    &format!("{field}.path"),
                    "a model folder or .gguf file",
                    got,
                )),
            },
            Self::Http(h) if h.url.is_empty() => Err(JudgeRunError::config(
                &format!("{field}.url"),
                "the server's base URL",
                "nothing",
            )),
            Self::Http(h) if h.concurrency == 0 => Err(JudgeRunError::config(
                &format!("{field}.concurrency"),
                "at least 1",
                0,
            )),
            Self::Http(_) => Ok(()),
        }
    }

    /// Loads the model (local) or connects (HTTP) on `device`.
    pub fn build(&self, device: &Device) -> Result<Arc<dyn TextModel>, JudgeRunError> {
        match self {
            Self::Local { path } => {
                if path.extension().is_some_and(|e| e == "gguf") {
                    let m = LocalModel::gemma3_gguf(path, device)
                        .map_err(|e| JudgeRunError::model(path, e))?;
                    return Ok(Arc::new(m));
                }
                let bundle = lm::checkpoint::load_bundle(path, device)
                    .map_err(|e| JudgeRunError::model(path, e))?;
                let template = pref_data::model_chat_template(bundle.tokenizer_config.as_deref())
                    .map_err(|e| JudgeRunError::model(path, e))?;
                let name = path.display().to_string();
                let model = LocalModel::new(name, bundle.model, bundle.tokenizer, device.clone())
                    .with_bos(bundle.add_bos)
                    .with_template(template);
                Ok(Arc::new(model))
            }
            Self::Http(h) => {
                let mut cfg = HttpConfig::new(&h.url, &h.model);
                cfg.api_key_env = h.api_key_env.clone();
                cfg.timeout = Duration::from_secs(h.timeout_s);
                cfg.max_retries = h.max_retries;
                cfg.concurrency = h.concurrency;
                cfg.cache_dir = h.cache_dir.clone();
                let model = HttpModel::new(cfg).map_err(|e| JudgeRunError::model(&h.url, e))?;
                Ok(Arc::new(model))
            }
        }
    }
}
