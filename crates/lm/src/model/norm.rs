//! RMSNorm and LayerNorm behind one module, so a block's layout does not depend on the choice.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::config::NormKind;

/// Normalisation over the last dimension.
///
/// ```text
/// RMSNorm:   y = x / sqrt(mean(x²) + ε) · γ                  (Zhang & Sennrich 2019)
/// LayerNorm: y = (x − mean(x)) / sqrt(var(x) + ε) · γ + β    (Ba et al. 2016, biased var)
/// ```
#[derive(Module, Debug)]
pub struct Norm {
    /// Scale γ, `[d_model]`.
    pub gamma: Param<Tensor<1>>,
    /// Shift β, `[d_model]` (LayerNorm only).
    pub beta: Option<Param<Tensor<1>>>,
    /// ε.
    #[module(skip)]
    pub eps: f64,
}

impl Norm {
    /// γ = 1 (and β = 0 for LayerNorm).
    pub fn new(kind: NormKind, d_model: usize, eps: f64, device: &Device) -> Self {
        let beta = match kind {
            NormKind::Layer => Some(Param::from_tensor(Tensor::zeros([d_model], device))),
            NormKind::Rms => None,
        };
        Self {
            gamma: Param::from_tensor(Tensor::ones([d_model], device)),
            beta,
            eps,
        }
    }

    /// Applies the norm to `[.., d_model]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let gamma = self.gamma.val().unsqueeze::<D>();
        match &self.beta {
            None => {
                let rms = (x.clone().square().mean_dim(D - 1) + self.eps).sqrt();
                x / rms * gamma
            }
            Some(beta) => {
                let (var, mean) = x.clone().var_mean_bias(D - 1);
                (x - mean) / (var + self.eps).sqrt() * gamma + beta.val().unsqueeze::<D>()
            }
        }
    }
}
