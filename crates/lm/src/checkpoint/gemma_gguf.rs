//! Gemma 3 from a GGUF file (llama.cpp's format; e.g. `gemma-3-270m-q4_k_m.gguf`).
//!
//! Hyper-parameters come from the `gemma3.*` metadata. Where the metadata has no key for
//! one, the published Gemma 3 value is used, as llama.cpp itself does
//! (`src/llama-model.cpp`, `LLM_ARCH_GEMMA3`: `set_swa_pattern(6)`,
//! `rope_freq_base_train_swa = 10000`, attention scale `1/√key_length` except 27B):
//!
//! | model field | GGUF key | when absent |
//! |---|---|---|
//! | `vocab_size` | rows of `token_embd.weight` | — |
//! | `d_model` | `gemma3.embedding_length` | error |
//! | `n_layers` | `gemma3.block_count` | error |
//! | `d_ff` | `gemma3.feed_forward_length` | error |
//! | `n_heads`, `n_kv_heads` | `gemma3.attention.head_count`, `.head_count_kv` | error; `n_heads` |
//! | `head_dim` | `gemma3.attention.key_length` (= `value_length`) | `d_model / n_heads` |
//! | `norm_eps` | `gemma3.attention.layer_norm_rms_epsilon` | error |
//! | `max_seq_len` | `gemma3.context_length` | error |
//! | `sliding_window` | `gemma3.attention.sliding_window` | error |
//! | `rope_theta_global` | `gemma3.rope.freq_base` | 1 000 000 (published) |
//! | `rope_theta_local` | `gemma3.rope.freq_base_swa` | 10 000 (published) |
//! | `layer_kinds` | `gemma3.attention.sliding_window_pattern` (period, or one bool per layer, true = sliding) | period 6 (published) |
//! | `query_pre_attn_scalar` | — | `head_dim`; `d_model / n_heads` for the 62-layer 27B (published) |
//!
//! (transformers' own GGUF loader leaves `query_pre_attn_scalar` at its default 256, which
//! equals `head_dim` for every Gemma 3 size but 27B; llama.cpp and this loader use the table.)
//!
//! Tensors: `token_embd` (also the output projection; a separate `output.weight` is an
//! error), `output_norm`, and per block `blk.N.` `attn_norm`, `attn_q`, `attn_k`, `attn_v`,
//! `attn_q_norm`, `attn_k_norm`, `attn_output`, `post_attention_norm`, `ffn_norm`,
//! `ffn_gate`, `ffn_up`, `ffn_down`, `post_ffw_norm`. Quantised tensors are dequantised to
//! f32 by the [`gguf`] crate. Two conversions of llama.cpp's `convert_hf_to_gguf.py` are
//! undone here:
//! - norm weights are stored as `1 + w` (Gemma's RMSNorm scales by `1 + w`): 1 is
//!   subtracted, as transformers' `Gemma2TensorProcessor` (used for `gemma3`) does;
//! - GGUF dims are `[in, out]` fastest first, i.e. row-major `[out, in]` like PyTorch:
//!   projections are transposed to burn's `[in, out]`. Gemma's q/k are *not* permuted by
//!   the converter (llama.cpp runs Gemma with NeoX-style, rotate-half RoPE), so none is undone.
//!
//! Features the model does not implement (logit soft-capping, scaled RoPE) are errors.

use std::collections::HashSet;
use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use gguf::{Array, GgufFile, Value};

use crate::error::LmError;
use crate::model::Gemma3;
use crate::model::gemma::{
    Gemma3Config, Gemma3LayerWeights, LayerKind, ROPE_THETA_GLOBAL, ROPE_THETA_LOCAL,
    SLIDING_WINDOW_PATTERN, layer_pattern,
};

const ARCH: &str = "gemma3";

/// Reads the [`Gemma3Config`] of an open GGUF file (see the module docs for the keys).
pub fn gemma3_config_from_gguf(file: &GgufFile) -> Result<Gemma3Config, LmError> {
    let path = file.path();
    let bad = |reason: String| LmError::checkpoint(path, reason);
    let gg = |e: gguf::GgufError| LmError::checkpoint(path, e.to_string());
    let arch = file.get_str("general.architecture").map_err(gg)?;
    if arch != ARCH {
        return Err(bad(format!(
            "general.architecture: expected `{ARCH}`, got `{arch}`"
        )));
    }
    let key = |k: &str| format!("{ARCH}.{k}");
    let uint = |k: &str| -> Result<usize, LmError> {
        file.get_uint(&key(k)).map(|v| v as usize).map_err(gg)
    };
    let opt_uint = |k: &str| -> Result<Option<usize>, LmError> {
        match file.get(&key(k)) {
            None => Ok(None),
            Some(_) => uint(k).map(Some),
        }
    };
    let opt_float = |k: &str| -> Result<Option<f64>, LmError> {
        match file.get(&key(k)) {
            None => Ok(None),
            Some(_) => file.get_float(&key(k)).map(Some).map_err(gg),
        }
    };
    for k in ["final_logit_softcapping", "attn_logit_softcapping"] {
        if file.get(&key(k)).is_some() {
            return Err(bad(format!("{}: soft-capping is not implemented", key(k))));
        }
    }
    if let Some(v) = file.get(&key("rope.scaling.type")) {
        let kind = v.as_str().unwrap_or("?");
        if kind != "none" {
            return Err(bad(format!(
                "{}: only unscaled RoPE is implemented, got `{kind}`",
                key("rope.scaling.type")
            )));
        }
    }

    let d_model = uint("embedding_length")?;
    let n_layers = uint("block_count")?;
    let n_heads = uint("attention.head_count")?;
    let n_kv_heads = opt_uint("attention.head_count_kv")?.unwrap_or(n_heads);
    let head_dim = opt_uint("attention.key_length")?.unwrap_or(d_model / n_heads.max(1));
    if let Some(v) = opt_uint("attention.value_length")?
        && v != head_dim
    {
        return Err(bad(format!(
            "{}: expected {head_dim} (= key_length), got {v}",
            key("attention.value_length")
        )));
    }
    let embd = file
        .tensor("token_embd.weight")
        .map_err(gg)?
        .shape()
        .to_vec();
    if embd.len() != 2 || embd[1] != d_model {
        return Err(bad(format!(
            "tensor `token_embd.weight`: expected shape [vocab, {d_model}], got {embd:?}"
        )));
    }
    let layer_kinds = match file.get(&key("attention.sliding_window_pattern")) {
        None => layer_pattern(n_layers, SLIDING_WINDOW_PATTERN),
        Some(Value::Array(Array::Bool(per_layer))) => {
            if per_layer.len() != n_layers {
                return Err(bad(format!(
                    "{}: expected {n_layers} entries, got {}",
                    key("attention.sliding_window_pattern"),
                    per_layer.len()
                )));
            }
            per_layer
                .iter()
                .map(|&sliding| {
                    if sliding {
                        LayerKind::Sliding
                    } else {
                        LayerKind::Global
                    }
                })
                .collect()
        }
        Some(v) => match v.as_uint() {
            Some(period) => layer_pattern(n_layers, period as usize),
            None => {
                return Err(bad(format!(
                    "{}: expected a period or one bool per layer, got {}",
                    key("attention.sliding_window_pattern"),
                    v.describe_type()
                )));
            }
        },
    };
    // Gemma 3 27B (62 layers) scales queries by (d_model / n_heads)^−½ = 168^−½; the other
    // sizes by head_dim^−½ (published configs; llama.cpp does the same).
    let query_pre_attn_scalar = if n_layers == 62 {
        (d_model / n_heads.max(1)) as f64
    } else {
        head_dim as f64
    };
    let config = Gemma3Config {
        vocab_size: embd[0],
        d_model,
        n_layers,
        n_heads,
        n_kv_heads,
        head_dim,
        d_ff: uint("feed_forward_length")?,
        max_seq_len: uint("context_length")?,
        norm_eps: file
            .get_float(&key("attention.layer_norm_rms_epsilon"))
            .map_err(gg)?,
        rope_theta_global: opt_float("rope.freq_base")?.unwrap_or(ROPE_THETA_GLOBAL),
        rope_theta_local: opt_float("rope.freq_base_swa")?.unwrap_or(ROPE_THETA_LOCAL),
        sliding_window: uint("attention.sliding_window")?,
        layer_kinds,
        query_pre_attn_scalar,
    };
    config
        .validate()
        .map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    Ok(config)
}

/// Loads Gemma 3 from the GGUF file at `path` onto `device` as f32 (quantised tensors are
/// dequantised). Every tensor the model needs must be present and every tensor of the file
/// must be used.
pub fn load_gemma3_gguf(path: &Path, device: &Device) -> Result<Gemma3, LmError> {
    let file = GgufFile::open(path).map_err(|e| LmError::checkpoint(path, e.to_string()))?;
    let config = gemma3_config_from_gguf(&file)?;
    let mut r = Reader {
        file: &file,
        device,
        used: HashSet::new(),
    };
    let embed = r.matrix_data("token_embd.weight", false)?;
    let mut layers = Vec::with_capacity(config.n_layers);
    for i in 0..config.n_layers {
        let n = |part: &str| format!("blk.{i}.{part}.weight");
        layers.push(Gemma3LayerWeights {
            q: r.matrix(&n("attn_q"), true)?,
            k: r.matrix(&n("attn_k"), true)?,
            v: r.matrix(&n("attn_v"), true)?,
            o: r.matrix(&n("attn_output"), true)?,
            q_norm: r.norm(&n("attn_q_norm"))?,
            k_norm: r.norm(&n("attn_k_norm"))?,
            attn_norm: r.norm(&n("attn_norm"))?,
            post_attn_norm: r.norm(&n("post_attention_norm"))?,
            mlp_norm: r.norm(&n("ffn_norm"))?,
            post_mlp_norm: r.norm(&n("post_ffw_norm"))?,
            gate: r.matrix(&n("ffn_gate"), true)?,
            up: r.matrix(&n("ffn_up"), true)?,
            down: r.matrix(&n("ffn_down"), true)?,
        });
    }
    let final_norm = r.norm("output_norm.weight")?;
    let unused: Vec<&str> = file
        .tensors()
        .iter()
        .map(|t| t.name())
        .filter(|n| !r.used.contains(*n))
        .collect();
    if !unused.is_empty() {
        return Err(LmError::checkpoint(
            path,
            format!("tensors the model has no place for: {unused:?}"),
        ));
    }
    Gemma3::from_weights(&config, embed, layers, final_norm)
        .map_err(|e| LmError::checkpoint(path, e.to_string()))
}

struct Reader<'a> {
    file: &'a GgufFile,
    device: &'a Device,
    used: HashSet<String>,
}

impl Reader<'_> {
    fn read(&mut self, name: &str) -> Result<gguf::TensorF32, LmError> {
        let t = self
            .file
            .tensor_f32(name)
            .map_err(|e| LmError::checkpoint(self.file.path(), e.to_string()))?;
        self.used.insert(name.to_string());
        Ok(t)
    }

    /// A 2-D tensor in row-major `[out, in]`; `transpose` gives burn's `[in, out]`.
    fn matrix(&mut self, name: &str, transpose: bool) -> Result<Tensor<2>, LmError> {
        Ok(Tensor::from_data(
            self.matrix_data(name, transpose)?,
            self.device,
        ))
    }

    /// [`matrix`](Self::matrix) in host memory.
    fn matrix_data(&mut self, name: &str, transpose: bool) -> Result<TensorData, LmError> {
        let t = self.read(name)?;
        if t.shape.len() != 2 {
            return Err(LmError::checkpoint(
                self.file.path(),
                format!("tensor `{name}`: expected 2 dims, got {:?}", t.shape),
            ));
        }
        let (rows, cols) = (t.shape[0], t.shape[1]);
        let data = if transpose {
            TensorData::new(transpose_host(&t.data, rows, cols), [cols, rows])
        } else {
            TensorData::new(t.data, [rows, cols])
        };
        Ok(data)
    }

    /// A norm weight stored as `1 + γ`, returned as γ.
    fn norm(&mut self, name: &str) -> Result<Tensor<1>, LmError> {
        let t = self.read(name)?;
        if t.shape.len() != 1 {
            return Err(LmError::checkpoint(
                self.file.path(),
                format!("tensor `{name}`: expected 1 dim, got {:?}", t.shape),
            ));
        }
        let n = t.shape[0];
        let g: Vec<f32> = t.data.into_iter().map(|x| x - 1.0).collect();
        Ok(Tensor::from_data(TensorData::new(g, [n]), self.device))
    }
}

/// Row-major `[rows, cols]` → row-major `[cols, rows]`, in cache-sized tiles (a contiguous
/// result: a strided `transpose()` view would slow every matmul with the weight).
fn transpose_host(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    const TILE: usize = 32;
    let mut out = vec![0.0f32; data.len()];
    for r0 in (0..rows).step_by(TILE) {
        for c0 in (0..cols).step_by(TILE) {
            for r in r0..(r0 + TILE).min(rows) {
                for c in c0..(c0 + TILE).min(cols) {
                    out[c * rows + r] = data[r * cols + c];
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::transpose_host;

    #[test]
    fn host_transpose() {
        let (rows, cols) = (37, 70);
        let data: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
        let t = transpose_host(&data, rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                assert_eq!(t[c * rows + r], data[r * cols + c]);
            }
        }
    }
}
