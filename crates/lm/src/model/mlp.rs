//! Feed-forward blocks: gated (SwiGLU for Llama, GeGLU-tanh for Gemma) and GELU (GPT-2).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::gelu_approximate;
use burn::tensor::{Device, Tensor};

use crate::config::{MlpKind, TransformerConfig};
use crate::glu_op::gated_activation;
use crate::lora::{LoraAdapter, linear_with_lora};

/// The activation applied to the gate projection of a gated feed-forward block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GateActivation {
    /// `silu(x) = x·σ(x)`: SwiGLU (Shazeer 2020), as in Llama.
    #[default]
    Silu,
    /// The tanh approximation of GELU (Hendrycks & Gimpel 2016), `gelu_pytorch_tanh` in
    /// Hugging Face: GeGLU as in Gemma.
    GeluTanh,
}

/// `down(act(gate(x)) ⊙ up(x))` when `gate` is present (gated linear unit, Shazeer 2020,
/// with `act` = silu for Llama or gelu-tanh for Gemma), else `down(gelu_tanh(up(x)))` (GPT-2).
///
/// Each projection may carry a LoRA adapter (`gate_lora`, `up_lora`, `down_lora`, see
/// [`crate::lora`]).
#[derive(Module, Debug)]
pub struct Mlp {
    /// Gate projection (gated blocks only), `d_model → d_ff`.
    pub gate: Option<Linear>,
    /// Up projection, `d_model → d_ff`.
    pub up: Linear,
    /// Down projection, `d_ff → d_model`.
    pub down: Linear,
    /// Activation of the gate projection (unused without a gate).
    #[module(skip)]
    pub gate_act: GateActivation,
    /// LoRA adapter of the gate projection.
    pub gate_lora: Option<LoraAdapter>,
    /// LoRA adapter of the up projection.
    pub up_lora: Option<LoraAdapter>,
    /// LoRA adapter of the down projection.
    pub down_lora: Option<LoraAdapter>,
}

impl Mlp {
    /// Randomly initialised block for `config`.
    pub(crate) fn new(config: &TransformerConfig, init: &mut super::Init, device: &Device) -> Self {
        let mut lin = |i, o| init.linear(i, o, config.has_mlp_bias(), device);
        let gate = (config.mlp == MlpKind::SwiGlu).then(|| lin(config.d_model, config.d_ff));
        let up = lin(config.d_model, config.d_ff);
        let down = lin(config.d_ff, config.d_model);
        Self::from_projections(gate, up, down, GateActivation::Silu)
    }

    /// A block over the given projections (`[in, out]` layout), without adapters.
    pub fn from_projections(
        gate: Option<Linear>,
        up: Linear,
        down: Linear,
        gate_act: GateActivation,
    ) -> Self {
        Self {
            gate,
            up,
            down,
            gate_act,
            gate_lora: None,
            up_lora: None,
            down_lora: None,
        }
    }

    /// `[B, T, d_model] → [B, T, d_model]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = match &self.gate {
            Some(gate) => {
                let g = linear_with_lora(gate, self.gate_lora.as_ref(), x.clone());
                let u = linear_with_lora(&self.up, self.up_lora.as_ref(), x);
                gated_activation(g, u, self.gate_act)
            }
            None => gelu_approximate(linear_with_lora(&self.up, self.up_lora.as_ref(), x)),
        };
        linear_with_lora(&self.down, self.down_lora.as_ref(), h)
    }
}
