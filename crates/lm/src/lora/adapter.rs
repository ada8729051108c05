//! One low-rank adapter and the projection it modifies.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::RngExt;
use rand::rngs::StdRng;

use super::config::LoraInit;

/// A LoRA adapter of one projection `d_in → d_out`: `ΔW = s·A·B` (Hu et al. 2021).
///
/// Factors are stored in burn's `[in, out]` layout, i.e. transposed with respect to PEFT's
/// `lora_A.weight: [r, d_in]` and `lora_B.weight: [d_out, r]`.
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// `A: [d_in, r]`.
    pub a: Param<Tensor<2>>,
    /// `B: [r, d_out]`.
    pub b: Param<Tensor<2>>,
    /// `s`: `alpha / r` (or `alpha / √r` with rsLoRA).
    #[module(skip)]
    pub scale: f64,
    /// Dropout probability on the adapter input (training devices only).
    #[module(skip)]
    pub dropout: f64,
    /// Whether the adapter contributes; a disabled adapter costs nothing in the forward pass.
    #[module(skip)]
    pub enabled: bool,
}

impl LoraAdapter {
    /// A fresh adapter for a `d_in → d_out` projection, drawn from `rng` by `init` (see
    /// [`LoraInit`]).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        d_in: usize,
        d_out: usize,
        rank: usize,
        scale: f64,
        dropout: f64,
        init: LoraInit,
        rng: &mut StdRng,
        device: &Device,
    ) -> Self {
        let a = match init {
            LoraInit::KaimingUniform | LoraInit::Random => {
                uniform_from(rng, d_in * rank, 1.0 / (d_in as f64).sqrt())
            }
            LoraInit::Gaussian => gaussian(rng, d_in * rank, 1.0 / rank as f64),
        };
        let b = match init {
            LoraInit::Random => uniform_from(rng, rank * d_out, 1.0 / (rank as f64).sqrt()),
            _ => vec![0.0; rank * d_out],
        };
        Self::from_factors(
            Tensor::from_data(TensorData::new(a, [d_in, rank]), device),
            Tensor::from_data(TensorData::new(b, [rank, d_out]), device),
            scale,
            dropout,
        )
    }

    /// An enabled adapter with the given factors `A: [d_in, r]`, `B: [r, d_out]`.
    pub fn from_factors(a: Tensor<2>, b: Tensor<2>, scale: f64, dropout: f64) -> Self {
        Self {
            a: Param::from_tensor(a),
            b: Param::from_tensor(b),
            scale,
            dropout,
            enabled: true,
        }
    }

    /// Rank `r`.
    pub fn rank(&self) -> usize {
        self.a.dims()[1]
    }

    /// `ΔW = s·A·B`, `[d_in, d_out]`, detached from any graph.
    pub fn delta(&self) -> Tensor<2> {
        (self.a.val().matmul(self.b.val()) * self.scale).detach()
    }

    /// The adapter's contribution `s·(dropout(x)·A)·B` for `x: [.., d_in]`. Never forms
    /// `ΔW`: the products go through the rank-`r` bottleneck, so training holds only
    /// `[.., r]` activations besides `x`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let x = if self.dropout > 0.0 && x.device().is_autodiff() {
            let keep = 1.0 - self.dropout;
            let m = x.random_like(Distribution::Bernoulli(keep));
            x * m / keep
        } else {
            x
        };
        x.matmul(self.a.val().unsqueeze())
            .matmul(self.b.val().unsqueeze())
            * self.scale
    }
}

/// `base(x)` plus the adapter's contribution when there is an enabled adapter.
pub fn linear_with_lora<const D: usize>(
    base: &Linear,
    lora: Option<&LoraAdapter>,
    x: Tensor<D>,
) -> Tensor<D> {
    match lora {
        Some(adapter) if adapter.enabled => {
            crate::linear_op::linear(base, x.clone()) + adapter.forward(x)
        }
        _ => crate::linear_op::linear(base, x),
    }
}

/// `base` with `ΔW` of `adapter` added to its weight (same parameter id and trainability).
pub(crate) fn merged(base: Linear, adapter: &LoraAdapter) -> Linear {
    let delta = adapter.delta();
    Linear {
        weight: base.weight.map(|w| w + delta),
        bias: base.bias,
    }
}

/// `n` draws of U(−bound, bound).
fn uniform_from(rng: &mut StdRng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

/// `n` draws of N(0, std²) (Box–Muller).
fn gaussian(rng: &mut StdRng, n: usize, std: f64) -> Vec<f32> {
    let mut v = Vec::with_capacity(n + 1);
    while v.len() < n {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let t = std::f64::consts::TAU * u2;
        v.push((r * t.cos()) as f32);
        v.push((r * t.sin()) as f32);
    }
    v.truncate(n);
    v
}
