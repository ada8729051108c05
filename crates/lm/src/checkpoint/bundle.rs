//! A model together with its tokenizer and special tokens: [`load_bundle`] reads a Hugging
//! Face folder, a GGUF file or this crate's own checkpoint folder; [`save_bundle`] writes
//! the folder [`load_bundle`] reads back.
//!
//! Special tokens are never typed by hand: they come from the folder's
//! `tokenizer_config.json` (`bos_token`, `eos_token`, `pad_token`, `add_bos_token`, as
//! `transformers` reads them), else from the ids of `generation_config.json` /
//! `config.json`, else (a folder of this crate without either) the crate's defaults
//! ([`SpecialTokens::default`]). A tokenizer without a padding token pads with EOS; one
//! without a BOS token gets EOS as a placeholder and `add_bos = false`.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use serde_json::{Value, json};

use super::native::{CONFIG_FILE, load_language_model, save_language_model};
use super::pretrained::{GenerationDefaults, load_pretrained, read_generation_defaults};
use super::{load_gemma3_gguf, write_atomic};
use crate::error::LmError;
use crate::gguf_tokenizer::{add_bos_token, tokenizer_from_gguf};
use crate::model::LanguageModel;
use crate::tokenizer::{SpecialTokens, Tokenizer};

/// The tokenizer file of a model folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The tokenizer settings of a model folder (special tokens, chat template).
pub const TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";
/// Files copied beside the weights when a bundle is saved, if the source had them.
const COPIED_FILES: [&str; 2] = ["generation_config.json", "chat_template.jinja"];

/// Where a bundle was loaded from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleFormat {
    /// A Hugging Face folder (`config.json` with `model_type`, safetensors weights).
    HuggingFace,
    /// A folder written by [`save_bundle`] or [`save_language_model`].
    Native,
    /// A GGUF file (Gemma 3).
    Gguf,
}

/// A model, its tokenizer and what generation and chat templates need.
#[derive(Debug)]
pub struct ModelBundle {
    /// The model, on the device it was loaded to.
    pub model: LanguageModel,
    /// The tokenizer, with the model's special tokens.
    pub tokenizer: Tokenizer,
    /// Whether sequences start with BOS (`add_bos_token`).
    pub add_bos: bool,
    /// EOS ids (one or several), BOS and pad ids for generation.
    pub generation: GenerationDefaults,
    /// The folder's `tokenizer_config.json`, which may hold a chat template.
    pub tokenizer_config: Option<PathBuf>,
    /// The folder or file it was loaded from.
    pub source: PathBuf,
    /// Its format.
    pub format: BundleFormat,
}

/// Loads the model at `path` onto `device` with its tokenizer: a GGUF file (Gemma 3), a
/// Hugging Face folder (any family [`load_pretrained`] reads), or a folder of this crate
/// ([`save_bundle`], [`save_language_model`] + `tokenizer.json`).
///
/// Special tokens come from the folder's `tokenizer_config.json` (`bos_token`,
/// `eos_token`, `pad_token`, `add_bos_token`, as `transformers` reads them), else from the
/// ids of `generation_config.json` / `config.json`, else (a folder of this crate without
/// either) the crate's defaults. Without a padding token EOS pads; without a BOS token EOS
/// stands in for it and `add_bos` is false.
///
/// # Errors
/// A missing path, weights that do not fit, a missing or malformed `tokenizer.json`, or
/// special tokens that are not in the vocabulary; every error names the file.
pub fn load_bundle(path: &Path, device: &Device) -> Result<ModelBundle, LmError> {
    if path.is_file() && path.extension().is_some_and(|e| e == "gguf") {
        return load_gguf(path, device);
    }
    if !path.is_dir() {
        return Err(LmError::checkpoint(
            path,
            "expected a model folder (config.json, weights, tokenizer.json) or a .gguf file",
        ));
    }
    let config_path = path.join(CONFIG_FILE);
    let config = read_json(&config_path)?;
    let is_hf = config.get("model_type").is_some() && config.get(super::FAMILY_KEY).is_none();
    let (model, format) = if is_hf {
        (
            load_pretrained(path, device)?.model,
            BundleFormat::HuggingFace,
        )
    } else {
        (load_language_model(path, device)?, BundleFormat::Native)
    };
    let mut generation = read_generation_defaults(path)?;
    let (tokenizer, add_bos, tokenizer_config) =
        read_tokenizer(path, &generation, format == BundleFormat::Native)?;
    fill_generation(&mut generation, &tokenizer, add_bos);
    Ok(ModelBundle {
        model,
        tokenizer,
        add_bos,
        generation,
        tokenizer_config,
        source: path.to_path_buf(),
        format,
    })
}

/// The tokenizer of a model folder (`tokenizer.json`) with its special tokens, whether it
/// prepends BOS, and the folder's `tokenizer_config.json` if it has one (read as
/// [`load_bundle`] reads them); for folders that hold no language model, e.g. a reward
/// model's.
pub fn load_tokenizer(dir: &Path) -> Result<(Tokenizer, bool, Option<PathBuf>), LmError> {
    let generation = read_generation_defaults(dir)?;
    read_tokenizer(dir, &generation, true)
}

/// `native`: a folder of this crate, whose tokens default to [`SpecialTokens::default`]
/// when it has no `tokenizer_config.json`.
fn read_tokenizer(
    dir: &Path,
    generation: &GenerationDefaults,
    native: bool,
) -> Result<(Tokenizer, bool, Option<PathBuf>), LmError> {
    let tokenizer_path = dir.join(TOKENIZER_FILE);
    let raw = tokenizers::Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| LmError::checkpoint(&tokenizer_path, e.to_string()))?;
    let tc_path = dir.join(TOKENIZER_CONFIG_FILE);
    let (special, add_bos, tokenizer_config) = if tc_path.is_file() {
        let tc = read_json(&tc_path)?;
        let (special, add_bos) = special_tokens(&tc, &tc_path, &raw, generation)?;
        (special, add_bos, Some(tc_path))
    } else if native {
        (SpecialTokens::default(), true, None)
    } else {
        let (special, add_bos) = special_tokens(&json!({}), &tc_path, &raw, generation)?;
        (special, add_bos, None)
    };
    let tokenizer = Tokenizer::from_tokenizer(raw, &special)
        .map_err(|e| LmError::checkpoint(&tokenizer_path, e.to_string()))?;
    Ok((tokenizer, add_bos, tokenizer_config))
}

fn load_gguf(path: &Path, device: &Device) -> Result<ModelBundle, LmError> {
    let model = LanguageModel::Gemma3(load_gemma3_gguf(path, device)?);
    let file = gguf::GgufFile::open(path).map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    let tokenizer =
        tokenizer_from_gguf(&file).map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    let add_bos = add_bos_token(&file).map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    let mut generation = GenerationDefaults::default();
    fill_generation(&mut generation, &tokenizer, add_bos);
    Ok(ModelBundle {
        model,
        tokenizer,
        add_bos,
        generation,
        tokenizer_config: None,
        source: path.to_path_buf(),
        format: BundleFormat::Gguf,
    })
}

/// Ids the folder's JSON files left unset, from the tokenizer.
fn fill_generation(g: &mut GenerationDefaults, tokenizer: &Tokenizer, add_bos: bool) {
    if g.eos_token_ids.is_empty() {
        g.eos_token_ids = vec![tokenizer.eos_id()];
    }
    if g.pad_token_id.is_none() {
        g.pad_token_id = Some(tokenizer.pad_id());
    }
    if g.bos_token_id.is_none() && add_bos {
        g.bos_token_id = Some(tokenizer.bos_id());
    }
}

fn read_json(path: &Path) -> Result<Value, LmError> {
    let text = std::fs::read_to_string(path).map_err(|e| LmError::io("reading", path, e))?;
    serde_json::from_str(&text).map_err(|e| LmError::checkpoint(path, e.to_string()))
}

/// A special token of a `tokenizer_config.json`: a string, an added-token object
/// (`{"content": ...}`), or null/absent.
fn token_text(tc: &Value, key: &str, path: &Path) -> Result<Option<String>, LmError> {
    match tc.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => match v.get("content").and_then(Value::as_str) {
            Some(s) => Ok(Some(s.to_string())),
            None => Err(LmError::checkpoint(
                path,
                format!("field `{key}`: expected a string or {{\"content\": string}}, got {v}"),
            )),
        },
    }
}

/// The special tokens of a Hugging Face folder and whether BOS is prepended (see the
/// [module docs](self)).
fn special_tokens(
    tc: &Value,
    path: &Path,
    raw: &tokenizers::Tokenizer,
    generation: &GenerationDefaults,
) -> Result<(SpecialTokens, bool), LmError> {
    let by_id = |id: Option<u32>| id.and_then(|id| raw.id_to_token(id));
    let eos = match token_text(tc, "eos_token", path)? {
        Some(t) => t,
        None => by_id(generation.eos_token_ids.first().copied()).ok_or_else(|| {
            LmError::checkpoint(
                path,
                "no EOS token: `eos_token` is not set here and no `eos_token_id` in \
                 generation_config.json or config.json names one",
            )
        })?,
    };
    let bos = token_text(tc, "bos_token", path)?.or_else(|| by_id(generation.bos_token_id));
    let pad = token_text(tc, "pad_token", path)?
        .or_else(|| by_id(generation.pad_token_id))
        .unwrap_or_else(|| eos.clone());
    let add_bos = match tc.get("add_bos_token") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(v) => {
            return Err(LmError::checkpoint(
                path,
                format!("field `add_bos_token`: expected a boolean, got {v}"),
            ));
        }
    };
    let special = SpecialTokens {
        bos: bos.clone().unwrap_or_else(|| eos.clone()),
        eos,
        pad,
    };
    Ok((special, add_bos && bos.is_some()))
}

/// Saves `model` with `tokenizer` into the folder `dir` so that [`load_bundle`] reads them
/// back: the weights and config ([`save_language_model`]), `tokenizer.json`, and
/// `tokenizer_config.json` — copied from `source_config` when given (with the chat
/// template and `generation_config.json` / `chat_template.jinja` beside it), else a small
/// one naming the special tokens.
pub fn save_bundle(
    model: &LanguageModel,
    tokenizer: &Tokenizer,
    add_bos: bool,
    source_config: Option<&Path>,
    dir: &Path,
) -> Result<(), LmError> {
    std::fs::create_dir_all(dir).map_err(|e| LmError::io("creating", dir, e))?;
    save_language_model(model, dir)?;
    save_tokenizer(tokenizer, add_bos, source_config, dir)
}

/// Writes `tokenizer.json` and `tokenizer_config.json` into the folder `dir` as
/// [`save_bundle`] does, so that [`load_tokenizer`] reads them back.
pub fn save_tokenizer(
    tokenizer: &Tokenizer,
    add_bos: bool,
    source_config: Option<&Path>,
    dir: &Path,
) -> Result<(), LmError> {
    std::fs::create_dir_all(dir).map_err(|e| LmError::io("creating", dir, e))?;
    let tokenizer_path = dir.join(TOKENIZER_FILE);
    tokenizer
        .save(&tokenizer_path)
        .map_err(|e| LmError::checkpoint(&tokenizer_path, e.to_string()))?;
    let tc_path = dir.join(TOKENIZER_CONFIG_FILE);
    match source_config {
        Some(src) if src != tc_path => {
            copy(src, &tc_path)?;
            if let Some(folder) = src.parent() {
                for name in COPIED_FILES {
                    let from = folder.join(name);
                    if from.is_file() {
                        copy(&from, &dir.join(name))?;
                    }
                }
            }
        }
        Some(_) => {}
        None => {
            let s = tokenizer.special_tokens();
            let value = json!({
                "bos_token": s.bos, "eos_token": s.eos, "pad_token": s.pad,
                "add_bos_token": add_bos,
            });
            let bytes = serde_json::to_vec_pretty(&value)
                .map_err(|e| LmError::checkpoint(&tc_path, e.to_string()))?;
            write_atomic(&tc_path, &bytes)?;
        }
    }
    Ok(())
}

fn copy(from: &Path, to: &Path) -> Result<(), LmError> {
    let bytes = std::fs::read(from).map_err(|e| LmError::io("reading", from, e))?;
    write_atomic(to, &bytes)
}

/// What is wrong with `path` as the model of a run (cheap checks, before loading): `None`
/// when it names an existing folder or `.gguf` file.
pub fn model_path_problem(path: &Path) -> Option<String> {
    if path.as_os_str().is_empty() {
        Some("nothing (it is required)".into())
    } else if path.is_dir() || (path.is_file() && path.extension().is_some_and(|e| e == "gguf")) {
        None
    } else if path.exists() {
        Some(format!(
            "{} (neither a folder nor a .gguf file)",
            path.display()
        ))
    } else {
        Some(format!("{} (not found)", path.display()))
    }
}
