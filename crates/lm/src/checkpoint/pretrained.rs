//! One entry for every Hugging Face folder: [`load_pretrained`] dispatches on `config.json`
//! and returns a [`LanguageModel`] with the special token ids of `generation_config.json`.

use std::path::Path;

use burn::tensor::Device;
use serde_json::Value;

use super::gemma_hf::load_gemma3_hf;
use super::hf::load_hf;
use super::hf_config::{HfArchitecture, SUPPORTED_MODEL_TYPES};
use super::hf_json::{HfConfig, read_json};
use crate::error::LmError;
use crate::generate::GenerationConfig;
use crate::model::LanguageModel;

/// Special token ids of a Hugging Face folder: `generation_config.json`, falling back to
/// `config.json` for ids it does not set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenerationDefaults {
    /// Ids that end a sequence (`eos_token_id`: one id or a list; Llama 3 Instruct lists
    /// `<|end_of_text|>`, `<|eom_id|>` and `<|eot_id|>`).
    pub eos_token_ids: Vec<u32>,
    /// `bos_token_id`.
    pub bos_token_id: Option<u32>,
    /// `pad_token_id`.
    pub pad_token_id: Option<u32>,
}

impl GenerationDefaults {
    /// `config` with these EOS ids, and the pad id (else the first EOS id) when set.
    pub fn apply(&self, mut config: GenerationConfig) -> GenerationConfig {
        config.eos_token_ids = self.eos_token_ids.clone();
        if let Some(pad) = self.pad_token_id.or(self.eos_token_ids.first().copied()) {
            config.pad_token_id = pad;
        }
        config
    }
}

/// Reads the special token ids of the folder `dir` (see [`GenerationDefaults`]). Neither file
/// is required; a malformed one is an error naming the file and field.
pub fn read_generation_defaults(dir: &Path) -> Result<GenerationDefaults, LmError> {
    let mut out = GenerationDefaults::default();
    // Later files only fill what earlier ones left unset.
    for name in ["generation_config.json", "config.json"] {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let v = read_json(&path)?;
        let cfg = HfConfig { v: &v, path: &path };
        if out.eos_token_ids.is_empty() {
            out.eos_token_ids = token_ids(&cfg, "eos_token_id")?;
        }
        if out.bos_token_id.is_none() {
            out.bos_token_id = token_ids(&cfg, "bos_token_id")?.first().copied();
        }
        if out.pad_token_id.is_none() {
            out.pad_token_id = token_ids(&cfg, "pad_token_id")?.first().copied();
        }
    }
    Ok(out)
}

/// One id, a list of ids, or nothing.
fn token_ids(cfg: &HfConfig<'_>, key: &str) -> Result<Vec<u32>, LmError> {
    let id = |x: &Value| {
        x.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| cfg.err(key, "a token id or a list of token ids"))
    };
    match cfg.present(key) {
        None => Ok(vec![]),
        Some(Value::Array(xs)) => xs.iter().map(id).collect(),
        Some(x) => Ok(vec![id(x)?]),
    }
}

/// A model loaded by [`load_pretrained`].
#[derive(Debug)]
pub struct Pretrained {
    /// The model, on the device it was loaded to.
    pub model: LanguageModel,
    /// `config.json`'s `model_type` (`llama`, `mistral`, `qwen2`, `qwen3`, `gpt2`,
    /// `gemma3_text`).
    pub model_type: String,
    /// Special token ids (EOS list, BOS, pad).
    pub generation: GenerationDefaults,
}

/// Loads any supported Hugging Face causal-LM folder onto `device` as f32, dispatching on
/// `config.json`'s `model_type` (checked against `architectures`): Llama 2/3.x and SmolLM
/// (`llama`), Mistral, Qwen2/2.5 (`qwen2`), Qwen3, GPT-2, and Gemma 3 text
/// (`gemma3_text`). Weights may be sharded (`model.safetensors.index.json`) and stored in
/// f32, bf16 or f16.
pub fn load_pretrained(dir: &Path, device: &Device) -> Result<Pretrained, LmError> {
    let path = dir.join("config.json");
    let v = read_json(&path)?;
    let cfg = HfConfig { v: &v, path: &path };
    let model_type = cfg.str("model_type")?.to_string();
    let model = match model_type.as_str() {
        "gemma3_text" => LanguageModel::Gemma3(load_gemma3_hf(dir, device)?),
        "gemma3" => {
            return Err(cfg.unsupported(
                "model_type",
                "`gemma3` is the multimodal Gemma 3; only the text decoder (`gemma3_text`, \
                 Gemma3ForCausalLM) is supported",
            ));
        }
        t if HfArchitecture::from_model_type(t).is_some() => {
            LanguageModel::Transformer(load_hf(dir, device)?)
        }
        other => {
            return Err(cfg.unsupported(
                "model_type",
                &format!("`{other}` is not supported (supported: {SUPPORTED_MODEL_TYPES})"),
            ));
        }
    };
    Ok(Pretrained {
        model,
        model_type,
        generation: read_generation_defaults(dir)?,
    })
}
