//! Hugging Face Llama and GPT-2 checkpoints.
//!
//! Layout differences handled here:
//! - `torch.nn.Linear` stores `[out, in]`; burn's `Linear` stores `[in, out]`: transposed.
//! - GPT-2's `Conv1D` already stores `[in, out]`; its fused `c_attn` `[d, 3d]` is split into
//!   query, key and value along the output axis, in that order.
//! - Llama's RoPE is rotate-half, which is what [`crate::model::Rope`] implements, so q/k
//!   weights need no permutation.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

use crate::config::{MlpKind, NormKind, PositionKind, TransformerConfig};
use crate::error::LmError;
use crate::model::Transformer;

/// The Hugging Face architectures this loader maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HfArchitecture {
    /// `LlamaForCausalLM` (`model_type: "llama"`).
    Llama,
    /// `GPT2LMHeadModel` (`model_type: "gpt2"`).
    Gpt2,
}

/// Reads a Hugging Face `config.json` into a [`TransformerConfig`].
pub fn config_from_hf(path: &Path) -> Result<(HfArchitecture, TransformerConfig), LmError> {
    let text = std::fs::read_to_string(path).map_err(|e| LmError::io("reading", path, e))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| LmError::checkpoint(path, format!("line {}: {e}", e.line())))?;
    let cfg = HfConfig { v: &v, path };
    match cfg.str("model_type")? {
        "llama" => {
            let d_model = cfg.usize("hidden_size")?;
            let n_heads = cfg.usize("num_attention_heads")?;
            if let Some(hd) = cfg.opt_usize("head_dim")?
                && hd * n_heads != d_model
            {
                return Err(cfg.unsupported("head_dim", &format!("{hd} != hidden_size / heads")));
            }
            if !v.get("rope_scaling").is_none_or(Value::is_null) {
                return Err(cfg.unsupported("rope_scaling", "only unscaled RoPE is supported"));
            }
            if cfg.opt_str("hidden_act")?.is_some_and(|a| a != "silu") {
                return Err(cfg.unsupported("hidden_act", "only silu (SwiGLU) is supported"));
            }
            // transformers ≥ 5 nests RoPE settings under `rope_parameters`.
            let rope = v.get("rope_parameters").filter(|x| !x.is_null());
            if let Some(kind) = rope
                .and_then(|r| r.get("rope_type"))
                .and_then(Value::as_str)
                && kind != "default"
            {
                return Err(cfg.unsupported(
                    "rope_parameters.rope_type",
                    "only `default` RoPE is supported",
                ));
            }
            let theta = match rope.and_then(|r| r.get("rope_theta")) {
                Some(t) => t
                    .as_f64()
                    .ok_or_else(|| cfg.err("rope_parameters", "a numeric rope_theta"))?,
                None => cfg.opt_f64("rope_theta")?.unwrap_or(1e4),
            };
            let bias = cfg.opt_bool("attention_bias")?.unwrap_or(false);
            if bias || cfg.opt_bool("mlp_bias")?.unwrap_or(false) {
                return Err(cfg.unsupported("attention_bias/mlp_bias", "biases are not supported"));
            }
            let config = TransformerConfig {
                vocab_size: cfg.usize("vocab_size")?,
                d_model,
                n_layers: cfg.usize("num_hidden_layers")?,
                n_heads,
                n_kv_heads: cfg.opt_usize("num_key_value_heads")?.unwrap_or(n_heads),
                d_ff: cfg.usize("intermediate_size")?,
                max_seq_len: cfg.usize("max_position_embeddings")?,
                norm: NormKind::Rms,
                norm_eps: cfg.opt_f64("rms_norm_eps")?.unwrap_or(1e-6),
                mlp: MlpKind::SwiGlu,
                positions: PositionKind::Rope { theta },
                tie_embeddings: cfg.opt_bool("tie_word_embeddings")?.unwrap_or(false),
                bias: false,
            };
            config.validate()?;
            Ok((HfArchitecture::Llama, config))
        }
        "gpt2" => {
            let act = cfg.opt_str("activation_function")?.unwrap_or("gelu_new");
            if !matches!(act, "gelu_new" | "gelu_pytorch_tanh") {
                return Err(cfg.unsupported("activation_function", "only gelu_new is supported"));
            }
            let d_model = cfg.usize("n_embd")?;
            let config = TransformerConfig {
                vocab_size: cfg.usize("vocab_size")?,
                d_model,
                n_layers: cfg.usize("n_layer")?,
                n_heads: cfg.usize("n_head")?,
                n_kv_heads: cfg.usize("n_head")?,
                d_ff: cfg.opt_usize("n_inner")?.unwrap_or(4 * d_model),
                max_seq_len: cfg.usize("n_positions")?,
                norm: NormKind::Layer,
                norm_eps: cfg.opt_f64("layer_norm_epsilon")?.unwrap_or(1e-5),
                mlp: MlpKind::Gelu,
                positions: PositionKind::Learned,
                tie_embeddings: cfg.opt_bool("tie_word_embeddings")?.unwrap_or(true),
                bias: true,
            };
            config.validate()?;
            Ok((HfArchitecture::Gpt2, config))
        }
        other => Err(cfg.unsupported("model_type", &format!("`{other}` (supported: llama, gpt2)"))),
    }
}

/// Loads a Hugging Face checkpoint folder (`config.json` + `model.safetensors`) onto `device`
/// as f32. Every tensor the model needs must be present; unknown tensors other than
/// attention-mask buffers are an error.
pub fn load_hf(dir: &Path, device: &Device) -> Result<Transformer, LmError> {
    let (arch, config) = config_from_hf(&dir.join("config.json"))?;
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).map_err(|e| LmError::io("reading", &path, e))?;
    let st = SafeTensors::deserialize(&bytes)
        .map_err(|e| LmError::checkpoint(&path, format!("not a safetensors file: {e}")))?;
    let mut w = Weights {
        st: &st,
        path: &path,
        device,
        used: HashMap::new(),
    };
    let mut model = Transformer::new(&config, 0, device)?;
    match arch {
        HfArchitecture::Llama => map_llama(&mut w, &mut model)?,
        HfArchitecture::Gpt2 => map_gpt2(&mut w, &mut model)?,
    }
    let unused: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| !w.used.contains_key(*n))
        .filter(|n| !(n.ends_with(".attn.bias") || n.ends_with(".attn.masked_bias")))
        .filter(|n| !n.ends_with("rotary_emb.inv_freq"))
        .map(str::to_string)
        .collect();
    if !unused.is_empty() {
        return Err(LmError::checkpoint(
            &path,
            format!("tensors the model has no place for: {unused:?}"),
        ));
    }
    Ok(model)
}

fn map_llama(w: &mut Weights<'_>, m: &mut Transformer) -> Result<(), LmError> {
    m.embed.weight = w.param2("model.embed_tokens.weight", false)?;
    for (i, b) in m.blocks.iter_mut().enumerate() {
        let p = format!("model.layers.{i}");
        b.attn_norm.gamma = w.param1(&format!("{p}.input_layernorm.weight"))?;
        b.attn.q.weight = w.param2(&format!("{p}.self_attn.q_proj.weight"), true)?;
        b.attn.k.weight = w.param2(&format!("{p}.self_attn.k_proj.weight"), true)?;
        b.attn.v.weight = w.param2(&format!("{p}.self_attn.v_proj.weight"), true)?;
        b.attn.o.weight = w.param2(&format!("{p}.self_attn.o_proj.weight"), true)?;
        b.mlp_norm.gamma = w.param1(&format!("{p}.post_attention_layernorm.weight"))?;
        b.mlp
            .gate
            .as_mut()
            .expect("SwiGLU config has a gate")
            .weight = w.param2(&format!("{p}.mlp.gate_proj.weight"), true)?;
        b.mlp.up.weight = w.param2(&format!("{p}.mlp.up_proj.weight"), true)?;
        b.mlp.down.weight = w.param2(&format!("{p}.mlp.down_proj.weight"), true)?;
    }
    m.norm.gamma = w.param1("model.norm.weight")?;
    if let Some(head) = m.lm_head.as_mut() {
        head.weight = w.param2("lm_head.weight", true)?;
    } else {
        w.mark_used("lm_head.weight");
    }
    Ok(())
}

fn map_gpt2(w: &mut Weights<'_>, m: &mut Transformer) -> Result<(), LmError> {
    // GPT2LMHeadModel prefixes `transformer.`; GPT2Model does not.
    let pre = if w.st.names().iter().any(|n| n.starts_with("transformer.")) {
        "transformer."
    } else {
        ""
    };
    m.embed.weight = w.param2(&format!("{pre}wte.weight"), false)?;
    let pos = m
        .pos_embed
        .as_mut()
        .expect("GPT-2 config has learned positions");
    pos.weight = w.param2(&format!("{pre}wpe.weight"), false)?;
    let d = m.config.d_model;
    for (i, b) in m.blocks.iter_mut().enumerate() {
        let p = format!("{pre}h.{i}");
        b.attn_norm.gamma = w.param1(&format!("{p}.ln_1.weight"))?;
        b.attn_norm.beta = Some(w.param1(&format!("{p}.ln_1.bias"))?);
        let qkv_w = w.tensor(&format!("{p}.attn.c_attn.weight"), &[d, 3 * d])?;
        let qkv_b = w.tensor(&format!("{p}.attn.c_attn.bias"), &[3 * d])?;
        for (j, lin) in [&mut b.attn.q, &mut b.attn.k, &mut b.attn.v]
            .into_iter()
            .enumerate()
        {
            lin.weight = Param::from_tensor(qkv_w.clone().reshape([d, 3 * d]).narrow(1, j * d, d));
            lin.bias = Some(Param::from_tensor(qkv_b.clone().reshape([3 * d]).narrow(
                0,
                j * d,
                d,
            )));
        }
        b.attn.o.weight = w.param2(&format!("{p}.attn.c_proj.weight"), false)?;
        b.attn.o.bias = Some(w.param1(&format!("{p}.attn.c_proj.bias"))?);
        b.mlp_norm.gamma = w.param1(&format!("{p}.ln_2.weight"))?;
        b.mlp_norm.beta = Some(w.param1(&format!("{p}.ln_2.bias"))?);
        b.mlp.up.weight = w.param2(&format!("{p}.mlp.c_fc.weight"), false)?;
        b.mlp.up.bias = Some(w.param1(&format!("{p}.mlp.c_fc.bias"))?);
        b.mlp.down.weight = w.param2(&format!("{p}.mlp.c_proj.weight"), false)?;
        b.mlp.down.bias = Some(w.param1(&format!("{p}.mlp.c_proj.bias"))?);
    }
    m.norm.gamma = w.param1(&format!("{pre}ln_f.weight"))?;
    m.norm.beta = Some(w.param1(&format!("{pre}ln_f.bias"))?);
    match m.lm_head.as_mut() {
        Some(head) => head.weight = w.param2("lm_head.weight", true)?,
        None => w.mark_used("lm_head.weight"),
    }
    Ok(())
}

pub(super) struct Weights<'a> {
    pub(super) st: &'a SafeTensors<'a>,
    pub(super) path: &'a Path,
    pub(super) device: &'a Device,
    pub(super) used: HashMap<String, ()>,
}

impl Weights<'_> {
    pub(super) fn mark_used(&mut self, name: &str) {
        self.used.insert(name.to_string(), ());
    }

    /// The tensor `name` as f32, checked against `shape` when given (flattened to 1-D).
    pub(super) fn tensor(&mut self, name: &str, shape: &[usize]) -> Result<Tensor<1>, LmError> {
        let view = self
            .st
            .tensor(name)
            .map_err(|_| LmError::checkpoint(self.path, format!("missing tensor `{name}`")))?;
        if !shape.is_empty() && view.shape() != shape {
            return Err(LmError::checkpoint(
                self.path,
                format!(
                    "tensor `{name}`: expected shape {shape:?}, got {:?}",
                    view.shape()
                ),
            ));
        }
        let values = to_f32(view.dtype(), view.data()).ok_or_else(|| {
            LmError::checkpoint(
                self.path,
                format!("tensor `{name}`: unsupported dtype {:?}", view.dtype()),
            )
        })?;
        self.mark_used(name);
        let n = values.len();
        Ok(Tensor::from_data(TensorData::new(values, [n]), self.device))
    }

    pub(super) fn param1(&mut self, name: &str) -> Result<Param<Tensor<1>>, LmError> {
        Ok(Param::from_tensor(self.tensor(name, &[])?))
    }

    /// A 2-D weight; `transpose` converts PyTorch's `[out, in]` to burn's `[in, out]`.
    pub(super) fn param2(
        &mut self,
        name: &str,
        transpose: bool,
    ) -> Result<Param<Tensor<2>>, LmError> {
        let shape = self
            .st
            .tensor(name)
            .map_err(|_| LmError::checkpoint(self.path, format!("missing tensor `{name}`")))?
            .shape()
            .to_vec();
        if shape.len() != 2 {
            return Err(LmError::checkpoint(
                self.path,
                format!("tensor `{name}`: expected 2 dims, got {shape:?}"),
            ));
        }
        let t = self.tensor(name, &[])?.reshape([shape[0], shape[1]]);
        Ok(Param::from_tensor(if transpose {
            super::transposed(t)
        } else {
            t
        }))
    }
}

fn to_f32(dtype: Dtype, bytes: &[u8]) -> Option<Vec<f32>> {
    let chunks = |n: usize| bytes.chunks_exact(n);
    Some(match dtype {
        Dtype::F32 => chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F16 => chunks(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::BF16 => chunks(2)
            .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect(),
        Dtype::F64 => chunks(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32)
            .collect(),
        _ => return None,
    })
}

pub(super) struct HfConfig<'a> {
    pub(super) v: &'a Value,
    pub(super) path: &'a Path,
}

impl HfConfig<'_> {
    pub(super) fn err(&self, key: &str, expected: &str) -> LmError {
        LmError::checkpoint(
            PathBuf::from(self.path),
            format!(
                "field `{key}`: expected {expected}, got {}",
                self.v.get(key).map_or("nothing".into(), |x| x.to_string())
            ),
        )
    }
    pub(super) fn unsupported(&self, key: &str, why: &str) -> LmError {
        LmError::checkpoint(PathBuf::from(self.path), format!("field `{key}`: {why}"))
    }
    pub(super) fn present(&self, key: &str) -> Option<&Value> {
        self.v.get(key).filter(|x| !x.is_null())
    }
    pub(super) fn usize(&self, key: &str) -> Result<usize, LmError> {
        self.opt_usize(key)?
            .ok_or_else(|| self.err(key, "a non-negative integer"))
    }
    pub(super) fn opt_usize(&self, key: &str) -> Result<Option<usize>, LmError> {
        self.present(key)
            .map(|x| {
                x.as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| self.err(key, "a non-negative integer"))
            })
            .transpose()
    }
    pub(super) fn opt_f64(&self, key: &str) -> Result<Option<f64>, LmError> {
        self.present(key)
            .map(|x| x.as_f64().ok_or_else(|| self.err(key, "a number")))
            .transpose()
    }
    pub(super) fn opt_bool(&self, key: &str) -> Result<Option<bool>, LmError> {
        self.present(key)
            .map(|x| x.as_bool().ok_or_else(|| self.err(key, "true or false")))
            .transpose()
    }
    pub(super) fn str(&self, key: &str) -> Result<&str, LmError> {
        self.opt_str(key)?.ok_or_else(|| self.err(key, "a string"))
    }
    pub(super) fn opt_str(&self, key: &str) -> Result<Option<&str>, LmError> {
        self.present(key)
            .map(|x| x.as_str().ok_or_else(|| self.err(key, "a string")))
            .transpose()
    }
}
