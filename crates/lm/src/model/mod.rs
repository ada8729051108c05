//! The reference decoder-only transformer, Llama-style or GPT-2-style by configuration.

mod attention;
mod block;
mod mlp;
mod norm;
mod rope;
mod transformer;

pub use attention::{Attention, MASKED_SCORE};
pub use block::Block;
pub use mlp::Mlp;
pub use norm::Norm;
pub use rope::{Rope, RopeTables};
pub use transformer::Transformer;

use burn::nn::{Initializer, Linear, LinearConfig};
use burn::tensor::Device;

/// N(0, 0.02²), the initialisation of GPT-2 and Llama.
pub(crate) fn init_normal() -> Initializer {
    Initializer::Normal { mean: 0.0, std: 0.02 }
}

/// A projection with N(0, 0.02²) weights and, if asked, zero biases.
pub(crate) fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    let mut lin = LinearConfig::new(d_in, d_out)
        .with_bias(false)
        .with_initializer(init_normal())
        .init(device);
    if bias {
        lin.bias = Some(Initializer::Zeros.init([d_out], device));
    }
    lin
}
