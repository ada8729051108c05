//! The fused output projection: log-softmax, the target's log-prob and the entropy of every
//! row, straight from hidden states and the output weights, with its own backward pass and
//! no logits-sized saved state.
//!
//! For a row `h ∈ ℝᵈ` (a hidden state), its target `y` (the next token), the output weights
//! `W` (`[V, d]` tied embedding, or a `[d, V]` linear head with an optional bias `b`) and a
//! temperature `τ`:
//!
//! ```text
//! z    = (h·Wᵀ + b) / τ                  (the tempered logits, never stored whole)
//! lse  = log Σ_v exp(z_v)
//! logp = z_y − lse
//! H    = −Σ_v p_v log p_v = lse − Σ_v p_v z_v,      p = softmax(z)
//! ```
//!
//! Forward: the vocabulary is walked in blocks of at most `block_elements / rows` entries
//! (an online log-sum-exp keeps the running max `m`, `Σ exp(z − m)` and
//! `Σ exp(z − m)·(z − m)` per row), so only one `[rows, block]` buffer of logits exists at a
//! time. The op saves the inputs it was given (`h`, `W`, `b`, which autodiff holds anyway)
//! and three floats per row (`logp`, `H`, `lse`).
//!
//! Backward, for upstream gradients `g_lp`, `g_H` of a row (hand-derived):
//!
//! ```text
//! ∂logp/∂z_j = δ_jy − p_j
//! ∂H/∂z_j    = −p_j (log p_j + H)
//! g_z_j      = g_lp·δ_jy − p_j·(c₀ + g_H·z_j),     c₀ = g_lp + g_H·(H − lse)
//! ∂/∂(logits) = g_z / τ;   ∂/∂h = (g_z/τ)·W;   ∂/∂W = (g_z/τ)ᵀ·h;   ∂/∂b = Σ_rows g_z/τ
//! ```
//!
//! computed block by block after recomputing that block's logits (`p_j = exp(z_j − lse)`
//! from the saved `lse`), so the backward also holds one block at a time. Rows whose upstream
//! gradients are both zero (masked prompt or padding positions) are skipped, and gradients
//! of inputs that do not require them (a frozen embedding under LoRA) are not computed.
//!
//! **The weight's gradient comes last.** `∂/∂W` is the size of the weights (640 MiB for
//! Gemma 3's tied 262 144 × 640 table). Computed where the head sits in the graph — the first
//! node of the backward pass — it would coexist with every activation the layers still hold.
//! So for weights of 64 MiB or more the head's backward computes `∂/∂h` (and `∂/∂b`) only,
//! and a second node whose sole parent is the weight computes `∂/∂W`: burn runs the backward by depth, so that node runs
//! after every layer, when their activations are freed. It recomputes the logits blocks once
//! more (one extra `N × V × d` product), adds `∂/∂W` into the gradient already registered for
//! the weight (the tied embedding's lookup, `crate::embedding_op`) instead of beside it, and,
//! before mapping a fresh table-sized buffer, returns the heap the backward has freed to the
//! kernel (`rlhf_core::allocator::release_free_memory`). A Gemma 3 270M DPO step peaks
//! 228 MiB lower for about 11 % more time.
//!
//! This is the Liger-kernel idea (fused linear + cross-entropy) for log-probs and entropies.
//! It is a burn *backend extension* (`#[backend_extension]`) with a hand-written
//! `Backward` for `Autodiff<B, C>`: burn 0.22's public route to a custom backward pass.
//! Only the Flex (CPU) backend implements it; [`fused_head_available`] tells callers when
//! to use the unfused chunked path (`crate::logprobs`) instead.

#[cfg(feature = "flex")]
mod flex;
#[cfg(feature = "flex")]
mod project;
#[cfg(feature = "flex")]
pub mod simd;

use burn::tensor::{DType, Device, IndexingUpdateOp, Int, Tensor, TensorData};

use crate::logprobs::TokenStats;

/// The output projection of a language model.
// Built per call and moved once; boxing the larger variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum OutputProjection {
    /// Logits `h·Eᵀ` of a tied embedding `E: [V, d]`.
    Tied(Tensor<2>),
    /// Logits `h·W + b` of a linear head `W: [d, V]` with an optional bias `b: [V]`.
    Linear {
        /// `[d, V]`.
        weight: Tensor<2>,
        /// `[V]`.
        bias: Option<Tensor<1>>,
    },
}

impl OutputProjection {
    /// Vocabulary size `V`.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Tied(e) => e.dims()[0],
            Self::Linear { weight, .. } => weight.dims()[1],
        }
    }

    /// Logits of `hidden: [B, T, d]`, `[B, T, V]`, unfused (with burn's own ops).
    pub fn logits(&self, hidden: Tensor<3>) -> Tensor<3> {
        match self {
            Self::Tied(e) => crate::model::tied_logits(hidden, e.clone()),
            Self::Linear { weight, bias } => {
                let [b, t, d] = hidden.dims();
                let v = weight.dims()[1];
                let logits = hidden
                    .reshape([b * t, d])
                    .matmul(weight.clone())
                    .reshape([b, t, v]);
                match bias {
                    Some(bias) => logits + bias.clone().reshape([1, 1, v]),
                    None => logits,
                }
            }
        }
    }

    fn weight(&self) -> &Tensor<2> {
        match self {
            Self::Tied(e) => e,
            Self::Linear { weight, .. } => weight,
        }
    }
}

/// Host-side parameters of one fused-head call.
#[derive(Clone, Debug)]
pub struct HeadSpec {
    /// Whether the weight is `[V, d]` (tied embedding) rather than `[d, V]` (linear head).
    pub vocab_major: bool,
    /// Whether the bias tensor is used.
    pub has_bias: bool,
    /// Temperature `τ` (finite, positive).
    pub temperature: f32,
    /// Most logits one block holds (rows × vocabulary entries).
    pub block_elements: usize,
}

/// The backend operations of the fused head (a burn backend extension).
///
/// `fused_head_forward` returns `[N, 3]`: per row `logp`, `H` and `lse` (see the module
/// docs); `fused_head_backward` returns the gradients of `hidden`, `weight` and `bias` for an
/// upstream gradient `grad: [N, 3]` (the `lse` column's gradient is ignored), each only when
/// `need` asks for it (a `[1]` placeholder otherwise).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait FusedHeadBackend: burn::backend::Backend {
    /// The fused forward pass.
    fn fused_head_forward(
        hidden: burn::backend::tensor::FloatTensor<Self>,
        weight: burn::backend::tensor::FloatTensor<Self>,
        bias: burn::backend::tensor::FloatTensor<Self>,
        targets: Vec<u32>,
        spec: HeadSpec,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// The hand-written backward pass.
    #[allow(clippy::too_many_arguments)]
    fn fused_head_backward(
        hidden: burn::backend::tensor::FloatTensor<Self>,
        weight: burn::backend::tensor::FloatTensor<Self>,
        bias: burn::backend::tensor::FloatTensor<Self>,
        stats: burn::backend::tensor::FloatTensor<Self>,
        grad: burn::backend::tensor::FloatTensor<Self>,
        targets: Vec<u32>,
        spec: HeadSpec,
        need: [bool; 3],
    ) -> (
        burn::backend::tensor::FloatTensor<Self>,
        burn::backend::tensor::FloatTensor<Self>,
        burn::backend::tensor::FloatTensor<Self>,
    );

    /// The weight's gradient alone, added into `acc` (the weight's gradient registered so
    /// far, updated in place when not shared; a `[1]` placeholder when there is none).
    #[allow(clippy::too_many_arguments)]
    fn fused_head_weight_grad(
        hidden: burn::backend::tensor::FloatTensor<Self>,
        weight: burn::backend::tensor::FloatTensor<Self>,
        bias: burn::backend::tensor::FloatTensor<Self>,
        stats: burn::backend::tensor::FloatTensor<Self>,
        grad: burn::backend::tensor::FloatTensor<Self>,
        targets: Vec<u32>,
        spec: HeadSpec,
        acc: burn::backend::tensor::FloatTensor<Self>,
    ) -> burn::backend::tensor::FloatTensor<Self>;
}

#[cfg(feature = "flex")]
mod autodiff {
    use std::sync::{Arc, Mutex};

    use burn::backend::autodiff::Autodiff;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::{FloatDType, Shape};

    use super::{FusedHeadBackend, HeadSpec};

    /// What the weight's deferred gradient needs, left by the head's backward.
    #[derive(Debug)]
    struct Deferred<B: FusedHeadBackend> {
        hidden: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        stats: FloatTensor<B>,
        grad: FloatTensor<B>,
        targets: Vec<u32>,
        spec: HeadSpec,
    }

    type Slot<B> = Arc<Mutex<Option<Deferred<B>>>>;

    /// Weights at least this large (in bytes) get their gradient from the deferred node; a
    /// smaller one is computed with the hidden states' gradient (its memory does not matter,
    /// the logits recomputation would).
    const DEFER_WEIGHT_GRAD_BYTES: usize = 64 << 20;

    #[derive(Debug)]
    struct FusedHeadBackward;

    #[derive(Clone, Debug)]
    struct State<B: FusedHeadBackend> {
        hidden: FloatTensor<B>,
        weight: FloatTensor<B>,
        bias: FloatTensor<B>,
        stats: FloatTensor<B>,
        targets: Vec<u32>,
        spec: HeadSpec,
        /// Where the weight's gradient is deferred to, when the weight is tracked.
        deferred: Option<Slot<B>>,
    }

    impl<B: FusedHeadBackend> Backward<B, 3> for FusedHeadBackward {
        type State = State<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 3>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node_h, node_w, node_b] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let s = ops.state;
            let defer = s.deferred.is_some();
            let need = [
                node_h.is_some(),
                node_w.is_some() && !defer,
                node_b.is_some(),
            ];
            let (gh, gw, gb) = B::fused_head_backward(
                s.hidden.clone(),
                s.weight.clone(),
                s.bias.clone(),
                s.stats.clone(),
                grad.clone(),
                s.targets.clone(),
                s.spec.clone(),
                need,
            );
            if let Some(node) = node_h {
                grads.register::<B>(node.id, gh);
            }
            match (node_w, s.deferred) {
                (Some(node), Some(slot)) => {
                    // The weight's parent here is the deferral node: hand it what it needs,
                    // and a one-element stand-in for the gradient it consumes.
                    let placeholder = B::float_zeros(
                        Shape::new([1]),
                        &burn::backend::TensorMetadata::device(&grad),
                        FloatDType::F32,
                    );
                    *slot.lock().expect("deferred head gradient") = Some(Deferred {
                        hidden: s.hidden,
                        weight: s.weight,
                        bias: s.bias,
                        stats: s.stats,
                        grad,
                        targets: s.targets,
                        spec: s.spec,
                    });
                    grads.register::<B>(node.id, placeholder);
                }
                (Some(node), None) => grads.register::<B>(node.id, gw),
                (None, _) => {}
            }
            if let Some(node) = node_b {
                grads.register::<B>(node.id, gb);
            }
        }
    }

    /// The weight's gradient, computed where the weight's own depth puts it: after every
    /// layer's backward (whose activations are freed by then), added into the gradient
    /// already registered for the weight (the tied embedding's lookup) or registered fresh.
    #[derive(Debug)]
    struct WeightGradBackward;

    #[derive(Clone, Debug)]
    struct WeightState<B: FusedHeadBackend> {
        /// The weight as autodiff sees it: the key of its already registered gradient.
        key: FloatTensor<Autodiff<B>>,
        slot: Slot<B>,
    }

    impl<B: FusedHeadBackend> Backward<B, 1> for WeightGradBackward {
        type State = WeightState<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node] = ops.parents;
            let _placeholder = grads.consume::<B>(&ops.node);
            let Some(node) = node else { return };
            let s = ops.state;
            let Some(d) = s.slot.lock().expect("deferred head gradient").take() else {
                return;
            };
            let acc = match grads.remove::<B>(&s.key) {
                Some(acc) => acc,
                None => {
                    // A table-sized buffer is about to be mapped: first hand the heap the
                    // backward has freed (the step's activations) back to the kernel.
                    rlhf_core::allocator::release_free_memory();
                    B::float_zeros(
                        Shape::new([1]),
                        &burn::backend::TensorMetadata::device(&d.grad),
                        FloatDType::F32,
                    )
                }
            };
            let gw = B::fused_head_weight_grad(
                d.hidden, d.weight, d.bias, d.stats, d.grad, d.targets, d.spec, acc,
            );
            grads.register::<B>(node.id, gw);
        }
    }

    impl<B: FusedHeadBackend, C: CheckpointStrategy> FusedHeadBackend for Autodiff<B, C> {
        fn fused_head_forward(
            hidden: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            targets: Vec<u32>,
            spec: HeadSpec,
        ) -> FloatTensor<Self> {
            let key: FloatTensor<Self> = weight.clone();
            let tracked = weight.is_tracked();
            let w_guard = weight.node();
            let (h, h_node) = hidden.into_parts();
            let (w, w_node) = weight.into_parts();
            let (b, b_node) = bias.into_parts();
            // A tracked weight gets its gradient from a node of its own, one level above the
            // weight: burn runs the backward by depth, so that node runs last.
            let slot: Slot<B> = Arc::new(Mutex::new(None));
            let stand_in = B::float_zeros(
                Shape::new([1]),
                &burn::backend::TensorMetadata::device(&w),
                FloatDType::F32,
            );
            let large = burn::backend::TensorMetadata::shape(&w).num_elements() * 4
                >= DEFER_WEIGHT_GRAD_BYTES;
            let (w_node, deferred) = if tracked && large {
                match WeightGradBackward
                    .prepare::<C>([w_guard])
                    .compute_bound()
                    .stateful()
                {
                    OpsKind::Tracked(prep) => {
                        let state = WeightState {
                            key,
                            slot: slot.clone(),
                        };
                        let (_, node) = prep.finish(state, stand_in).into_parts();
                        (node, Some(slot))
                    }
                    OpsKind::UnTracked(_) => (w_node, None),
                }
            } else {
                (w_node, None)
            };
            let stats = B::fused_head_forward(
                h.clone(),
                w.clone(),
                b.clone(),
                targets.clone(),
                spec.clone(),
            );
            match FusedHeadBackward
                .prepare::<C>([h_node, w_node, b_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let state = State {
                        hidden: h,
                        weight: w,
                        bias: b,
                        stats: stats.clone(),
                        targets,
                        spec,
                        deferred,
                    };
                    prep.finish(state, stats)
                }
                OpsKind::UnTracked(prep) => prep.finish(stats),
            }
        }

        fn fused_head_backward(
            _hidden: FloatTensor<Self>,
            _weight: FloatTensor<Self>,
            _bias: FloatTensor<Self>,
            _stats: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _targets: Vec<u32>,
            _spec: HeadSpec,
            _need: [bool; 3],
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            unreachable!("the fused head's backward runs on the inner backend")
        }

        fn fused_head_weight_grad(
            _hidden: FloatTensor<Self>,
            _weight: FloatTensor<Self>,
            _bias: FloatTensor<Self>,
            _stats: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _targets: Vec<u32>,
            _spec: HeadSpec,
            _acc: FloatTensor<Self>,
        ) -> FloatTensor<Self> {
            unreachable!("the fused head's backward runs on the inner backend")
        }
    }
}

/// Environment variable that switches the fused head off when set to `0`: the models then
/// take the chunked path of [`crate::logprobs`] and `generate` samples on the device (for
/// A/B benchmarks and bisecting).
pub const FUSED_HEAD_ENV: &str = "LM_FUSED_HEAD";

/// Whether [`fused_logprob_entropy`] runs for these tensors: a Flex device (with or without
/// autodiff), f32 hidden states and weights, and not switched off by [`FUSED_HEAD_ENV`]`=0`.
/// Elsewhere use the chunked path of [`crate::logprobs`].
pub fn fused_head_available(hidden_dtype: DType, device: &Device, proj: &OutputProjection) -> bool {
    cfg!(feature = "flex")
        && fused_enabled()
        && hidden_dtype == DType::F32
        && proj.weight().dtype() == DType::F32
        && crate::device::is_flex(device)
}

fn fused_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var(FUSED_HEAD_ENV).as_deref() != Ok("0"))
}

/// Per-row target log-probs and entropies of the tempered softmax of the projected rows:
/// `hidden: [N, d]`, `targets` (`N` token ids) → `[N, 2]` with columns
///
/// ```text
/// [:, 0] = log softmax((h·Wᵀ + b)/τ)[y]
/// [:, 1] = −Σ_v p_v log p_v,   p = softmax((h·Wᵀ + b)/τ)
/// ```
///
/// through the fused op (module docs): at most `block_elements` logits exist at once in the
/// forward and the backward pass, and autodiff saves no logits. Gradients flow to `hidden`
/// and to the projection's weights and bias. Requires [`fused_head_available`].
///
/// # Panics
/// When a target is not below the vocabulary size.
pub fn fused_logprob_entropy(
    hidden: Tensor<2>,
    proj: &OutputProjection,
    targets: Vec<u32>,
    temperature: f32,
    block_elements: usize,
) -> Tensor<2> {
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let device = hidden.device();
        let (weight, bias, vocab_major) = match proj {
            OutputProjection::Tied(e) => (e.clone(), None, true),
            OutputProjection::Linear { weight, bias } => (weight.clone(), bias.clone(), false),
        };
        let spec = HeadSpec {
            vocab_major,
            has_bias: bias.is_some(),
            temperature,
            block_elements,
        };
        let bias = bias.unwrap_or_else(|| Tensor::<1>::zeros([1], &device));
        let [n, _] = hidden.dims();
        let stats = Tensor::<2>::from_dispatch(<Dispatch as FusedHeadBackend>::fused_head_forward(
            hidden.into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            targets,
            spec,
        ));
        stats.narrow(1, 0, 2).reshape([n, 2])
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (hidden, proj, targets, temperature, block_elements);
        panic!("fused head: built without the flex backend; check fused_head_available")
    }
}

/// [`crate::logprobs::chunked_next_token_stats`] through the fused op: `hidden: [B, T, d]`,
/// `ids: [B, T]` →
///
/// ```text
/// logprobs[b, t] = log softmax((h[b,t]·Wᵀ + b)/τ)[ids[b, t+1]]          [B, T − 1]
/// entropy[b, t]  = H(softmax((h[b,t]·Wᵀ + b)/τ))      (when asked)      [B, T − 1]
/// ```
///
/// When `rows: [B, T − 1]` (floats 0/1) is given, only the positions where it is 1 are
/// projected; the others read 0 (callers that mask the result anyway, such as
/// [`crate::CausalLm::sequence_logprobs`], skip the work). Requires
/// [`fused_head_available`].
pub fn fused_next_token_stats(
    hidden: Tensor<3>,
    ids: Tensor<2, Int>,
    proj: &OutputProjection,
    temperature: f32,
    with_entropy: bool,
    block_elements: usize,
    rows: Option<Tensor<2>>,
) -> TokenStats {
    let [b, t, d] = hidden.dims();
    let device = hidden.device();
    let n = b * t.saturating_sub(1);
    if n == 0 {
        return TokenStats {
            logprobs: Tensor::zeros([b, 0], &device),
            entropy: with_entropy.then(|| Tensor::zeros([b, 0], &device)),
        };
    }
    let h = hidden.narrow(1, 0, t - 1).reshape([n, d]);
    let targets = host_ids(ids.narrow(1, 1, t - 1));
    let stats = match rows {
        None => fused_logprob_entropy(h, proj, targets, temperature, block_elements),
        Some(rows) => {
            let keep: Vec<f32> = rows
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap_or_default();
            let active: Vec<i64> = (0..n as i64).filter(|&i| keep[i as usize] != 0.0).collect();
            if active.len() == n {
                fused_logprob_entropy(h, proj, targets, temperature, block_elements)
            } else {
                let na = active.len();
                let sub_targets = active.iter().map(|&i| targets[i as usize]).collect();
                let out = Tensor::<2>::zeros([n, 2], &device);
                if na == 0 {
                    // Keep the graph connected to `h` so that gradients (all zero) reach it.
                    out + h.narrow(1, 0, 1).mul_scalar(0.0).repeat_dim(1, 2)
                } else {
                    let idx = Tensor::<1, Int>::from_data(TensorData::new(active, [na]), &device);
                    let part = fused_logprob_entropy(
                        h.select(0, idx.clone()),
                        proj,
                        sub_targets,
                        temperature,
                        block_elements,
                    );
                    out.select_assign(0, idx, part, IndexingUpdateOp::Add)
                }
            }
        }
    };
    let col = |c: usize| stats.clone().narrow(1, c, 1).reshape([b, t - 1]);
    TokenStats {
        logprobs: col(0),
        entropy: with_entropy.then(|| col(1)),
    }
}

/// Entropy at every position through the fused op, `[B, T, d] → [B, T]` (the target column is
/// computed for token 0 and dropped).
pub fn fused_token_entropy(
    hidden: Tensor<3>,
    proj: &OutputProjection,
    block_elements: usize,
) -> Tensor<2> {
    let [b, t, d] = hidden.dims();
    let stats = fused_logprob_entropy(
        hidden.reshape([b * t, d]),
        proj,
        vec![0; b * t],
        1.0,
        block_elements,
    );
    stats.narrow(1, 1, 1).reshape([b, t])
}

/// How [`next_tokens`] picks each row's next token.
#[derive(Clone, Debug)]
pub enum Pick {
    /// `argmax_v z_v`; its log-prob under `softmax(z)`.
    Greedy,
    /// Inverse-CDF sampling from `softmax(z/τ)` restricted to the `top_k` largest logits
    /// (ties included; all when `None`): the first token whose cumulative mass exceeds
    /// `u·total`, with one uniform `u ∈ [0, 1)` per row (`uniforms`, drawn by the caller from
    /// its seeded host RNG). The log-prob is under the full `softmax(z/τ)` (top-k not
    /// applied), as TRL and verl define the policy's log-probs.
    Sample {
        /// `τ > 0`.
        temperature: f32,
        /// Keep only the `k` largest logits.
        top_k: Option<usize>,
        /// One uniform per row.
        uniforms: Vec<f32>,
    },
}

/// The tokens [`next_tokens`] picked and their log-probs, one per row.
#[derive(Clone, Debug, PartialEq)]
pub struct NextTokens {
    /// Token ids.
    pub tokens: Vec<u32>,
    /// Log-probs of those tokens (see [`Pick`]).
    pub logprobs: Vec<f32>,
}

/// Whether [`next_tokens`] runs for these tensors: f32 on a plain (no autodiff) Flex device,
/// and not switched off by [`FUSED_HEAD_ENV`]`=0`.
pub fn next_tokens_available(
    hidden_dtype: DType,
    device: &Device,
    proj: &OutputProjection,
) -> bool {
    cfg!(feature = "flex")
        && fused_enabled()
        && hidden_dtype == DType::F32
        && proj.weight().dtype() == DType::F32
        && !device.is_autodiff()
        && crate::device::is_flex(device)
}

/// The next token of each row of `hidden: [B, d]` (last hidden states of a decoding step)
/// without a device-side softmax: the logits `z = h·Wᵀ + b` are computed on the host in one
/// pass over the weights (a small-batch kernel: the weights are read once, not packed),
/// then each row is sampled with [`Pick`] in two passes over its logits (max and
/// `Σ exp`, then the inverse CDF). `None` when the tensors are not f32 on a plain Flex
/// device (use the device path then).
pub fn next_tokens(hidden: Tensor<2>, proj: &OutputProjection, pick: &Pick) -> Option<NextTokens> {
    #[cfg(feature = "flex")]
    {
        use burn::backend::Flex;
        if hidden.dtype() != DType::F32 || proj.weight().dtype() != DType::F32 {
            return None;
        }
        let (weight, bias, vocab_major) = match proj {
            OutputProjection::Tied(e) => (e.clone(), None, true),
            OutputProjection::Linear { weight, bias } => (weight.clone(), bias.clone(), false),
        };
        let spec = HeadSpec {
            vocab_major,
            has_bias: bias.is_some(),
            temperature: 1.0,
            block_elements: 0,
        };
        let h = hidden.try_into_primitive::<Flex>().ok()?;
        let w = weight.try_into_primitive::<Flex>().ok()?;
        let b = match bias {
            Some(b) => Some(b.try_into_primitive::<Flex>().ok()?),
            None => None,
        };
        Some(flex::next_tokens(&h, &w, b.as_ref(), &spec, pick))
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = (hidden, proj, pick);
        None
    }
}

fn host_ids(ids: Tensor<2, Int>) -> Vec<u32> {
    ids.into_data()
        .try_into_vec_as::<i64>()
        .unwrap_or_default()
        .into_iter()
        .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
        .collect()
}
