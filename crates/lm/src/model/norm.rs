//! RMSNorm and LayerNorm behind one module, so a block's layout does not depend on the choice.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

use crate::config::NormKind;

/// Normalisation over the last dimension.
///
/// ```text
/// RMSNorm:   y = x / sqrt(mean(x²) + ε) · (γ + o)            (Zhang & Sennrich 2019)
/// LayerNorm: y = (x − mean(x)) / sqrt(var(x) + ε) · γ + β    (Ba et al. 2016, biased var)
/// ```
///
/// The scale offset `o` is 0 for Llama and 1 for Gemma, whose RMSNorm stores `γ` centred on
/// zero and scales by `1 + γ` (Hugging Face `Gemma3RMSNorm`; see [`Norm::gemma`]).
#[derive(Module, Debug)]
pub struct Norm {
    /// Scale γ, `[d_model]`.
    pub gamma: Param<Tensor<1>>,
    /// Shift β, `[d_model]` (LayerNorm only).
    pub beta: Option<Param<Tensor<1>>>,
    /// ε.
    #[module(skip)]
    pub eps: f64,
    /// Offset `o` added to γ before scaling (RMSNorm only): 0, or 1 for Gemma.
    #[module(skip)]
    pub gamma_offset: f64,
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
            gamma_offset: 0.0,
        }
    }

    /// Gemma's RMSNorm: `y = x / sqrt(mean(x²) + ε) · (1 + γ)` with γ = 0 (the identity
    /// scale), as Hugging Face `Gemma3RMSNorm` initialises and computes it.
    pub fn gemma(d_model: usize, eps: f64, device: &Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::zeros([d_model], device)),
            beta: None,
            eps,
            gamma_offset: 1.0,
        }
    }

    /// Applies the norm to `[.., d_model]`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match &self.beta {
            None => crate::rms_norm_op::rms_norm(x, self.gamma.val(), self.eps, self.gamma_offset),
            Some(beta) => {
                let gamma = self.gamma.val().unsqueeze::<D>();
                let (var, mean) = x.clone().var_mean_bias(D - 1);
                (x - mean) / (var + self.eps).sqrt() * gamma + beta.val().unsqueeze::<D>()
            }
        }
    }
}
