//! Feed-forward blocks: gated (SwiGLU for Llama, GeGLU-tanh for Gemma) and GELU (GPT-2).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{gelu_approximate, silu};
use burn::tensor::{Device, Tensor};

use crate::config::{MlpKind, TransformerConfig};

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
}

impl Mlp {
    /// Randomly initialised block for `config`.
    pub(crate) fn new(config: &TransformerConfig, init: &mut super::Init, device: &Device) -> Self {
        let mut lin = |i, o| init.linear(i, o, config.bias, device);
        let gate = (config.mlp == MlpKind::SwiGlu).then(|| lin(config.d_model, config.d_ff));
        Self {
            gate,
            up: lin(config.d_model, config.d_ff),
            down: lin(config.d_ff, config.d_model),
            gate_act: GateActivation::Silu,
        }
    }

    /// `[B, T, d_model] → [B, T, d_model]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = match &self.gate {
            Some(gate) => {
                let g = gate.forward(x.clone());
                let g = match self.gate_act {
                    GateActivation::Silu => silu(g),
                    GateActivation::GeluTanh => gelu_approximate(g),
                };
                g * self.up.forward(x)
            }
            None => gelu_approximate(self.up.forward(x)),
        };
        self.down.forward(h)
    }
}
