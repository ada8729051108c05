//! Moving estimator inputs to the host and results back to the device.
//!
//! The estimators are sequential scans over a few thousand numbers at most, run once per
//! rollout on detached values; they read their inputs as f32, compute in f64 and write f32
//! results to the device the inputs came from.

use burn::tensor::{Bool, Device, Tensor, TensorData};

use crate::rl_error::{RlError, RlResult};

/// The values of `x` (any float dtype) as f64, row-major.
pub(crate) fn read_values<const D: usize>(
    place: &'static str,
    argument: &'static str,
    x: Tensor<D>,
) -> RlResult<Vec<f64>> {
    let v = x.try_into_vec_as::<f32>().map_err(|e| RlError::Device {
        place,
        argument,
        message: e.to_string(),
    })?;
    Ok(v.into_iter().map(f64::from).collect())
}

/// The mask as booleans, row-major.
pub(crate) fn read_mask(place: &'static str, mask: Tensor<2, Bool>) -> RlResult<Vec<bool>> {
    let v = mask
        .float()
        .try_into_vec_as::<f32>()
        .map_err(|e| RlError::Device {
            place,
            argument: "mask",
            message: e.to_string(),
        })?;
    Ok(v.into_iter().map(|x| x != 0.0).collect())
}

/// Checks that every value of a `[rows, width]` matrix selected by `mask` (all of them when
/// `None`) is finite. The error's index is `[i]` for a vector (`width == 0`), `[b, t]` else.
pub(crate) fn check_selected_finite(
    place: &'static str,
    argument: &'static str,
    values: &[f64],
    mask: Option<&[bool]>,
    width: usize,
) -> RlResult<()> {
    let bad = values
        .iter()
        .enumerate()
        .find(|(i, v)| mask.is_none_or(|m| m[*i]) && !v.is_finite());
    match bad {
        None => Ok(()),
        Some((i, v)) => Err(RlError::NonFinite {
            place,
            argument,
            index: match i.checked_div(width) {
                None => vec![i],
                Some(row) => vec![row, i % width],
            },
            got: *v as f32,
        }),
    }
}

/// The positions `t` of row `row` with `mask[row, t]` set, in order.
pub(crate) fn selected_positions(mask: &[bool], row: usize, t: usize) -> Vec<usize> {
    (0..t).filter(|&j| mask[row * t + j]).collect()
}

/// A `[b, t]` f32 tensor on `device` from row-major f64 values.
pub(crate) fn write_matrix(values: &[f64], dims: [usize; 2], device: &Device) -> Tensor<2> {
    let v: Vec<f32> = values.iter().map(|x| *x as f32).collect();
    Tensor::from_data(TensorData::new(v, dims), device)
}

/// A `[n]` f32 tensor on `device` from f64 values.
pub(crate) fn write_vector(values: &[f64], device: &Device) -> Tensor<1> {
    let v: Vec<f32> = values.iter().map(|x| *x as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len()]), device)
}

/// The mean of `xs` computed as `x₀ + mean(xᵢ − x₀)`: exact (every deviation exactly 0) when
/// all values are equal, which the naive `Σ xᵢ / n` is not in floating point.
pub(crate) fn shifted_mean(xs: &[f64]) -> f64 {
    match xs.first() {
        None => 0.0,
        Some(&x0) => x0 + xs.iter().map(|x| x - x0).sum::<f64>() / xs.len() as f64,
    }
}

/// The unbiased (Bessel-corrected) standard deviation of `xs` around `mean`; 0 for fewer than
/// two values (where TRL's `nanstd` gives NaN, which its callers then avoid or zero).
pub(crate) fn unbiased_std(xs: &[f64], mean: f64) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_mean_is_exact_for_equal_values() {
        let xs = [0.1f64; 7];
        assert_eq!(shifted_mean(&xs), 0.1);
        assert!(xs.iter().all(|x| x - shifted_mean(&xs) == 0.0));
        assert_eq!(shifted_mean(&[1.0, 2.0, 6.0]), 3.0);
        assert_eq!(shifted_mean(&[]), 0.0);
        assert_eq!(unbiased_std(&[2.0], 2.0), 0.0);
        assert!((unbiased_std(&[1.0, 3.0], 2.0) - 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn non_finite_positions_are_reported() {
        let v = [1.0, f64::NAN, f64::INFINITY, 2.0];
        let m = [true, false, true, true];
        let e = check_selected_finite("f", "x", &v, Some(&m), 2).unwrap_err();
        assert_eq!(
            e,
            RlError::NonFinite {
                place: "f",
                argument: "x",
                index: vec![1, 0],
                got: f32::INFINITY
            }
        );
        let e = check_selected_finite("f", "x", &v, None, 0).unwrap_err();
        assert!(matches!(e, RlError::NonFinite { ref index, .. } if index == &vec![1]));
        assert!(check_selected_finite("f", "x", &v[..1], None, 0).is_ok());
    }
}
