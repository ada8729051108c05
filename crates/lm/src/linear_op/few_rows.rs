//! The product of a few rows (a decoding step's batch) with a row-major weight matrix,
//! reading the weights once, in memory order, without packing them.
//!
//! ```text
//! y[i, c] = Σ_k x[i, k] · W[k, c]          i < m ≤ 8, x: [m, K], W: [K, N], y: [m, N]
//! ```
//!
//! A GEMM built for large products (the `gemm` crate) first copies each panel of `W` into a
//! packed buffer; at eight rows that copy costs about as much as the multiply-adds, and the
//! product reads `W` twice. Here `W` is read once: the columns are split between the rayon
//! pool's threads, and each thread walks its columns in blocks of [`KB`] weight rows, keeping
//! the rows of `y` (at most 8 × N/threads floats) in L1/L2 as accumulators, and prefetching
//! the next block of weight rows while it multiplies the current one. Each output element is
//! summed over `k` in order (one rounding per multiply-add), the same sum a GEMM forms, up to
//! the grouping of its partial sums.
//!
//! On AVX-512 a panel is 32 columns × up to 8 rows (16 accumulators), on AVX2 + FMA 8 columns
//! × up to 8 rows (AVX2 has 16 registers); elsewhere ([`available`] false) the caller keeps
//! the GEMM.

use rayon::prelude::*;

use crate::flex_buffers::DisjointWrites;

/// Most rows [`product`] takes.
pub(crate) const MAX_ROWS: usize = 8;

/// Weight rows multiplied per pass over a column panel (the output rows are loaded and
/// stored once per block).
const KB: usize = 8;

/// Whether [`product`] runs on this CPU.
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        crate::simd::level() >= 3
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `y = x·W` (row-major, `m × n`) for `x` (`m × k`, row stride `xs`, unit column stride) and
/// `W` (`k × n`, row stride `ws`, unit column stride).
///
/// # Panics
/// When `m > MAX_ROWS`, [`available`] is false, or a slice is shorter than its shape needs.
pub(crate) fn product(
    m: usize,
    n: usize,
    k: usize,
    x: &[f32],
    xs: usize,
    w: &[f32],
    ws: usize,
) -> Vec<f32> {
    assert!(m <= MAX_ROWS && available(), "few-rows product: {m} rows");
    #[cfg(target_arch = "x86_64")]
    {
        let kernel: (usize, Panel) = if crate::simd::level() >= 4 {
            (avx512::PW, avx512::panel)
        } else {
            (avx2::PW, avx2::panel)
        };
        // SAFETY: `available` checked the CPU for the kernel's instruction set.
        unsafe { product_with(m, n, k, x, xs, w, ws, kernel) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!(
        "few-rows product without AVX2 ({m} × {n} × {k}, {xs}, {ws}, {})",
        x.len() + w.len()
    )
}

/// [`product`] through the panel kernel `(width, panel)`.
///
/// # Safety
/// The CPU has the panel's instruction set.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn product_with(
    m: usize,
    n: usize,
    k: usize,
    x: &[f32],
    xs: usize,
    w: &[f32],
    ws: usize,
    (pw, panel): (usize, Panel),
) -> Vec<f32> {
    let mut y = vec![0.0f32; m * n];
    if m == 0 || n == 0 || k == 0 {
        return y;
    }
    assert!(
        m <= MAX_ROWS
            && x.len() >= (m - 1) * xs + k
            && w.len() >= (k - 1) * ws + n
            && xs >= k
            && ws >= n,
        "few-rows product out of bounds: x {} for {m} × {k} (stride {xs}), W {} for {k} × {n} (stride {ws})",
        x.len(),
        w.len()
    );
    // Column ranges of whole 64-byte lines, one or more per thread.
    let threads = rayon::current_num_threads().max(1);
    let per = n.div_ceil(threads).next_multiple_of(16).max(64);
    let out = DisjointWrites::new(y.as_mut_ptr());
    (0..n.div_ceil(per)).into_par_iter().for_each(|t| {
        let c0 = t * per;
        let c1 = (c0 + per).min(n);
        let o = Operands {
            x: x.as_ptr(),
            xs,
            w: w.as_ptr(),
            ws,
            y: out.at(0),
            ys: n,
            k,
        };
        // SAFETY: the caller vouches for the instruction set, the bounds were checked
        // above, and this range alone writes columns c0 .. c1 of the output's m rows of n.
        unsafe { columns(m, o, c0, c1, pw, panel) };
    });
    y
}

/// The operands of a few-rows product: `x` (`m` rows of `k` at stride `xs`), `W` (`k` rows at
/// stride `ws`) and `y` (`m` rows at stride `ys`).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Operands {
    x: *const f32,
    xs: usize,
    w: *const f32,
    ws: usize,
    y: *mut f32,
    ys: usize,
    k: usize,
}

/// One SIMD panel: `y[i, c .. c + width] += Σ_{k0 ≤ kk < k0 + kb} x[i, kk]·W[kk, c .. c + width]`
/// for `i < m`, `width` at most the kernel's panel width, and a prefetch of the same columns
/// of the next block's rows.
///
/// # Safety
/// The CPU has the panel's instruction set; the operands hold their rows up to column
/// `c + width`, and no other thread touches those columns of `y`.
#[cfg(target_arch = "x86_64")]
type Panel = unsafe fn(m: usize, o: Operands, k0: usize, kb: usize, c: usize, width: usize);

/// `y[i, c] += Σ_k x[i, k]·W[k, c]` for `i < m`, `c0 ≤ c < c1` (`y` zeroed by the caller):
/// blocks of [`KB`] weight rows, each swept in panels of `pw` columns.
///
/// # Safety
/// As [`Panel`], for columns `c0 .. c1`.
#[cfg(target_arch = "x86_64")]
unsafe fn columns(m: usize, o: Operands, c0: usize, c1: usize, pw: usize, panel: Panel) {
    let mut k0 = 0;
    while k0 < o.k {
        let kb = KB.min(o.k - k0);
        let mut c = c0;
        while c < c1 {
            let width = (c1 - c).min(pw);
            // SAFETY: the caller's bounds; rows k0 .. k0 + kb, columns c .. c + width.
            unsafe { panel(m, o, k0, kb, c, width) };
            c += width;
        }
        k0 += kb;
    }
}

/// The AVX-512 panel: 32 columns (two registers) × up to 8 rows, 16 accumulators.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{KB, MAX_ROWS, Operands};
    use crate::simd::up_to_eight;

    /// Columns per panel.
    pub(super) const PW: usize = 32;

    /// A [`super::Panel`].
    ///
    /// # Safety
    /// AVX-512F, and [`super::Panel`]'s.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn panel(
        m: usize,
        o: Operands,
        k0: usize,
        kb: usize,
        c: usize,
        width: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe { up_to_eight!(m, rows(o, k0, kb, c, width)) }
    }

    /// [`panel`] for `M` rows.
    ///
    /// # Safety
    /// As [`panel`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn rows<const M: usize>(o: Operands, k0: usize, kb: usize, c: usize, width: usize) {
        let Operands {
            x,
            xs,
            w,
            ws,
            y,
            ys,
            k,
        } = o;
        let m0: __mmask16 = if width >= 16 {
            0xffff
        } else {
            ((1u32 << width) - 1) as __mmask16
        };
        let m1: __mmask16 = if width >= 32 {
            0xffff
        } else if width > 16 {
            ((1u32 << (width - 16)) - 1) as __mmask16
        } else {
            0
        };
        let mut a0 = [_mm512_setzero_ps(); MAX_ROWS];
        let mut a1 = [_mm512_setzero_ps(); MAX_ROWS];
        // SAFETY (all accesses): inside the rows and columns the caller vouches for; masked
        // lanes are neither read nor written; prefetches never fault.
        for i in 0..M {
            let row = unsafe { y.add(i * ys + c) };
            a0[i] = unsafe { _mm512_maskz_loadu_ps(m0, row) };
            a1[i] = unsafe { _mm512_maskz_loadu_ps(m1, row.add(16)) };
        }
        for kk in k0..k0 + kb {
            let wr = unsafe { w.add(kk * ws + c) };
            let w0 = unsafe { _mm512_maskz_loadu_ps(m0, wr) };
            let w1 = unsafe { _mm512_maskz_loadu_ps(m1, wr.add(16)) };
            if kk + KB < k {
                let next = wr.wrapping_add(KB * ws);
                _mm_prefetch::<_MM_HINT_T0>(next as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(16) as *const i8);
            }
            for i in 0..M {
                let xb = _mm512_set1_ps(unsafe { *x.add(i * xs + kk) });
                a0[i] = _mm512_fmadd_ps(w0, xb, a0[i]);
                a1[i] = _mm512_fmadd_ps(w1, xb, a1[i]);
            }
        }
        for i in 0..M {
            let row = unsafe { y.add(i * ys + c) };
            unsafe {
                _mm512_mask_storeu_ps(row, m0, a0[i]);
                _mm512_mask_storeu_ps(row.add(16), m1, a1[i]);
            }
        }
    }
}

/// The AVX2 panel: 8 columns (one register) × up to 8 rows, 8 accumulators (AVX2 has 16
/// registers).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{KB, MAX_ROWS, Operands};
    use crate::simd::up_to_eight;

    /// Columns per panel.
    pub(super) const PW: usize = 8;

    /// A [`super::Panel`].
    ///
    /// # Safety
    /// AVX2 and FMA, and [`super::Panel`]'s.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn panel(
        m: usize,
        o: Operands,
        k0: usize,
        kb: usize,
        c: usize,
        width: usize,
    ) {
        // SAFETY: the caller's contract.
        unsafe { up_to_eight!(m, rows(o, k0, kb, c, width)) }
    }

    /// [`panel`] for `M` rows.
    ///
    /// # Safety
    /// As [`panel`].
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows<const M: usize>(o: Operands, k0: usize, kb: usize, c: usize, width: usize) {
        let Operands {
            x,
            xs,
            w,
            ws,
            y,
            ys,
            k,
        } = o;
        let lane = |i: i32| -((i < width as i32) as i32);
        let mask = _mm256_setr_epi32(
            lane(0),
            lane(1),
            lane(2),
            lane(3),
            lane(4),
            lane(5),
            lane(6),
            lane(7),
        );
        let mut a = [_mm256_setzero_ps(); MAX_ROWS];
        // SAFETY (all accesses): inside the rows and columns the caller vouches for; masked
        // lanes are neither read nor written; prefetches never fault.
        for (i, a) in a.iter_mut().enumerate().take(M) {
            *a = unsafe { _mm256_maskload_ps(y.add(i * ys + c), mask) };
        }
        for kk in k0..k0 + kb {
            let wr = unsafe { w.add(kk * ws + c) };
            let w0 = unsafe { _mm256_maskload_ps(wr, mask) };
            if kk + KB < k && c.is_multiple_of(16) {
                // One prefetch per 64-byte line of the next block's row.
                _mm_prefetch::<_MM_HINT_T0>(wr.wrapping_add(KB * ws) as *const i8);
            }
            for (i, a) in a.iter_mut().enumerate().take(M) {
                let xb = _mm256_set1_ps(unsafe { *x.add(i * xs + kk) });
                *a = _mm256_fmadd_ps(w0, xb, *a);
            }
        }
        for (i, a) in a.iter().enumerate().take(M) {
            unsafe { _mm256_maskstore_ps(y.add(i * ys + c), mask, *a) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A product under test.
    type Kernel = fn(usize, usize, usize, &[f32], usize, &[f32], usize) -> Vec<f32>;

    /// The dispatched [`product`] and each panel kernel this CPU runs (AVX2, AVX-512).
    fn kernels() -> Vec<(&'static str, Kernel)> {
        let mut k: Vec<(&'static str, Kernel)> = Vec::new();
        if !available() {
            return k;
        }
        k.push(("dispatched", product));
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                k.push(("avx2", |m, n, k, x, xs, w, ws| {
                    // SAFETY: AVX2 and FMA detected.
                    unsafe { product_with(m, n, k, x, xs, w, ws, (avx2::PW, avx2::panel)) }
                }));
            }
            if is_x86_feature_detected!("avx512f") {
                k.push(("avx512", |m, n, k, x, xs, w, ws| {
                    // SAFETY: AVX-512F detected.
                    unsafe { product_with(m, n, k, x, xs, w, ws, (avx512::PW, avx512::panel)) }
                }));
            }
        }
        k
    }

    /// Every row count up to 8, widths with and without an 8-, 16- or 32-column tail, depths
    /// with and without a partial block, strides wider than the shapes; each kernel.
    #[test]
    fn product_matches_f64_sums() {
        for (name, kernel) in kernels() {
            for m in 1..=MAX_ROWS {
                for &(n, k) in &[
                    (256usize, 64usize),
                    (37, 9),
                    (16, 1),
                    (100, 17),
                    (1, 5),
                    (71, 3),
                ] {
                    let (xs, ws) = (k + 3, n + 5);
                    let x: Vec<f32> = (0..m * xs)
                        .map(|i| ((i * 7919 % 211) as f32 - 105.0) / 97.0)
                        .collect();
                    let w: Vec<f32> = (0..k * ws)
                        .map(|i| ((i * 104_729 % 193) as f32 - 96.0) / 89.0)
                        .collect();
                    let y = kernel(m, n, k, &x, xs, &w, ws);
                    assert_eq!(y.len(), m * n);
                    for i in 0..m {
                        for c in 0..n {
                            let want: f64 = (0..k)
                                .map(|kk| x[i * xs + kk] as f64 * w[kk * ws + c] as f64)
                                .sum();
                            let got = y[i * n + c] as f64;
                            assert!(
                                (got - want).abs()
                                    <= 1e-5 * (k as f64).sqrt() * want.abs().max(1.0),
                                "{name}: m {m} n {n} k {k} ({i}, {c}): {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
