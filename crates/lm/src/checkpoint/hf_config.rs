//! Hugging Face `config.json` → [`TransformerConfig`] for GPT-2 and the Llama-like families
//! (Llama 2/3.x, SmolLM, Mistral, Qwen2/2.5, Qwen3).
//!
//! | field | Llama | Mistral | Qwen2 | Qwen3 |
//! |---|---|---|---|---|
//! | q/k/v biases | `attention_bias` | — | always | `attention_bias` |
//! | o bias | `attention_bias` | — | — | `attention_bias` |
//! | MLP biases | `mlp_bias` | — | — | — |
//! | QK-norm | — | — | — | always |
//! | `head_dim` | optional | optional | — | optional (default 128) |
//! | sliding window | — | `sliding_window`, every layer | `use_sliding_window` + `layer_types` / `max_window_layers` | as Qwen2 |
//!
//! RoPE: `rope_parameters` (transformers ≥ 5) or `rope_theta` + `rope_scaling` (older), with
//! `rope_type` `default`, `linear`, `dynamic` or `llama3`; any other type is an error naming
//! the field and the value.

use std::path::Path;

use serde_json::Value;

use super::hf_json::{HfConfig, read_json};
use crate::config::{MlpKind, NormKind, PositionKind, TransformerConfig};
use crate::error::LmError;
use crate::model::RopeScaling;
use crate::model::gemma::LayerKind;

/// The Hugging Face architectures [`crate::checkpoint::load_hf`] maps onto
/// [`Transformer`](crate::Transformer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HfArchitecture {
    /// `LlamaForCausalLM` (`model_type: "llama"`): Llama 2, Llama 3/3.1/3.2, SmolLM.
    Llama,
    /// `GPT2LMHeadModel` (`model_type: "gpt2"`).
    Gpt2,
    /// `MistralForCausalLM` (`model_type: "mistral"`).
    Mistral,
    /// `Qwen2ForCausalLM` (`model_type: "qwen2"`): Qwen2 and Qwen2.5.
    Qwen2,
    /// `Qwen3ForCausalLM` (`model_type: "qwen3"`).
    Qwen3,
}

impl HfArchitecture {
    /// From `config.json`'s `model_type`.
    pub fn from_model_type(model_type: &str) -> Option<Self> {
        Some(match model_type {
            "llama" => Self::Llama,
            "gpt2" => Self::Gpt2,
            "mistral" => Self::Mistral,
            "qwen2" => Self::Qwen2,
            "qwen3" => Self::Qwen3,
            _ => return None,
        })
    }

    /// `config.json`'s `model_type`.
    pub fn model_type(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Gpt2 => "gpt2",
            Self::Mistral => "mistral",
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
        }
    }

    /// The transformers class of the causal LM (`architectures[0]` of `config.json`).
    pub fn class_name(self) -> &'static str {
        match self {
            Self::Llama => "LlamaForCausalLM",
            Self::Gpt2 => "GPT2LMHeadModel",
            Self::Mistral => "MistralForCausalLM",
            Self::Qwen2 => "Qwen2ForCausalLM",
            Self::Qwen3 => "Qwen3ForCausalLM",
        }
    }
}

/// Model types [`crate::checkpoint::load_pretrained`] accepts, for error messages.
pub(crate) const SUPPORTED_MODEL_TYPES: &str = "llama, mistral, qwen2, qwen3, gpt2, gemma3_text";

/// Checks that `architectures`, when given, names the causal LM class `class`.
pub(crate) fn check_architectures(cfg: &HfConfig<'_>, class: &str) -> Result<(), LmError> {
    let Some(list) = cfg.present("architectures") else {
        return Ok(());
    };
    let names: Vec<&str> = list
        .as_array()
        .ok_or_else(|| cfg.err("architectures", "a list of class names"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if names.is_empty() || names.contains(&class) {
        return Ok(());
    }
    Err(cfg.unsupported(
        "architectures",
        &format!("expected [\"{class}\"] (a causal LM with its LM head), got {names:?}"),
    ))
}

/// Reads a Hugging Face `config.json` into a [`TransformerConfig`].
pub fn config_from_hf(path: &Path) -> Result<(HfArchitecture, TransformerConfig), LmError> {
    let v = read_json(path)?;
    let cfg = HfConfig { v: &v, path };
    let model_type = cfg.str("model_type")?;
    let arch = HfArchitecture::from_model_type(model_type).ok_or_else(|| {
        cfg.unsupported(
            "model_type",
            &format!("`{model_type}` is not supported (supported: {SUPPORTED_MODEL_TYPES})"),
        )
    })?;
    check_architectures(&cfg, arch.class_name())?;
    let config = match arch {
        HfArchitecture::Gpt2 => gpt2(&cfg)?,
        _ => llama_like(&cfg, arch)?,
    };
    config
        .validate()
        .map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    Ok((arch, config))
}

fn gpt2(cfg: &HfConfig<'_>) -> Result<TransformerConfig, LmError> {
    let act = cfg.opt_str("activation_function")?.unwrap_or("gelu_new");
    if !matches!(act, "gelu_new" | "gelu_pytorch_tanh") {
        return Err(cfg.unsupported("activation_function", "only gelu_new is supported"));
    }
    let d_model = cfg.usize("n_embd")?;
    let mut c = TransformerConfig::gpt2(
        cfg.usize("vocab_size")?,
        d_model,
        cfg.usize("n_layer")?,
        cfg.usize("n_head")?,
    );
    c.d_ff = cfg.opt_usize("n_inner")?.unwrap_or(4 * d_model);
    c.max_seq_len = cfg.usize("n_positions")?;
    c.norm_eps = cfg.opt_f64("layer_norm_epsilon")?.unwrap_or(1e-5);
    c.tie_embeddings = cfg.opt_bool("tie_word_embeddings")?.unwrap_or(true);
    Ok(c)
}

fn llama_like(cfg: &HfConfig<'_>, arch: HfArchitecture) -> Result<TransformerConfig, LmError> {
    use HfArchitecture::*;
    if cfg.opt_str("hidden_act")?.is_some_and(|a| a != "silu") {
        return Err(cfg.unsupported("hidden_act", "only silu (SwiGLU) is supported"));
    }
    let n_heads = cfg.usize("num_attention_heads")?;
    let mut c = TransformerConfig::llama(
        cfg.usize("vocab_size")?,
        cfg.usize("hidden_size")?,
        cfg.usize("num_hidden_layers")?,
        n_heads,
        cfg.opt_usize("num_key_value_heads")?.unwrap_or(n_heads),
        cfg.usize("intermediate_size")?,
    );
    c.max_seq_len = cfg.usize("max_position_embeddings")?;
    c.norm_eps = cfg.opt_f64("rms_norm_eps")?.unwrap_or(1e-6);
    c.tie_embeddings = cfg.opt_bool("tie_word_embeddings")?.unwrap_or(false);
    let head_dim = match (cfg.opt_usize("head_dim")?, arch) {
        (None, Qwen3) => Some(128),
        (hd, _) => hd,
    };
    c.head_dim = head_dim.filter(|&hd| hd * n_heads != c.d_model);
    let attention_bias = cfg.opt_bool("attention_bias")?.unwrap_or(false);
    match arch {
        Qwen2 => c.qkv_bias = true,
        Llama | Qwen3 => {
            c.qkv_bias = attention_bias;
            c.o_bias = attention_bias;
        }
        _ => {}
    }
    if arch == Llama {
        c.mlp_bias = cfg.opt_bool("mlp_bias")?.unwrap_or(false);
    } else if cfg.opt_bool("mlp_bias")?.unwrap_or(false) {
        return Err(cfg.unsupported("mlp_bias", "only Llama has MLP biases"));
    }
    c.qk_norm = arch == Qwen3;
    (c.sliding_window, c.layer_kinds) = sliding_window(cfg, arch, c.n_layers)?;
    let (theta, scaling) = rope(cfg)?;
    c.positions = PositionKind::Rope { theta };
    if let Some(RopeScaling::Dynamic { factor, .. }) = scaling {
        // Dynamic NTK exists to run past the pre-training context.
        c.max_seq_len = (c.max_seq_len as f64 * factor).ceil() as usize;
    }
    c.rope_scaling = scaling;
    c.norm = NormKind::Rms;
    c.mlp = MlpKind::SwiGlu;
    Ok(c)
}

type Window = (Option<usize>, Option<Vec<LayerKind>>);

fn sliding_window(
    cfg: &HfConfig<'_>,
    arch: HfArchitecture,
    n_layers: usize,
) -> Result<Window, LmError> {
    match arch {
        HfArchitecture::Mistral => Ok((cfg.opt_usize("sliding_window")?, None)),
        HfArchitecture::Qwen2 | HfArchitecture::Qwen3 => {
            if !cfg.opt_bool("use_sliding_window")?.unwrap_or(false) {
                return Ok((None, None));
            }
            let window = cfg.usize("sliding_window")?;
            let kinds = match cfg.present("layer_types") {
                Some(Value::Array(kinds)) => kinds
                    .iter()
                    .map(|k| match k.as_str() {
                        Some("sliding_attention") => Ok(LayerKind::Sliding),
                        Some("full_attention") => Ok(LayerKind::Global),
                        _ => Err(cfg.err("layer_types", "sliding_attention or full_attention")),
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(_) => return Err(cfg.err("layer_types", "a list")),
                None => {
                    let first = cfg.opt_usize("max_window_layers")?.unwrap_or(28);
                    (0..n_layers)
                        .map(|i| {
                            if i >= first {
                                LayerKind::Sliding
                            } else {
                                LayerKind::Global
                            }
                        })
                        .collect()
                }
            };
            Ok((Some(window), Some(kinds)))
        }
        _ => Ok((None, None)),
    }
}

/// `(θ, scaling)` from `rope_parameters` (transformers ≥ 5) or `rope_theta` +
/// `rope_scaling` (older configs).
fn rope(cfg: &HfConfig<'_>) -> Result<(f64, Option<RopeScaling>), LmError> {
    let (field, params) = match (cfg.present("rope_parameters"), cfg.present("rope_scaling")) {
        (Some(p), _) => ("rope_parameters", Some(p)),
        (None, Some(s)) => ("rope_scaling", Some(s)),
        (None, None) => ("rope_parameters", None),
    };
    let num = |key: &str| -> Result<Option<f64>, LmError> {
        match params.and_then(|p| p.get(key)).filter(|x| !x.is_null()) {
            None => Ok(None),
            Some(x) => x.as_f64().map(Some).ok_or_else(|| {
                cfg.unsupported(
                    &format!("{field}.{key}"),
                    &format!("expected a number, got {x}"),
                )
            }),
        }
    };
    let need = |key: &str| -> Result<f64, LmError> {
        num(key)?.ok_or_else(|| cfg.unsupported(&format!("{field}.{key}"), "missing"))
    };
    let theta = match num("rope_theta")? {
        Some(t) => t,
        None => cfg.opt_f64("rope_theta")?.unwrap_or(1e4),
    };
    if let Some(p) = num("partial_rotary_factor")?
        && p != 1.0
    {
        return Err(cfg.unsupported(
            &format!("{field}.partial_rotary_factor"),
            &format!("only 1.0 (full rotary) is supported, got {p}"),
        ));
    }
    let kind = params
        .and_then(|p| p.get("rope_type").or_else(|| p.get("type")))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let max_pos = cfg.usize("max_position_embeddings")?;
    let scaling = match kind {
        "default" => None,
        "linear" => Some(RopeScaling::Linear {
            factor: need("factor")?,
        }),
        "dynamic" => Some(RopeScaling::Dynamic {
            factor: need("factor")?,
            max_position_embeddings: max_pos,
        }),
        "llama3" => Some(RopeScaling::Llama3 {
            factor: need("factor")?,
            low_freq_factor: need("low_freq_factor")?,
            high_freq_factor: need("high_freq_factor")?,
            original_max_position_embeddings: match num("original_max_position_embeddings")? {
                Some(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
                Some(n) => {
                    return Err(cfg.unsupported(
                        &format!("{field}.original_max_position_embeddings"),
                        &format!("expected a positive integer, got {n}"),
                    ));
                }
                None => max_pos,
            },
        }),
        other => {
            return Err(cfg.unsupported(
                &format!("{field}.rope_type"),
                &format!(
                    "`{other}` is not supported (supported: default, linear, dynamic, llama3)"
                ),
            ));
        }
    };
    if let Some(s) = &scaling {
        s.validate()
            .map_err(|e| cfg.unsupported(field, &e.to_string()))?;
    }
    Ok((theta, scaling))
}
