//! Row kernels of the fused head: a vectorisable `exp` and the per-row passes over one block
//! of logits, compiled for AVX-512 and AVX2 as well as the baseline and picked at run time.

use crate::simd::{LANES, dispatched, exp_f, madd};

/// `exp` of the shared kernels (re-exported for the head's callers).
pub use crate::simd::exp;

/// In place `u ← (u + b)·s` (`b` absent: `u ← u·s`, skipped when `s = 1`); returns `max u`.
#[inline(always)]
fn scale_max_impl<const F: bool>(u: &mut [f32], bias: Option<&[f32]>, s: f32) -> f32 {
    match bias {
        Some(b) => u.iter_mut().zip(b).for_each(|(x, b)| *x = (*x + b) * s),
        None if s != 1.0 => u.iter_mut().for_each(|x| *x *= s),
        None => {}
    }
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = u.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            if c[i] > acc[i] {
                acc[i] = c[i];
            }
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &v in acc.iter().chain(chunks.remainder()) {
        if v > m {
            m = v;
        }
    }
    m
}

/// `(Σ e, Σ e·(z − m))` with `e = exp(z − m)`.
#[inline(always)]
fn exp_sums_impl<const F: bool>(z: &[f32], m: f32) -> (f32, f32) {
    let mut s = [0.0f32; LANES];
    let mut t = [0.0f32; LANES];
    let mut chunks = z.chunks_exact(LANES);
    for c in &mut chunks {
        for i in 0..LANES {
            let d = c[i] - m;
            let e = exp_f::<F>(d);
            s[i] += e;
            t[i] = madd::<F>(e, d, t[i]);
        }
    }
    let (mut s1, mut t1) = (0.0f32, 0.0f32);
    for &v in chunks.remainder() {
        let d = v - m;
        let e = exp_f::<F>(d);
        s1 += e;
        t1 = madd::<F>(e, d, t1);
    }
    (s.iter().sum::<f32>() + s1, t.iter().sum::<f32>() + t1)
}

/// In place `u ← −exp(z − lse)·(c0 + gh·z)·s` with `z = (u + b)·s` (the gradient of one
/// row's log-prob and entropy with respect to its raw logits, target term excluded).
#[inline(always)]
fn grad_impl<const F: bool>(
    u: &mut [f32],
    bias: Option<&[f32]>,
    s: f32,
    lse: f32,
    c0: f32,
    gh: f32,
) {
    let f = |x: f32| {
        let p = exp_f::<F>(x - lse);
        -p * (c0 + gh * x) * s
    };
    match bias {
        Some(b) => u.iter_mut().zip(b).for_each(|(x, b)| *x = f((*x + b) * s)),
        None => u.iter_mut().for_each(|x| *x = f(*x * s)),
    }
}

/// The inverse CDF over one row: the first index `i` (among those with `z_i ≥ floor`) at
/// which `Σ_{j ≤ i} exp(z_j − m)` exceeds `target`; `None` when rounding leaves the total
/// at or below `target`.
#[inline(always)]
fn cdf_index_impl<const F: bool>(z: &[f32], m: f32, floor: f32, target: f32) -> Option<usize> {
    let mut cum = 0.0f32;
    let mut e = [0.0f32; LANES];
    for (c, chunk) in z.chunks(LANES).enumerate() {
        let mut block = 0.0f32;
        for (i, &x) in chunk.iter().enumerate() {
            e[i] = if x >= floor { exp_f::<F>(x - m) } else { 0.0 };
            block += e[i];
        }
        if cum + block > target {
            for (i, &ei) in e.iter().enumerate().take(chunk.len()) {
                cum += ei;
                if cum > target && ei > 0.0 {
                    return Some(c * LANES + i);
                }
            }
        }
        cum += block;
    }
    None
}

dispatched!(
    /// In place `u ← (u + b)·s`, then `max u` (one row of a block).
    scale_max, scale_max_impl, (u: &mut [f32], bias: Option<&[f32]>, s: f32) -> f32
);
dispatched!(
    /// `(Σ exp(z − m), Σ exp(z − m)·(z − m))` over one row of a block.
    exp_sums, exp_sums_impl, (z: &[f32], m: f32) -> (f32, f32)
);
dispatched!(
    /// In place: raw logits `u` of one row → `−exp(z − lse)·(c0 + gh·z)·s`, `z = (u + b)·s`.
    grad_row, grad_impl, (u: &mut [f32], bias: Option<&[f32]>, s: f32, lse: f32, c0: f32, gh: f32) -> ()
);

dispatched!(
    /// Inverse-CDF index of one row (see `cdf_index_impl`).
    cdf_index, cdf_index_impl, (z: &[f32], m: f32, floor: f32, target: f32) -> Option<usize>
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_kernels_match_scalar_loops() {
        let n = 1000;
        let z: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32) * 0.13 - 6.0)
            .collect();
        let b: Vec<f32> = (0..n).map(|i| (i % 7) as f32 * 0.1).collect();
        let mut u = z.clone();
        let m = scale_max(&mut u, Some(&b), 0.5);
        let want: Vec<f32> = z.iter().zip(&b).map(|(x, b)| (x + b) * 0.5).collect();
        assert_eq!(u, want);
        assert_eq!(m, want.iter().cloned().fold(f32::NEG_INFINITY, f32::max));
        let (s, t) = exp_sums(&u, m);
        let ws: f64 = u.iter().map(|&x| ((x - m) as f64).exp()).sum();
        let wt: f64 = u
            .iter()
            .map(|&x| ((x - m) as f64).exp() * (x - m) as f64)
            .sum();
        assert!((s as f64 - ws).abs() < 1e-5 * ws);
        assert!((t as f64 - wt).abs() < 1e-5 * wt.abs());
        let mut g = z.clone();
        grad_row(&mut g, None, 2.0, 3.0, 0.25, -0.5);
        for (g, x) in g.iter().zip(&z) {
            let zz = x * 2.0;
            let w = -((zz - 3.0) as f64).exp() * (0.25 - 0.5 * zz as f64) * 2.0;
            assert!(
                (*g as f64 - w).abs() <= 1e-6 * w.abs().max(1.0),
                "{g} vs {w}"
            );
        }
    }
}
