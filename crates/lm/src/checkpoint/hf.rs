//! Hugging Face GPT-2 and Llama-like checkpoints (Llama 2/3.x, SmolLM, Mistral, Qwen2/2.5,
//! Qwen3) onto [`Transformer`].
//!
//! Layout differences handled here:
//! - `torch.nn.Linear` stores `[out, in]`; burn's `Linear` stores `[in, out]`: transposed.
//! - GPT-2's `Conv1D` already stores `[in, out]`; its fused `c_attn` `[d, 3d]` is split into
//!   query, key and value along the output axis, in that order.
//! - Llama's RoPE is rotate-half, which is what [`crate::model::Rope`] implements, so q/k
//!   weights need no permutation.
//!
//! Weights come from `model.safetensors` or the shards of `model.safetensors.index.json`, in
//! any float dtype (bf16 and f16 are cast to f32).

use std::path::Path;

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};

use super::hf_config::{HfArchitecture, config_from_hf};
use super::weights::{WeightFiles, Weights};
use crate::error::LmError;
use crate::model::Transformer;

/// Loads a Hugging Face checkpoint folder (`config.json` + `model.safetensors` or sharded
/// `model.safetensors.index.json`) of GPT-2, Llama 2/3.x, SmolLM, Mistral, Qwen2/2.5 or
/// Qwen3 onto `device` as f32. Every tensor the model needs must be present; unknown tensors
/// other than attention-mask and RoPE buffers are an error.
pub fn load_hf(dir: &Path, device: &Device) -> Result<Transformer, LmError> {
    let (arch, config) = config_from_hf(&dir.join("config.json"))?;
    let files = WeightFiles::read(dir)?;
    let mut w = files.weights(device)?;
    let mut model = Transformer::new(&config, 0, device)?;
    match arch {
        HfArchitecture::Gpt2 => map_gpt2(&mut w, &mut model)?,
        _ => map_llama(&mut w, &mut model)?,
    }
    w.check_all_used(|n| {
        n.ends_with(".attn.bias")
            || n.ends_with(".attn.masked_bias")
            || n.ends_with("rotary_emb.inv_freq")
    })?;
    Ok(model)
}

fn map_llama(w: &mut Weights<'_>, m: &mut Transformer) -> Result<(), LmError> {
    w.set_table(&mut m.embed, "model.embed_tokens.weight")?;
    for (i, b) in m.blocks.iter_mut().enumerate() {
        let p = format!("model.layers.{i}");
        w.set1(
            &mut b.attn_norm.gamma,
            &format!("{p}.input_layernorm.weight"),
        )?;
        let a = &mut b.attn;
        for (lin, name) in [
            (&mut a.q, "q_proj"),
            (&mut a.k, "k_proj"),
            (&mut a.v, "v_proj"),
            (&mut a.o, "o_proj"),
        ] {
            set_linear(w, lin, &format!("{p}.self_attn.{name}"))?;
        }
        if let Some(norm) = a.q_norm.as_mut() {
            w.set1(&mut norm.gamma, &format!("{p}.self_attn.q_norm.weight"))?;
        }
        if let Some(norm) = a.k_norm.as_mut() {
            w.set1(&mut norm.gamma, &format!("{p}.self_attn.k_norm.weight"))?;
        }
        w.set1(
            &mut b.mlp_norm.gamma,
            &format!("{p}.post_attention_layernorm.weight"),
        )?;
        let mlp = &mut b.mlp;
        let gate = mlp.gate.as_mut().ok_or_else(|| {
            LmError::checkpoint(w.origin(), "a Llama-like model needs a gated MLP")
        })?;
        for (lin, name) in [
            (gate, "gate_proj"),
            (&mut mlp.up, "up_proj"),
            (&mut mlp.down, "down_proj"),
        ] {
            set_linear(w, lin, &format!("{p}.mlp.{name}"))?;
        }
    }
    w.set1(&mut m.norm.gamma, "model.norm.weight")?;
    if let Some(head) = m.lm_head.as_mut() {
        w.set2(&mut head.weight, "lm_head.weight", true)?;
    } else {
        // Tied: a saved copy of the embedding is not loaded separately.
        w.mark_used("lm_head.weight");
    }
    Ok(())
}

/// Replaces the 1-D parameter in `slot` (which the model must have) by `name`.
fn set_some(
    w: &mut Weights<'_>,
    slot: &mut Option<Param<Tensor<1>>>,
    name: &str,
) -> Result<(), LmError> {
    match slot {
        Some(p) => w.set1(p, name),
        None => Err(LmError::checkpoint(
            w.origin(),
            format!("the model has no place for `{name}`"),
        )),
    }
}

/// `{prefix}.weight` (transposed) and, if the layer has one, `{prefix}.bias`.
fn set_linear(w: &mut Weights<'_>, lin: &mut Linear, prefix: &str) -> Result<(), LmError> {
    w.set2(&mut lin.weight, &format!("{prefix}.weight"), true)?;
    if let Some(bias) = lin.bias.as_mut() {
        w.set1(bias, &format!("{prefix}.bias"))?;
    }
    Ok(())
}

fn map_gpt2(w: &mut Weights<'_>, m: &mut Transformer) -> Result<(), LmError> {
    // GPT2LMHeadModel prefixes `transformer.`; GPT2Model does not.
    let pre = if w.names().iter().any(|n| n.starts_with("transformer.")) {
        "transformer."
    } else {
        ""
    };
    w.set_table(&mut m.embed, &format!("{pre}wte.weight"))?;
    let pos = m
        .pos_embed
        .as_mut()
        .ok_or_else(|| LmError::checkpoint(w.origin(), "GPT-2 needs learned positions"))?;
    w.set2(&mut pos.weight, &format!("{pre}wpe.weight"), false)?;
    let d = m.config.d_model;
    for (i, b) in m.blocks.iter_mut().enumerate() {
        let p = format!("{pre}h.{i}");
        w.set1(&mut b.attn_norm.gamma, &format!("{p}.ln_1.weight"))?;
        set_some(w, &mut b.attn_norm.beta, &format!("{p}.ln_1.bias"))?;
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
        w.set2(
            &mut b.attn.o.weight,
            &format!("{p}.attn.c_proj.weight"),
            false,
        )?;
        set_some(w, &mut b.attn.o.bias, &format!("{p}.attn.c_proj.bias"))?;
        w.set1(&mut b.mlp_norm.gamma, &format!("{p}.ln_2.weight"))?;
        set_some(w, &mut b.mlp_norm.beta, &format!("{p}.ln_2.bias"))?;
        w.set2(&mut b.mlp.up.weight, &format!("{p}.mlp.c_fc.weight"), false)?;
        set_some(w, &mut b.mlp.up.bias, &format!("{p}.mlp.c_fc.bias"))?;
        w.set2(
            &mut b.mlp.down.weight,
            &format!("{p}.mlp.c_proj.weight"),
            false,
        )?;
        set_some(w, &mut b.mlp.down.bias, &format!("{p}.mlp.c_proj.bias"))?;
    }
    w.set1(&mut m.norm.gamma, &format!("{pre}ln_f.weight"))?;
    set_some(w, &mut m.norm.beta, &format!("{pre}ln_f.bias"))?;
    match m.lm_head.as_mut() {
        Some(head) => w.set2(&mut head.weight, "lm_head.weight", true)?,
        None => w.mark_used("lm_head.weight"),
    }
    Ok(())
}
