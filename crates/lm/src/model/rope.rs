//! Rotary position embeddings with per-row positions (left-padded batches).

use burn::tensor::{Device, Int, Tensor};

/// Cos/sin tables for one forward pass, shaped `[B, 1, T, head_dim / 2]`.
#[derive(Clone, Debug)]
pub struct RopeTables {
    cos: Tensor<4>,
    sin: Tensor<4>,
}

/// Rotary embedding (Su et al. 2021, "RoFormer", eq. 34) in the rotate-half layout of
/// Hugging Face Llama: the first and second halves of each head form the rotated pairs.
///
/// ```text
/// θ_i      = base^(−2i/d),  i = 0 .. d/2
/// x = [x₁, x₂]  (halves)
/// rope(x, p) = [x₁·cos(pθ) − x₂·sin(pθ),  x₂·cos(pθ) + x₁·sin(pθ)]
/// ```
///
/// burn's own `RotaryEncoding` rotates interleaved pairs and takes one offset for the whole
/// batch; left-padded batches need a position per row, hence this module.
#[derive(Clone, Debug)]
pub struct Rope {
    inv_freq: Vec<f32>,
}

impl Rope {
    /// Inverse frequencies for heads of width `head_dim` and base `theta`.
    pub fn new(head_dim: usize, theta: f64) -> Self {
        let half = head_dim / 2;
        let inv_freq = (0..half)
            .map(|i| (1.0 / theta.powf((2 * i) as f64 / head_dim as f64)) as f32)
            .collect();
        Self { inv_freq }
    }

    /// Tables for positions `[B, T]`.
    pub fn tables(&self, positions: Tensor<2, Int>, device: &Device) -> RopeTables {
        let [b, t] = positions.dims();
        let half = self.inv_freq.len();
        let inv = Tensor::<1>::from_floats(self.inv_freq.as_slice(), device).reshape([1, 1, half]);
        let freqs = positions.float().reshape([b, t, 1]) * inv;
        let freqs = freqs.reshape([b, 1, t, half]);
        RopeTables {
            cos: freqs.clone().cos(),
            sin: freqs.sin(),
        }
    }

    /// Rotates `x: [B, H, T, head_dim]`.
    pub fn apply(x: Tensor<4>, tables: &RopeTables) -> Tensor<4> {
        let [_, _, _, d] = x.dims();
        let half = d / 2;
        let x1 = x.clone().narrow(3, 0, half);
        let x2 = x.narrow(3, half, half);
        let (cos, sin) = (tables.cos.clone(), tables.sin.clone());
        Tensor::cat(
            vec![
                x1.clone() * cos.clone() - x2.clone() * sin.clone(),
                x2 * cos + x1 * sin,
            ],
            3,
        )
    }
}
