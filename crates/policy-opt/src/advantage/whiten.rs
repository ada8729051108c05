//! Masked whitening of advantages and rewards (zero mean, unit variance over the selection).

use burn::tensor::{Bool, Tensor};
use kl_control::TokenMask;

use crate::rl_error::{RlResult, bool_mask, check_non_empty};

/// The ε inside `rsqrt(var + ε)` of TRL's and verl's `masked_whiten`.
pub const WHITEN_EPS: f64 = 1e-8;

/// Whitens `values [B, T]` over the positions selected by `mask`, as TRL's `masked_whiten`
/// (`trl/experimental/ppo/ppo_trainer.py`, with `masked_mean` and `masked_var`; formerly
/// `trl/core.py`; verl's `verl_F.masked_whiten` is the same):
///
/// ```text
/// n    = Σ m                                   (over the whole batch)
/// μ    = Σ m·x / n
/// σ²   = Σ m·(x − μ)² / n · n / (n − 1)         (unbiased)
/// out  = (x − μ) · rsqrt(σ² + 1e-8)  (+ μ when shift_mean = false)
/// out  = 0 outside the mask
/// ```
///
/// One mean and variance for all selected tokens of the batch (PPO whitens the GAE advantages
/// over the rollout batch this way). `shift_mean = false` keeps the mean and only rescales, as
/// TRL's PPO `whiten_rewards` does.
///
/// Where TRL divides by zero, this returns finite values: with no selected token the output is
/// all 0; with exactly one, σ² is taken as 0 (TRL's Bessel factor `n/(n − 1)` is infinite there,
/// giving NaN), so that token becomes 0 (or μ, i.e. itself, with `shift_mean = false`). A
/// constant selection has σ² = 0 and gives `(x − μ)·10⁴`: 0 up to the rounding of μ.
///
/// Runs on the device (f32) and is differentiable, though it is normally applied to detached
/// values. Values outside the mask are ignored (NaN there is harmless).
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `mask` is not the `[B, T]` of `values` or a
/// dimension is 0.
pub fn masked_whiten(
    values: Tensor<2>,
    mask: impl TokenMask,
    shift_mean: bool,
) -> RlResult<Tensor<2>> {
    const PLACE: &str = "masked_whiten";
    let dims = values.dims();
    check_non_empty(PLACE, "values", &dims)?;
    let mask = bool_mask(PLACE, dims, mask)?;
    Ok(whiten_selected(values, mask, shift_mean))
}

/// [`masked_whiten`] of a plain vector `[N]` (every entry selected): reward normalisation over
/// a batch of sequence-level rewards, e.g. `(r − mean) / std` before GAE or RLOO.
///
/// ```text
/// out = (x − mean(x)) · rsqrt(var_unbiased(x) + 1e-8)  (+ mean(x) when shift_mean = false)
/// ```
///
/// A single reward gives 0 (or itself, with `shift_mean = false`).
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `values` is empty.
pub fn whiten(values: Tensor<1>, shift_mean: bool) -> RlResult<Tensor<1>> {
    let [n] = values.dims();
    check_non_empty("whiten", "values", &[n])?;
    let x = values.reshape([1, n]);
    let mask = Tensor::<2, Bool>::from_bool(
        burn::tensor::TensorData::new(vec![true; n], [1, n]),
        &x.device(),
    );
    Ok(whiten_selected(x, mask, shift_mean).reshape([n]))
}

fn whiten_selected(values: Tensor<2>, mask: Tensor<2, Bool>, shift_mean: bool) -> Tensor<2> {
    let off = mask.clone().bool_not();
    let x = values.mask_fill(off.clone(), 0.0);
    let count = mask.float().sum(); // [1]
    let n = count.clone().clamp_min(1.0);
    let mean = (x.clone().sum() / n.clone()).reshape([1, 1]);
    let centered = (x - mean.clone()).mask_fill(off.clone(), 0.0);
    let biased = centered.clone().powi_scalar(2).sum() / n;
    // n / (n − 1) for n ≥ 2; for n ≤ 1 the biased variance is exactly 0 and any factor works.
    let bessel = count.clone() / (count - 1.0).clamp_min(1.0);
    let var = (biased * bessel).reshape([1, 1]);
    let scale = (var + WHITEN_EPS).sqrt().recip();
    let mut out = centered * scale;
    if !shift_mean {
        out = out + mean;
    }
    out.mask_fill(off, 0.0)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{m2, rows, t1, t2, v1};
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// [1, 2, 3, 6] selected: μ = 3, σ² = (4 + 1 + 0 + 9)/3 = 14/3.
    #[test]
    fn hand_computed() {
        let x = t2(&[&[1.0, 2.0, 99.0], &[3.0, f32::NAN, 6.0]]);
        let m = m2(&[&[1, 1, 0], &[1, 0, 1]]);
        let w = rows(masked_whiten(x.clone(), m.clone(), true).unwrap());
        let s = (14.0f64 / 3.0 + 1e-8).sqrt();
        let want = [[-2.0 / s, -1.0 / s, 0.0], [0.0, 0.0, 3.0 / s]];
        for (g, w) in w.iter().flatten().zip(want.iter().flatten()) {
            assert_relative_eq!(*g as f64, *w, epsilon = 1e-6);
        }
        // shift_mean = false adds μ = 3 back on the mask only.
        let w = rows(masked_whiten(x, m, false).unwrap());
        assert_relative_eq!(w[0][0] as f64, 3.0 - 2.0 / s, epsilon = 1e-6);
        assert_eq!(w[0][2], 0.0);
        assert_eq!(w[1][1], 0.0);
        let v = v1(whiten(t1(&[1.0, 2.0, 3.0, 6.0]), true).unwrap());
        assert_relative_eq!(v[3] as f64, 3.0 / s, epsilon = 1e-6);
    }

    /// No token: zeros; one token: 0 (or the value itself without mean shift); one reward: 0.
    #[test]
    fn degenerate_selections_are_finite() {
        let x = t2(&[&[4.0, 5.0]]);
        let none = rows(masked_whiten(x.clone(), m2(&[&[0, 0]]), true).unwrap());
        assert_eq!(none, vec![vec![0.0, 0.0]]);
        let one = rows(masked_whiten(x.clone(), m2(&[&[0, 1]]), true).unwrap());
        assert_eq!(one, vec![vec![0.0, 0.0]]);
        let one = rows(masked_whiten(x, m2(&[&[0, 1]]), false).unwrap());
        assert_eq!(one, vec![vec![0.0, 5.0]]);
        assert_eq!(v1(whiten(t1(&[7.5]), true).unwrap()), vec![0.0]);
        assert_eq!(v1(whiten(t1(&[7.5]), false).unwrap()), vec![7.5]);
        assert_eq!(
            whiten(t1(&[]), true).unwrap_err().to_string(),
            "whiten: `values` has shape [0], expected no dimension of size 0"
        );
    }

    fn case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<i32>)> {
        (1usize..5, 2usize..9).prop_flat_map(|(b, t)| {
            (
                Just(b),
                Just(t),
                proptest::collection::vec(-10.0f32..10.0, b * t),
                proptest::collection::vec(0i32..2, b * t),
            )
        })
    }

    proptest! {
        /// Over the mask: mean 0 and unbiased variance 1 (for a spread-out selection of at
        /// least two tokens); exactly 0 off the mask.
        #[test]
        fn zero_mean_unit_variance_on_the_mask((b, t, x, m) in case()) {
            let sel: Vec<f64> = x.iter().zip(&m).filter(|(_, m)| **m != 0)
                .map(|(x, _)| *x as f64).collect();
            let n = sel.len() as f64;
            let mu = sel.iter().sum::<f64>() / n.max(1.0);
            let var = sel.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            prop_assume!(sel.len() >= 2 && var > 1e-2);
            let xr: Vec<&[f32]> = x.chunks(t).collect();
            let mr: Vec<&[i32]> = m.chunks(t).collect();
            let w = rows(masked_whiten(t2(&xr), m2(&mr), true).unwrap());
            let flat: Vec<f32> = w.into_iter().flatten().collect();
            prop_assert_eq!(flat.len(), b * t);
            let ws: Vec<f64> = flat.iter().zip(&m).filter(|(_, m)| **m != 0)
                .map(|(w, _)| *w as f64).collect();
            for (w, m) in flat.iter().zip(&m) {
                if *m == 0 {
                    prop_assert_eq!(*w, 0.0);
                }
            }
            let wm = ws.iter().sum::<f64>() / n;
            let wv = ws.iter().map(|v| (v - wm).powi(2)).sum::<f64>() / (n - 1.0);
            prop_assert!(wm.abs() < 1e-4, "mean {}", wm);
            prop_assert!((wv - 1.0).abs() < 1e-4, "var {}", wv);
        }
    }
}
