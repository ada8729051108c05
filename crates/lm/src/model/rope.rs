//! Rotary position embeddings with per-row positions (left-padded batches), optionally
//! scaled for longer contexts (linear, dynamic NTK, Llama 3).

use burn::tensor::{Device, Int, Tensor};
use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use crate::error::LmError;

/// Cos/sin tables for one forward pass, shaped `[B, 1, T, head_dim / 2]`.
#[derive(Clone, Debug)]
pub struct RopeTables {
    cos: Tensor<4>,
    sin: Tensor<4>,
}

/// How RoPE's inverse frequencies are stretched for contexts longer than the pre-training
/// one, as Hugging Face's `rope_scaling` / `rope_parameters` (`rope_type`) describes it
/// (`transformers.modeling_rope_utils`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rope_type")]
pub enum RopeScaling {
    /// Position interpolation (Chen et al. 2023; kaiokendev): every inverse frequency is
    /// divided by `factor`.
    Linear {
        /// Context extension factor.
        factor: f64,
    },
    /// Dynamic NTK scaling (bloc97, emozilla): while the longest sequence `L` of a forward
    /// pass (largest position + 1) exceeds `max_position_embeddings`, the base becomes
    /// `θ · (factor·L / max_position_embeddings − (factor − 1))^(d / (d − 2))`.
    ///
    /// Hugging Face keeps the frequencies of the longest sequence seen so far until a call
    /// shorter than `max_position_embeddings` resets them; here every forward pass uses the
    /// frequencies of its own longest sequence, which is the same on a fresh model and
    /// whenever calls do not shrink (as in cached decoding).
    Dynamic {
        /// Context extension factor.
        factor: f64,
        /// Pre-training context (`max_position_embeddings` of the config).
        max_position_embeddings: usize,
    },
    /// Llama 3.1's band-wise scaling: wavelengths shorter than
    /// `original_max_position_embeddings / high_freq_factor` are kept, those longer than
    /// `original_max_position_embeddings / low_freq_factor` are divided by `factor`, and
    /// the band between is interpolated smoothly.
    Llama3 {
        /// Scaling of the long wavelengths (8 in Llama 3.1, 32 in Llama 3.2).
        factor: f64,
        /// Lower edge of the smoothing band (1 in Llama 3.x).
        low_freq_factor: f64,
        /// Upper edge of the smoothing band (4 in Llama 3.x).
        high_freq_factor: f64,
        /// Pre-training context (8 192 in Llama 3.x).
        original_max_position_embeddings: usize,
    },
}

impl RopeScaling {
    /// Checks the numbers (`field` names the config field in errors).
    pub fn validate(&self) -> Result<(), LmError> {
        let bad = |field: &str, expected: &str, got: String| {
            Err(ConfigError::new(field, expected, got)
                .within("rope_scaling")
                .into())
        };
        let factor = match *self {
            Self::Linear { factor } => factor,
            Self::Dynamic {
                factor,
                max_position_embeddings,
            } => {
                if max_position_embeddings == 0 {
                    return bad("max_position_embeddings", "at least 1", "0".into());
                }
                factor
            }
            Self::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                if !(low_freq_factor > 0.0 && high_freq_factor > low_freq_factor) {
                    return bad(
                        "low_freq_factor",
                        "0 < low_freq_factor < high_freq_factor",
                        format!("{low_freq_factor} and high_freq_factor {high_freq_factor}"),
                    );
                }
                if original_max_position_embeddings == 0 {
                    return bad("original_max_position_embeddings", "at least 1", "0".into());
                }
                factor
            }
        };
        if !(factor.is_finite() && factor >= 1.0) {
            return bad("factor", "a finite value ≥ 1", factor.to_string());
        }
        Ok(())
    }
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
    head_dim: usize,
    theta: f64,
    dynamic: Option<(f64, usize)>,
}

impl Rope {
    /// Inverse frequencies for heads of width `head_dim` and base `theta`.
    pub fn new(head_dim: usize, theta: f64) -> Self {
        Self {
            inv_freq: inv_freq(head_dim, theta)
                .into_iter()
                .map(|f| f as f32)
                .collect(),
            head_dim,
            theta,
            dynamic: None,
        }
    }

    /// Inverse frequencies scaled by `scaling` (see [`RopeScaling`]).
    pub fn scaled(head_dim: usize, theta: f64, scaling: &RopeScaling) -> Self {
        let base = inv_freq(head_dim, theta);
        let mut rope = Self::new(head_dim, theta);
        match *scaling {
            RopeScaling::Linear { factor } => {
                rope.inv_freq = base.iter().map(|f| (f / factor) as f32).collect();
            }
            RopeScaling::Dynamic {
                factor,
                max_position_embeddings,
            } => rope.dynamic = Some((factor, max_position_embeddings)),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                let old = original_max_position_embeddings as f64;
                let (low_wavelen, high_wavelen) = (old / low_freq_factor, old / high_freq_factor);
                rope.inv_freq = base
                    .iter()
                    .map(|&f| {
                        let wavelen = std::f64::consts::TAU / f;
                        let scaled = if wavelen > low_wavelen { f / factor } else { f };
                        let g = if wavelen < high_wavelen || wavelen > low_wavelen {
                            scaled
                        } else {
                            let s = (old / wavelen - low_freq_factor)
                                / (high_freq_factor - low_freq_factor);
                            (1.0 - s) * scaled / factor + s * scaled
                        };
                        g as f32
                    })
                    .collect();
            }
        }
        rope
    }

    /// The inverse frequencies used for a forward pass whose largest position is
    /// `max_position` (only dynamic scaling depends on it).
    pub fn inv_freq(&self, max_position: usize) -> Vec<f32> {
        match self.dynamic {
            Some((factor, max_pos)) if max_position + 1 > max_pos => {
                let (d, len) = (self.head_dim as f64, (max_position + 1) as f64);
                let stretch = factor * len / max_pos as f64 - (factor - 1.0);
                let base = self.theta * stretch.powf(d / (d - 2.0));
                inv_freq(self.head_dim, base)
                    .into_iter()
                    .map(|f| f as f32)
                    .collect()
            }
            _ => self.inv_freq.clone(),
        }
    }

    /// Tables for positions `[B, T]`.
    pub fn tables(&self, positions: Tensor<2, Int>, device: &Device) -> RopeTables {
        let [b, t] = positions.dims();
        let inv_freq = match self.dynamic {
            // One read of the largest position per forward pass (dynamic scaling only).
            Some(_) => {
                let max = positions.clone().max().into_scalar::<i64>().max(0) as usize;
                self.inv_freq(max)
            }
            None => self.inv_freq.clone(),
        };
        let half = inv_freq.len();
        let inv = Tensor::<1>::from_floats(inv_freq.as_slice(), device).reshape([1, 1, half]);
        let freqs = positions.float().reshape([b, t, 1]) * inv;
        let freqs = freqs.reshape([b, 1, t, half]);
        RopeTables {
            cos: freqs.clone().cos(),
            sin: freqs.sin(),
        }
    }

    /// Rotates `x: [B, H, T, head_dim]`.
    pub fn apply(x: Tensor<4>, tables: &RopeTables) -> Tensor<4> {
        crate::rope_op::rope(x, tables.cos.clone(), tables.sin.clone())
    }
}

/// `θ^(−2i/d)` for `i = 0 .. d/2`, in f64.
fn inv_freq(head_dim: usize, theta: f64) -> Vec<f64> {
    (0..head_dim / 2)
        .map(|i| 1.0 / theta.powf((2 * i) as f64 / head_dim as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_divides_every_frequency() {
        let plain = Rope::new(8, 1e4).inv_freq(0);
        let lin = Rope::scaled(8, 1e4, &RopeScaling::Linear { factor: 4.0 }).inv_freq(0);
        for (a, b) in plain.iter().zip(&lin) {
            assert!((a / 4.0 - b).abs() < 1e-9);
        }
    }

    /// Llama 3.1's published values (factor 8, bands 1 and 4, 8 192 positions, θ = 500 000,
    /// head_dim 128): the highest frequency is kept, the lowest divided by 8.
    #[test]
    fn llama3_keeps_high_and_divides_low_frequencies() {
        let s = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        };
        let plain = Rope::new(128, 5e5).inv_freq(0);
        let scaled = Rope::scaled(128, 5e5, &s).inv_freq(0);
        assert_eq!(plain[0], scaled[0]);
        assert!((plain[63] / 8.0 - scaled[63]).abs() < 1e-12);
        assert!(scaled.iter().zip(&plain).all(|(s, p)| s <= p));
    }

    #[test]
    fn dynamic_changes_only_past_the_original_context() {
        let s = RopeScaling::Dynamic {
            factor: 2.0,
            max_position_embeddings: 16,
        };
        let r = Rope::scaled(8, 1e4, &s);
        assert_eq!(r.inv_freq(15), Rope::new(8, 1e4).inv_freq(15));
        assert!(r.inv_freq(16)[1] < r.inv_freq(15)[1]);
        assert!(r.inv_freq(40)[1] < r.inv_freq(16)[1]);
    }

    #[test]
    fn bad_scaling_names_the_field() {
        let e = RopeScaling::Linear { factor: 0.5 }.validate().unwrap_err();
        assert!(e.to_string().contains("rope_scaling"), "{e}");
    }
}
