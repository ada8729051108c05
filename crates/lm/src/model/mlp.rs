//! Feed-forward blocks: SwiGLU (Llama) and GELU (GPT-2).

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::activation::{gelu_approximate, silu};
use burn::tensor::{Device, Tensor};

use crate::config::{MlpKind, TransformerConfig};

/// `down(silu(gate(x)) ⊙ up(x))` when `gate` is present (SwiGLU, Shazeer 2020),
/// else `down(gelu_tanh(up(x)))` (GPT-2).
#[derive(Module, Debug)]
pub struct Mlp {
    /// Gate projection (SwiGLU only), `d_model → d_ff`.
    pub gate: Option<Linear>,
    /// Up projection, `d_model → d_ff`.
    pub up: Linear,
    /// Down projection, `d_ff → d_model`.
    pub down: Linear,
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
        }
    }

    /// `[B, T, d_model] → [B, T, d_model]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = match &self.gate {
            Some(gate) => silu(gate.forward(x.clone())) * self.up.forward(x),
            None => gelu_approximate(self.up.forward(x)),
        };
        self.down.forward(h)
    }
}
