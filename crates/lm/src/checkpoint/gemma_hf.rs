//! Hugging Face Gemma 3 text checkpoints (`Gemma3ForCausalLM`, `model_type: "gemma3_text"`).
//!
//! Names map one to one onto [`Gemma3LayerWeights`]; projections are transposed from
//! PyTorch's `[out, in]`; norm weights are stored zero-centred (the model scales by `1 + w`),
//! as [`Gemma3`] keeps them. Gemma's RoPE is rotate-half like Llama's, so q/k need no
//! permutation. The output projection is the embedding (`lm_head.weight`, if saved, must
//! equal it and is not loaded separately).

use std::path::Path;

use burn::tensor::{Device, Tensor};
use serde_json::Value;

use super::hf_config::check_architectures;
use super::hf_json::{HfConfig, read_json};
use super::weights::{WeightFiles, Weights};
use crate::error::LmError;
use crate::model::gemma::{Gemma3Config, LayerKind, SLIDING_WINDOW_PATTERN, layer_pattern};
use crate::model::gemma::{ROPE_THETA_GLOBAL, ROPE_THETA_LOCAL};
use crate::model::{Gemma3, gemma::Gemma3LayerWeights};

/// Reads a Hugging Face Gemma 3 text `config.json` into a [`Gemma3Config`]. Features this
/// model does not implement (soft-capping, scaled RoPE, bidirectional attention, biases,
/// untied output, another activation) are errors naming the field.
pub fn gemma3_config_from_hf(path: &Path) -> Result<Gemma3Config, LmError> {
    let v = read_json(path)?;
    let cfg = HfConfig { v: &v, path };
    let model_type = cfg.str("model_type")?;
    if model_type != "gemma3_text" {
        return Err(cfg.unsupported(
            "model_type",
            &format!("expected `gemma3_text` (the text-only Gemma 3), got `{model_type}`"),
        ));
    }
    check_architectures(&cfg, "Gemma3ForCausalLM")?;
    for key in [
        "final_logit_softcapping",
        "attn_logit_softcapping",
        "rope_scaling",
    ] {
        if cfg.present(key).is_some() {
            return Err(cfg.unsupported(key, "must be null for Gemma 3 (not implemented)"));
        }
    }
    if cfg
        .opt_bool("use_bidirectional_attention")?
        .unwrap_or(false)
    {
        return Err(cfg.unsupported("use_bidirectional_attention", "only causal attention"));
    }
    if cfg.opt_bool("attention_bias")?.unwrap_or(false) {
        return Err(cfg.unsupported("attention_bias", "biases are not supported"));
    }
    if !cfg.opt_bool("tie_word_embeddings")?.unwrap_or(true) {
        return Err(cfg.unsupported("tie_word_embeddings", "only tied embeddings"));
    }
    let act = cfg
        .opt_str("hidden_activation")?
        .unwrap_or("gelu_pytorch_tanh");
    if act != "gelu_pytorch_tanh" {
        return Err(cfg.unsupported("hidden_activation", "only gelu_pytorch_tanh"));
    }
    let n_layers = cfg.usize("num_hidden_layers")?;
    let n_heads = cfg.usize("num_attention_heads")?;
    let d_model = cfg.usize("hidden_size")?;
    let head_dim = cfg
        .opt_usize("head_dim")?
        .unwrap_or(d_model / n_heads.max(1));
    let layer_kinds = match cfg.present("layer_types") {
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
            let period = match cfg.opt_usize("sliding_window_pattern")? {
                Some(p) => p,
                None => cfg
                    .opt_usize("_sliding_window_pattern")?
                    .unwrap_or(SLIDING_WINDOW_PATTERN),
            };
            layer_pattern(n_layers, period)
        }
    };
    let (theta_global, theta_local) = rope_thetas(&cfg)?;
    let config = Gemma3Config {
        vocab_size: cfg.usize("vocab_size")?,
        d_model,
        n_layers,
        n_heads,
        n_kv_heads: cfg.opt_usize("num_key_value_heads")?.unwrap_or(n_heads),
        head_dim,
        d_ff: cfg.usize("intermediate_size")?,
        max_seq_len: cfg.usize("max_position_embeddings")?,
        norm_eps: cfg.opt_f64("rms_norm_eps")?.unwrap_or(1e-6),
        rope_theta_global: theta_global,
        rope_theta_local: theta_local,
        sliding_window: cfg.usize("sliding_window")?,
        layer_kinds,
        query_pre_attn_scalar: cfg
            .opt_f64("query_pre_attn_scalar")?
            .unwrap_or(head_dim as f64),
    };
    config.validate()?;
    Ok(config)
}

/// `(global, local)` RoPE bases: transformers ≥ 5 nests them per layer type under
/// `rope_parameters`; older configs have `rope_theta` and `rope_local_base_freq`.
fn rope_thetas(cfg: &HfConfig<'_>) -> Result<(f64, f64), LmError> {
    let theta = |kind: &str, legacy: &str, default: f64| -> Result<f64, LmError> {
        if let Some(p) = cfg.present("rope_parameters").and_then(|r| r.get(kind)) {
            if let Some(t) = p.get("rope_type").and_then(Value::as_str)
                && t != "default"
            {
                return Err(cfg.unsupported(
                    "rope_parameters",
                    &format!("{kind}: only `default` RoPE is supported, got `{t}`"),
                ));
            }
            if let Some(t) = p.get("rope_theta") {
                return t
                    .as_f64()
                    .ok_or_else(|| cfg.err("rope_parameters", "a numeric rope_theta"));
            }
        }
        Ok(cfg.opt_f64(legacy)?.unwrap_or(default))
    };
    Ok((
        theta("full_attention", "rope_theta", ROPE_THETA_GLOBAL)?,
        theta(
            "sliding_attention",
            "rope_local_base_freq",
            ROPE_THETA_LOCAL,
        )?,
    ))
}

/// Loads a Hugging Face Gemma 3 text checkpoint folder (`config.json` +
/// `model.safetensors` or sharded `model.safetensors.index.json`) onto `device` as f32.
/// Every tensor the model needs must be present; unknown tensors are an error.
pub fn load_gemma3_hf(dir: &Path, device: &Device) -> Result<Gemma3, LmError> {
    let config = gemma3_config_from_hf(&dir.join("config.json"))?;
    let files = WeightFiles::read(dir)?;
    let mut w = files.weights(device)?;
    let mat = |w: &mut Weights<'_>, name: &str, transpose: bool| -> Result<Tensor<2>, LmError> {
        w.matrix(name, transpose)
    };
    let embed = w.matrix_data("model.embed_tokens.weight", false)?;
    let mut layers = Vec::with_capacity(config.n_layers);
    for i in 0..config.n_layers {
        let p = format!("model.layers.{i}");
        let vec = |w: &mut Weights<'_>, n: &str| w.param1(&format!("{p}.{n}.weight"));
        let q_norm = vec(&mut w, "self_attn.q_norm")?.val();
        let k_norm = vec(&mut w, "self_attn.k_norm")?.val();
        let attn_norm = vec(&mut w, "input_layernorm")?.val();
        let post_attn_norm = vec(&mut w, "post_attention_layernorm")?.val();
        let mlp_norm = vec(&mut w, "pre_feedforward_layernorm")?.val();
        let post_mlp_norm = vec(&mut w, "post_feedforward_layernorm")?.val();
        let proj = |w: &mut Weights<'_>, n: &str| mat(w, &format!("{p}.{n}.weight"), true);
        layers.push(Gemma3LayerWeights {
            q: proj(&mut w, "self_attn.q_proj")?,
            k: proj(&mut w, "self_attn.k_proj")?,
            v: proj(&mut w, "self_attn.v_proj")?,
            o: proj(&mut w, "self_attn.o_proj")?,
            q_norm,
            k_norm,
            attn_norm,
            post_attn_norm,
            mlp_norm,
            post_mlp_norm,
            gate: proj(&mut w, "mlp.gate_proj")?,
            up: proj(&mut w, "mlp.up_proj")?,
            down: proj(&mut w, "mlp.down_proj")?,
        });
    }
    let final_norm = w.param1("model.norm.weight")?.val();
    if w.contains("lm_head.weight") {
        // Compared in host memory: the table may be larger than one device buffer.
        let head = w.matrix_data("lm_head.weight", false)?;
        let same = head.shape() == embed.shape() && head.as_bytes() == embed.as_bytes();
        if !same {
            return Err(LmError::checkpoint(
                w.origin(),
                "`lm_head.weight` differs from `model.embed_tokens.weight`: untied output \
                 projections are not supported",
            ));
        }
    }
    w.check_all_used(|_| false)?;
    Gemma3::from_weights(&config, embed, layers, final_norm)
        .map_err(|e| LmError::checkpoint(w.origin(), e.to_string()))
}
