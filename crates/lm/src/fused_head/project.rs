//! The small-batch output projection's kernel: logits of a few hidden rows (a decoding step's
//! batch) against a block of vocabulary rows, the rows streamed once from memory.
//!
//! ```text
//! out[j·os + v] = Σ_k w[v·rs + k] · h[j·d + k]      v < rows, j < b, k < d
//! ```
//!
//! At batch 1 the product reads each weight once per multiply-add and runs at the memory's
//! rate; at batch 8 it does eight multiply-adds per weight and a plain dot-product loop is
//! bound by its loads and by the horizontal sums instead (Gemma 3's 262 144 × 640 head:
//! 20 ms at batch 1, 32 ms at batch 8 on a 2-core Zen 5). On AVX-512 [`project`] therefore
//! multiplies two vocabulary rows by up to eight hidden rows per pass (16 accumulators; ten
//! loads per sixteen multiply-adds) and reduces the sixteen accumulators with one
//! transposing tree (15 additions) instead of sixteen horizontal sums; on AVX2 + FMA (16
//! registers) two vocabulary rows by up to four hidden rows (8 accumulators). Both prefetch
//! the weight rows a few rows ahead. Elsewhere it runs a portable loop.

use crate::simd::{LANES, dispatched, madd};

/// `out[j·os + v] = w_v · h_j` for the `rows` vocabulary rows of the block `w` (row `v` at
/// `w[v·rs .. v·rs + d]`) and the `b` hidden rows `h` (`[b, d]`): the logits of each hidden
/// row written into its own row of the output (row stride `os`).
///
/// # Panics
/// When `w` or `h` is shorter than those rows need, or `os < rows` with `b > 1`.
///
/// # Safety
/// `out` is valid for writes at `j·os + v` for every `j < b`, `v < rows`, and no other
/// thread reads or writes those elements during the call.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn project(
    w: &[f32],
    rs: usize,
    d: usize,
    h: &[f32],
    b: usize,
    rows: usize,
    out: *mut f32,
    os: usize,
) {
    if b == 0 || rows == 0 {
        return;
    }
    assert!(
        h.len() >= b * d && w.len() >= (rows - 1) * rs + d && rs >= d && (b == 1 || os >= rows),
        "projection block out of bounds: {} weights for {rows} rows of {d} (stride {rs}), {} hidden values for {b} rows, output stride {os}",
        w.len(),
        h.len()
    );
    let out = Out { ptr: out, os };
    #[cfg(target_arch = "x86_64")]
    {
        let level = crate::simd::level();
        // SAFETY: the CPU reports the pass's instruction set; the bounds were checked above
        // and the output is the caller's promise.
        if level >= 4 {
            return unsafe { drive(w, rs, d, h, b, rows, out, avx512::HB, avx512::pass) };
        }
        if level == 3 {
            return unsafe { drive(w, rs, d, h, b, rows, out, avx2::HB, avx2::pass) };
        }
    }
    project_portable(w, rs, d, h, b, rows, out);
}

/// Where [`project`] writes: hidden row `j`'s logit of block row `v` at `ptr[j·os + v]`.
#[derive(Clone, Copy)]
pub(crate) struct Out {
    ptr: *mut f32,
    os: usize,
}

impl Out {
    /// Writes `x` as hidden row `j`'s logit of block row `v`.
    ///
    /// # Safety
    /// `(j, v)` is inside the region [`project`]'s caller vouched for.
    #[inline(always)]
    unsafe fn put(self, j: usize, v: usize, x: f32) {
        unsafe { *self.ptr.add(j * self.os + v) = x };
    }
}

/// `out[j] = row · h[j·d .. (j+1)·d]` for `j < 4`, `row` of length `d`.
#[inline(always)]
fn dots4_impl<const F: bool>(row: &[f32], h: &[f32], d: usize, out: &mut [f32]) {
    let (h0, h1, h2, h3) = (&h[..d], &h[d..2 * d], &h[2 * d..3 * d], &h[3 * d..4 * d]);
    let mut a = [[0.0f32; LANES]; 4];
    let chunks = d / LANES;
    for c in 0..chunks {
        let r = &row[c * LANES..c * LANES + LANES];
        let x0 = &h0[c * LANES..c * LANES + LANES];
        let x1 = &h1[c * LANES..c * LANES + LANES];
        let x2 = &h2[c * LANES..c * LANES + LANES];
        let x3 = &h3[c * LANES..c * LANES + LANES];
        for i in 0..LANES {
            a[0][i] = madd::<F>(r[i], x0[i], a[0][i]);
            a[1][i] = madd::<F>(r[i], x1[i], a[1][i]);
            a[2][i] = madd::<F>(r[i], x2[i], a[2][i]);
            a[3][i] = madd::<F>(r[i], x3[i], a[3][i]);
        }
    }
    let hs = [h0, h1, h2, h3];
    for (j, o) in out.iter_mut().enumerate().take(4) {
        let mut s: f32 = a[j].iter().sum();
        for i in chunks * LANES..d {
            s += row[i] * hs[j][i];
        }
        *o = s;
    }
}

/// `row · h`, both of length `d`.
#[inline(always)]
fn dot_impl<const F: bool>(row: &[f32], h: &[f32], d: usize) -> f32 {
    let mut a = [0.0f32; LANES];
    let chunks = d / LANES;
    for c in 0..chunks {
        let r = &row[c * LANES..c * LANES + LANES];
        let x = &h[c * LANES..c * LANES + LANES];
        for i in 0..LANES {
            a[i] = madd::<F>(r[i], x[i], a[i]);
        }
    }
    let mut s: f32 = a.iter().sum();
    for i in chunks * LANES..d {
        s += row[i] * h[i];
    }
    s
}

/// [`project`] as dot products of one vocabulary row with four hidden rows at a time.
#[inline(always)]
fn project_impl<const F: bool>(
    w: &[f32],
    rs: usize,
    d: usize,
    h: &[f32],
    b: usize,
    rows: usize,
    out: Out,
) {
    let mut o = [0.0f32; 4];
    for v in 0..rows {
        let row = &w[v * rs..v * rs + d];
        let full = b / 4 * 4;
        for g in (0..full).step_by(4) {
            dots4_impl::<F>(row, &h[g * d..(g + 4) * d], d, &mut o);
            for (i, x) in o.iter().enumerate() {
                // SAFETY: j < b, v < rows (project's contract).
                unsafe { out.put(g + i, v, *x) };
            }
        }
        for j in full..b {
            // SAFETY: as above.
            unsafe { out.put(j, v, dot_impl::<F>(row, &h[j * d..(j + 1) * d], d)) };
        }
    }
}

dispatched!(
    /// [`project`] without explicit SIMD (the compiler's vectorisation, AVX2 or baseline).
    project_portable, project_impl, (w: &[f32], rs: usize, d: usize, h: &[f32], b: usize, rows: usize, out: Out) -> ()
);

/// How far ahead (in vocabulary rows) the SIMD passes prefetch the rows they will read: at
/// batch 8 a pass spends ≈ 150 cycles per row computing, long enough for the hardware
/// prefetcher to fall behind (one core: 646 → 364 cycles per row with 2 rows ahead; both
/// cores, Gemma 3's head: 36 → 22–27 ms).
#[cfg(target_arch = "x86_64")]
const PREFETCH_ROWS: usize = 4;

/// One pass of a SIMD kernel: the sums `r_i · h_j` of the vocabulary rows `r0`, `r1` with the
/// `nb ≤ hb` hidden rows at `hp` (row stride `d`), in lanes `i·hb + j`; it prefetches `pfd`
/// floats ahead of both rows.
///
/// # Safety
/// The CPU has the pass's instruction set; `r0`, `r1` point at `d` readable floats and `hp`
/// at `nb × d`.
#[cfg(target_arch = "x86_64")]
type Pass = unsafe fn(
    nb: usize,
    pfd: usize,
    r0: *const f32,
    r1: *const f32,
    hp: *const f32,
    d: usize,
) -> [f32; 16];

/// [`project`] through a SIMD pass over pairs of vocabulary rows × groups of up to `hb`
/// hidden rows.
///
/// # Safety
/// As [`project`] (bounds checked), and the CPU has `pass`'s instruction set.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn drive(
    w: &[f32],
    rs: usize,
    d: usize,
    h: &[f32],
    b: usize,
    rows: usize,
    out: Out,
    hb: usize,
    pass: Pass,
) {
    let pfd = PREFETCH_ROWS * rs;
    let mut v = 0;
    while v < rows {
        let pair = rows - v >= 2;
        // SAFETY: rows v and v + 1 (when paired) lie inside `w`; hidden rows g .. g + nb
        // inside `h`; (g + j, v) and (g + j, v + 1) when paired are the caller's to write.
        unsafe {
            let r0 = w.as_ptr().add(v * rs);
            let r1 = if pair { r0.add(rs) } else { r0 };
            let mut g = 0;
            while g < b {
                let nb = (b - g).min(hb);
                let lanes = pass(nb, pfd, r0, r1, h.as_ptr().add(g * d), d);
                for j in 0..nb {
                    out.put(g + j, v, lanes[j]);
                    if pair {
                        out.put(g + j, v + 1, lanes[hb + j]);
                    }
                }
                g += nb;
            }
        }
        v += if pair { 2 } else { 1 };
    }
}

/// The AVX-512 pass: 2 vocabulary rows × up to 8 hidden rows, 16 accumulators of 16 lanes.
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use crate::simd::up_to_eight;

    /// Hidden rows multiplied per pass over a pair of vocabulary rows.
    pub(super) const HB: usize = 8;

    /// A [`super::Pass`].
    ///
    /// # Safety
    /// AVX-512F, and [`super::Pass`]'s.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn pass(
        nb: usize,
        pfd: usize,
        r0: *const f32,
        r1: *const f32,
        hp: *const f32,
        d: usize,
    ) -> [f32; 16] {
        let full = d / 16;
        let tail: __mmask16 = ((1u32 << (d % 16)) - 1) as __mmask16;
        // SAFETY: the caller's contract.
        let sums = unsafe { up_to_eight!(nb, group(pfd, r0, r1, hp, d, full, tail)) };
        let mut lanes = [0.0f32; 16];
        // SAFETY: `lanes` holds 16 floats.
        unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), sums) };
        lanes
    }

    /// The sums of [`pass`] for `B` hidden rows, as one register.
    ///
    /// # Safety
    /// As [`pass`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn group<const B: usize>(
        pfd: usize,
        r0: *const f32,
        r1: *const f32,
        h: *const f32,
        d: usize,
        full: usize,
        tail: __mmask16,
    ) -> __m512 {
        let mut a = [_mm512_setzero_ps(); 2 * HB];
        // SAFETY (all loads): offsets below `d` in rows the caller vouches for; the tail's
        // masked loads read only the lanes below `d`.
        for c in 0..full {
            let k = c * 16;
            let w0 = unsafe { _mm512_loadu_ps(r0.add(k)) };
            let w1 = unsafe { _mm512_loadu_ps(r1.add(k)) };
            // A prefetch never faults, even past the end of the weights.
            _mm_prefetch::<_MM_HINT_T0>(r0.wrapping_add(k + pfd) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(r1.wrapping_add(k + pfd) as *const i8);
            for j in 0..B {
                let x = unsafe { _mm512_loadu_ps(h.add(j * d + k)) };
                a[j] = _mm512_fmadd_ps(w0, x, a[j]);
                a[HB + j] = _mm512_fmadd_ps(w1, x, a[HB + j]);
            }
        }
        if tail != 0 {
            let k = full * 16;
            let w0 = unsafe { _mm512_maskz_loadu_ps(tail, r0.add(k)) };
            let w1 = unsafe { _mm512_maskz_loadu_ps(tail, r1.add(k)) };
            for j in 0..B {
                let x = unsafe { _mm512_maskz_loadu_ps(tail, h.add(j * d + k)) };
                a[j] = _mm512_fmadd_ps(w0, x, a[j]);
                a[HB + j] = _mm512_fmadd_ps(w1, x, a[HB + j]);
            }
        }
        reduce16(&a)
    }

    /// Lane `i` of the result is the sum of the 16 lanes of `x[i]` (a transposing tree:
    /// 8 + 4 + 2 + 1 additions).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn reduce16(x: &[__m512; 16]) -> __m512 {
        // Per 128-bit lane L: [x₂ᵢ, x₂ᵢ₊₁, x₂ᵢ, x₂ᵢ₊₁] partial sums.
        let mut t = [_mm512_setzero_ps(); 8];
        for (i, t) in t.iter_mut().enumerate() {
            let (p, q) = (x[2 * i], x[2 * i + 1]);
            *t = _mm512_add_ps(_mm512_unpacklo_ps(p, q), _mm512_unpackhi_ps(p, q));
        }
        // Per 128-bit lane L: [x₄ᵢ, x₄ᵢ₊₁, x₄ᵢ₊₂, x₄ᵢ₊₃] summed over L's four elements.
        let mut u = [_mm512_setzero_ps(); 4];
        for (i, u) in u.iter_mut().enumerate() {
            let (p, q) = (_mm512_castps_pd(t[2 * i]), _mm512_castps_pd(t[2 * i + 1]));
            *u = _mm512_add_ps(
                _mm512_castpd_ps(_mm512_unpacklo_pd(p, q)),
                _mm512_castpd_ps(_mm512_unpackhi_pd(p, q)),
            );
        }
        halves(halves(u[0], u[1]), halves(u[2], u[3]))
    }

    /// `[p L0+L1, p L2+L3, q L0+L1, q L2+L3]` over the 128-bit lanes `L` of `p` and `q`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn halves(p: __m512, q: __m512) -> __m512 {
        _mm512_add_ps(
            _mm512_shuffle_f32x4::<0b10_00_10_00>(p, q),
            _mm512_shuffle_f32x4::<0b11_01_11_01>(p, q),
        )
    }
}

/// The AVX2 pass: 2 vocabulary rows × up to 4 hidden rows, 8 accumulators of 8 lanes (AVX2
/// has 16 registers).
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Hidden rows multiplied per pass over a pair of vocabulary rows.
    pub(super) const HB: usize = 4;

    /// A [`super::Pass`].
    ///
    /// # Safety
    /// AVX2 and FMA, and [`super::Pass`]'s.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn pass(
        nb: usize,
        pfd: usize,
        r0: *const f32,
        r1: *const f32,
        hp: *const f32,
        d: usize,
    ) -> [f32; 16] {
        let full = d / 8;
        let rest = (d % 8) as i32;
        let tail = _mm256_setr_epi32(
            -((0 < rest) as i32),
            -((1 < rest) as i32),
            -((2 < rest) as i32),
            -((3 < rest) as i32),
            -((4 < rest) as i32),
            -((5 < rest) as i32),
            -((6 < rest) as i32),
            -((7 < rest) as i32),
        );
        // SAFETY: the caller's contract.
        let sums = unsafe {
            match nb {
                4 => group::<4>(pfd, r0, r1, hp, d, full, rest > 0, tail),
                3 => group::<3>(pfd, r0, r1, hp, d, full, rest > 0, tail),
                2 => group::<2>(pfd, r0, r1, hp, d, full, rest > 0, tail),
                _ => group::<1>(pfd, r0, r1, hp, d, full, rest > 0, tail),
            }
        };
        let mut lanes = [0.0f32; 16];
        // SAFETY: `lanes` holds 16 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sums) };
        lanes
    }

    /// The sums of [`pass`] for `B` hidden rows, as one register.
    ///
    /// # Safety
    /// As [`pass`].
    #[allow(clippy::too_many_arguments)]
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn group<const B: usize>(
        pfd: usize,
        r0: *const f32,
        r1: *const f32,
        h: *const f32,
        d: usize,
        full: usize,
        has_tail: bool,
        tail: __m256i,
    ) -> __m256 {
        let mut a = [_mm256_setzero_ps(); 2 * HB];
        // SAFETY (all loads): offsets below `d` in rows the caller vouches for; the tail's
        // masked loads read only the lanes below `d`.
        for c in 0..full {
            let k = c * 8;
            let w0 = unsafe { _mm256_loadu_ps(r0.add(k)) };
            let w1 = unsafe { _mm256_loadu_ps(r1.add(k)) };
            if c.is_multiple_of(2) {
                // One prefetch per 64-byte line; a prefetch never faults.
                _mm_prefetch::<_MM_HINT_T0>(r0.wrapping_add(k + pfd) as *const i8);
                _mm_prefetch::<_MM_HINT_T0>(r1.wrapping_add(k + pfd) as *const i8);
            }
            for j in 0..B {
                let x = unsafe { _mm256_loadu_ps(h.add(j * d + k)) };
                a[j] = _mm256_fmadd_ps(w0, x, a[j]);
                a[HB + j] = _mm256_fmadd_ps(w1, x, a[HB + j]);
            }
        }
        if has_tail {
            let k = full * 8;
            let w0 = unsafe { _mm256_maskload_ps(r0.add(k), tail) };
            let w1 = unsafe { _mm256_maskload_ps(r1.add(k), tail) };
            for j in 0..B {
                let x = unsafe { _mm256_maskload_ps(h.add(j * d + k), tail) };
                a[j] = _mm256_fmadd_ps(w0, x, a[j]);
                a[HB + j] = _mm256_fmadd_ps(w1, x, a[HB + j]);
            }
        }
        reduce8(&a)
    }

    /// Lane `i` of the result is the sum of the 8 lanes of `x[i]` (a transposing tree).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn reduce8(x: &[__m256; 8]) -> __m256 {
        // Per 128-bit half: [x₀ pairs, x₁ pairs] → [x₀, x₁, x₂, x₃] partial sums.
        let t0 = _mm256_hadd_ps(x[0], x[1]);
        let t1 = _mm256_hadd_ps(x[2], x[3]);
        let t2 = _mm256_hadd_ps(x[4], x[5]);
        let t3 = _mm256_hadd_ps(x[6], x[7]);
        let u0 = _mm256_hadd_ps(t0, t1);
        let u1 = _mm256_hadd_ps(t2, t3);
        // The low halves of u₀, u₁ plus their high halves.
        _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(u0, u1),
            _mm256_permute2f128_ps::<0x31>(u0, u1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kernel under test: writes the block's logits into `out` (row stride `os`).
    type Kernel = fn(&[f32], usize, usize, &[f32], usize, usize, &mut [f32], usize);

    /// The dispatched kernel and every path this CPU can run: portable, and on x86-64 the
    /// AVX2 and AVX-512 passes when the CPU has them.
    fn kernels() -> Vec<(&'static str, Kernel)> {
        let mut k: Vec<(&'static str, Kernel)> = vec![
            ("dispatched", |w, rs, d, h, b, rows, out, os| {
                assert!(out.len() >= b * os);
                // SAFETY: `out` holds b rows of `os ≥ rows` floats.
                unsafe { project(w, rs, d, h, b, rows, out.as_mut_ptr(), os) }
            }),
            ("portable", |w, rs, d, h, b, rows, out, os| {
                assert!(out.len() >= b * os);
                let to = Out {
                    ptr: out.as_mut_ptr(),
                    os,
                };
                project_portable(w, rs, d, h, b, rows, to)
            }),
        ];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                k.push(("avx2", |w, rs, d, h, b, rows, out, os| {
                    assert!(out.len() >= b * os);
                    let to = Out {
                        ptr: out.as_mut_ptr(),
                        os,
                    };
                    // SAFETY: AVX2 and FMA detected; `out` holds b rows of `os ≥ rows`.
                    unsafe { drive(w, rs, d, h, b, rows, to, avx2::HB, avx2::pass) }
                }));
            }
            if is_x86_feature_detected!("avx512f") {
                k.push(("avx512", |w, rs, d, h, b, rows, out, os| {
                    assert!(out.len() >= b * os);
                    let to = Out {
                        ptr: out.as_mut_ptr(),
                        os,
                    };
                    // SAFETY: AVX-512F detected; `out` holds b rows of `os ≥ rows`.
                    unsafe { drive(w, rs, d, h, b, rows, to, avx512::HB, avx512::pass) }
                }));
            }
        }
        k
    }

    /// Every batch size up to 17 (two passes of eight and a remainder), odd and even row
    /// counts, `d` with and without an 8- or 16-lane tail, a row stride wider than `d`, and
    /// an output stride wider than the block (the gap must stay untouched).
    #[test]
    fn projection_matches_f64_dot_products() {
        for (name, kernel) in kernels() {
            for &(d, rs) in &[(640usize, 640usize), (37, 40), (16, 16), (5, 9), (8, 8)] {
                for rows in [1usize, 2, 5, 8] {
                    for b in 1..=17usize {
                        let w: Vec<f32> = (0..rows * rs)
                            .map(|i| ((i * 7919 % 211) as f32 - 105.0) / 97.0)
                            .collect();
                        let h: Vec<f32> = (0..b * d)
                            .map(|i| ((i * 104_729 % 193) as f32 - 96.0) / 89.0)
                            .collect();
                        let os = rows + 3;
                        let mut out = vec![f32::NAN; b * os];
                        kernel(&w, rs, d, &h, b, rows, &mut out, os);
                        for (i, x) in out.iter().enumerate() {
                            let (j, v) = (i / os, i % os);
                            if v >= rows {
                                assert!(x.is_nan(), "{name}: wrote outside the block at {i}");
                                continue;
                            }
                            let want: f64 = (0..d)
                                .map(|k| w[v * rs + k] as f64 * h[j * d + k] as f64)
                                .sum();
                            let tol = 1e-5 * (d as f64).sqrt() * want.abs().max(1.0);
                            assert!(
                                (*x as f64 - want).abs() <= tol,
                                "{name}: d {d} rows {rows} b {b} v {v} j {j}: {x} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }
}
