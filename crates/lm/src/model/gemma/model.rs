//! The Gemma 3 model: scaled embeddings, Gemma blocks, final norm, tied output projection.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

use super::config::{Gemma3Config, LayerKind};
use super::window::sliding_window_blocked;
use crate::causal_lm::{CausalLm, DEFAULT_LOGITS_CHUNK_ELEMENTS};
use crate::error::LmError;
use crate::fused_head::OutputProjection;
use crate::kv_cache::KvCache;
use crate::lora::LoraConfig;
use crate::mask::blocked_keys;
use crate::model::{Attention, Block, GateActivation, Mlp, Norm, Rope, VocabEmbedding};

/// The weights of one Gemma 3 decoder layer, projections in burn's `[in, out]` layout and
/// norm scales γ centred on zero (the norm multiplies by `1 + γ`), as Hugging Face stores
/// them.
#[derive(Clone, Debug)]
pub struct Gemma3LayerWeights {
    /// `q_proj`: `[d_model, n_heads·head_dim]`.
    pub q: Tensor<2>,
    /// `k_proj`: `[d_model, n_kv_heads·head_dim]`.
    pub k: Tensor<2>,
    /// `v_proj`: `[d_model, n_kv_heads·head_dim]`.
    pub v: Tensor<2>,
    /// `o_proj`: `[n_heads·head_dim, d_model]`.
    pub o: Tensor<2>,
    /// `q_norm`: `[head_dim]`.
    pub q_norm: Tensor<1>,
    /// `k_norm`: `[head_dim]`.
    pub k_norm: Tensor<1>,
    /// `input_layernorm`: `[d_model]`.
    pub attn_norm: Tensor<1>,
    /// `post_attention_layernorm`: `[d_model]`.
    pub post_attn_norm: Tensor<1>,
    /// `pre_feedforward_layernorm`: `[d_model]`.
    pub mlp_norm: Tensor<1>,
    /// `post_feedforward_layernorm`: `[d_model]`.
    pub post_mlp_norm: Tensor<1>,
    /// `gate_proj`: `[d_model, d_ff]`.
    pub gate: Tensor<2>,
    /// `up_proj`: `[d_model, d_ff]`.
    pub up: Tensor<2>,
    /// `down_proj`: `[d_ff, d_model]`.
    pub down: Tensor<2>,
}

/// The Gemma 3 text decoder implementing [`CausalLm`] (Gemma Team 2025).
///
/// ```text
/// x₀ = E[ids] · √d_model
/// per layer ℓ (kind: sliding or global):
///   h  = x + post_attn(attn_ℓ(norm_attn(x)))      attn: GQA, QK-norm, scores · q_pre_attn^−½,
///   x' = h + post_mlp(mlp(norm_mlp(h)))                  RoPE base and window of its kind
///   mlp(x) = down(gelu_tanh(gate(x)) ⊙ up(x))
/// logits = norm(x_L) · Eᵀ                          (tied output embedding)
/// every norm: RMSNorm with scale (1 + γ)
/// ```
///
/// Build one with [`Gemma3::new`] (random), from Hugging Face weights with
/// [`crate::checkpoint::load_gemma3_hf`], or from a GGUF file with
/// [`crate::checkpoint::load_gemma3_gguf`]. It is a burn [`Module`] (train it, `clone()` it,
/// take a no-grad `valid()` copy for reference scoring) and a [`CausalLm`], so the trainers,
/// `generate` and reward-model backbones take it like any other model. Per-token log-probs
/// project the 262 144-token vocabulary in chunks of positions
/// ([`logits_chunk_elements`](Self::logits_chunk_elements)).
#[derive(Module, Debug)]
pub struct Gemma3 {
    /// Token embedding `[vocab, d_model]`; also the output projection. Held in row blocks
    /// on devices that cap a buffer's size (wgpu), whole on Flex ([`VocabEmbedding`]).
    pub embed: VocabEmbedding,
    /// Decoder layers.
    pub blocks: Vec<Block>,
    /// Final norm.
    pub norm: Norm,
    /// The configuration this model was built from.
    #[module(skip)]
    pub config: Gemma3Config,
    /// Most logits one chunk of the per-token log-probs holds (see
    /// [`CausalLm::logits_chunk_elements`]).
    #[module(skip)]
    pub logits_chunk_elements: usize,
    #[module(skip)]
    rope_local: Rope,
    #[module(skip)]
    rope_global: Rope,
    #[module(skip)]
    pub(crate) lora: Option<LoraConfig>,
}

impl Gemma3 {
    /// A randomly initialised model: projections and embeddings N(0, 0.02²) (Hugging Face's
    /// `initializer_range`), norm scales γ = 0, drawn from a host RNG seeded with `seed`.
    pub fn new(config: &Gemma3Config, seed: u64, device: &Device) -> Result<Self, LmError> {
        config.validate()?;
        let mut init = crate::model::Init::new(seed);
        let (d, hd) = (config.d_model, config.head_dim);
        let embed = init.normal_data(config.vocab_size, d, 0.02);
        let mut w = |i, o| init.normal(i, o, 0.02, device).val();
        let layers = (0..config.n_layers)
            .map(|_| {
                let zeros = |n| Tensor::<1>::zeros([n], device);
                Gemma3LayerWeights {
                    q: w(d, config.n_heads * hd),
                    k: w(d, config.n_kv_heads * hd),
                    v: w(d, config.n_kv_heads * hd),
                    o: w(config.n_heads * hd, d),
                    q_norm: zeros(hd),
                    k_norm: zeros(hd),
                    attn_norm: zeros(d),
                    post_attn_norm: zeros(d),
                    mlp_norm: zeros(d),
                    post_mlp_norm: zeros(d),
                    gate: w(d, config.d_ff),
                    up: w(d, config.d_ff),
                    down: w(config.d_ff, d),
                }
            })
            .collect();
        Self::from_weights(config, embed, layers, Tensor::zeros([d], device))
    }

    /// Assembles a model from its weights (used by the checkpoint loaders), checking every
    /// shape against `config`. `embed` is the `[vocab, d_model]` table in host memory (it is
    /// split into row blocks on devices that need it, see [`VocabEmbedding`]); `final_norm`
    /// is the final norm's γ (zero-centred).
    pub fn from_weights(
        config: &Gemma3Config,
        embed: TensorData,
        layers: Vec<Gemma3LayerWeights>,
        final_norm: Tensor<1>,
    ) -> Result<Self, LmError> {
        config.validate()?;
        let c = config;
        let (d, hd) = (c.d_model, c.head_dim);
        check("embed", embed.shape().as_slice(), &[c.vocab_size, d])?;
        check("final_norm", &final_norm.dims(), &[d])?;
        let device = final_norm.device();
        if layers.len() != c.n_layers {
            return Err(LmError::Input {
                what: "layers",
                expected: format!("{} layers", c.n_layers),
                got: format!("{}", layers.len()),
            });
        }
        let norm = |g: Tensor<1>| Norm {
            gamma: Param::from_tensor(g),
            beta: None,
            eps: c.norm_eps,
            gamma_offset: 1.0,
        };
        let lin = |w: Tensor<2>| Linear {
            weight: Param::from_tensor(w),
            bias: None,
        };
        let mut blocks = Vec::with_capacity(c.n_layers);
        for (i, l) in layers.into_iter().enumerate() {
            let name = |part: &str| format!("layer {i} {part}");
            check(&name("q"), &l.q.dims(), &[d, c.n_heads * hd])?;
            check(&name("k"), &l.k.dims(), &[d, c.n_kv_heads * hd])?;
            check(&name("v"), &l.v.dims(), &[d, c.n_kv_heads * hd])?;
            check(&name("o"), &l.o.dims(), &[c.n_heads * hd, d])?;
            check(&name("gate"), &l.gate.dims(), &[d, c.d_ff])?;
            check(&name("up"), &l.up.dims(), &[d, c.d_ff])?;
            check(&name("down"), &l.down.dims(), &[c.d_ff, d])?;
            for (part, t, n) in [
                ("q_norm", &l.q_norm, hd),
                ("k_norm", &l.k_norm, hd),
                ("attn_norm", &l.attn_norm, d),
                ("post_attn_norm", &l.post_attn_norm, d),
                ("mlp_norm", &l.mlp_norm, d),
                ("post_mlp_norm", &l.post_mlp_norm, d),
            ] {
                check(&name(part), &t.dims(), &[n])?;
            }
            blocks.push(Block {
                attn_norm: norm(l.attn_norm),
                attn: Attention::from_projections(
                    lin(l.q),
                    lin(l.k),
                    lin(l.v),
                    lin(l.o),
                    c.n_heads,
                    c.n_kv_heads,
                    hd,
                )
                .with_qk_norm(Some(norm(l.q_norm)), Some(norm(l.k_norm)))
                .with_scale(c.query_pre_attn_scalar.powf(-0.5)),
                mlp_norm: norm(l.mlp_norm),
                mlp: Mlp::from_projections(
                    Some(lin(l.gate)),
                    lin(l.up),
                    lin(l.down),
                    GateActivation::GeluTanh,
                ),
                post_attn_norm: Some(norm(l.post_attn_norm)),
                post_mlp_norm: Some(norm(l.post_mlp_norm)),
            });
        }
        Ok(Self {
            embed: VocabEmbedding::from_data(embed, &device)?,
            blocks,
            norm: norm(final_norm),
            config: c.clone(),
            logits_chunk_elements: DEFAULT_LOGITS_CHUNK_ELEMENTS,
            rope_local: Rope::new(hd, c.rope_theta_local),
            rope_global: Rope::new(hd, c.rope_theta_global),
            lora: None,
        })
    }

    /// Holds the embedding in blocks of `rows` rows (see [`VocabEmbedding`]; the loaders
    /// already split it where the device needs it). Outputs are unchanged; on Flex a blocked
    /// table takes the unfused chunked head.
    pub fn with_embedding_block_rows(mut self, rows: usize) -> Self {
        self.embed = self.embed.with_block_rows(rows);
        self
    }

    /// Sets [`logits_chunk_elements`](Self::logits_chunk_elements).
    pub fn with_logits_chunk_elements(mut self, elements: usize) -> Self {
        self.logits_chunk_elements = elements.max(1);
        self
    }

    fn run(
        &self,
        ids: Tensor<2, Int>,
        key_mask: Tensor<2, Int>,
        positions: Tensor<2, Int>,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor<3> {
        let device = ids.device();
        let [_, t] = ids.dims();
        let past = cache.as_ref().map_or(0, |c| c.len());
        let mut x = self.embed.forward(ids) * self.config.embed_scale();
        let global: Tensor<4, Bool> = blocked_keys(key_mask.clone(), past, t);
        let kinds = &self.config.layer_kinds;
        let local = kinds.contains(&LayerKind::Sliding).then(|| {
            sliding_window_blocked(
                global.clone(),
                key_mask,
                positions.clone(),
                self.config.sliding_window,
            )
        });
        let rope_global = self.rope_global.tables(positions.clone(), &device);
        let rope_local = self.rope_local.tables(positions, &device);
        for (i, block) in self.blocks.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().map(|c| (c, i));
            let (blocked, rope) = match kinds[i] {
                LayerKind::Global => (&global, &rope_global),
                LayerKind::Sliding => (local.as_ref().unwrap_or(&global), &rope_local),
            };
            x = block.forward(x, blocked, Some(rope), layer_cache);
        }
        if let Some(c) = cache {
            c.advance(t);
        }
        self.norm.forward(x)
    }
}

fn check(what: &str, got: &[usize], want: &[usize]) -> Result<(), LmError> {
    if got == want {
        return Ok(());
    }
    Err(LmError::Input {
        what: "gemma3 weights",
        expected: format!("{what} of shape {want:?}"),
        got: format!("{got:?}"),
    })
}

impl CausalLm for Gemma3 {
    decoder_common!();

    fn logits_from_hidden(&self, hidden: Tensor<3>) -> Tensor<3> {
        self.embed.tied_logits(hidden)
    }

    fn output_projection(&self) -> Option<OutputProjection> {
        self.embed.whole().map(OutputProjection::Tied)
    }

    fn logits_chunk_elements(&self) -> usize {
        self.logits_chunk_elements
    }
}
