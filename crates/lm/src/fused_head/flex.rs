//! The fused head on the Flex (CPU) backend: blocked GEMMs (the `gemm` crate, as Flex's own
//! matmul) and one pass over each block of logits.

use burn::backend::Flex;
use burn::backend::tensor::FloatTensor;
use burn::tensor::{DType, TensorData};
use burn_flex::FlexTensor;
use gemm::Parallelism;
use rayon::prelude::*;

use super::simd;
use super::{FusedHeadBackend, HeadSpec, NextTokens, Pick};
use crate::flex_buffers::DisjointWrites;

/// Smallest vocabulary block a row chunk is given before rows are split into several chunks.
const MIN_BLOCK: usize = 1024;

/// A strided read-only matrix view: element `(i, j)` at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
struct View {
    ptr: *const f32,
    rs: isize,
    cs: isize,
}

impl View {
    fn at(self, i: usize, j: usize) -> Self {
        // SAFETY: callers only offset to elements inside the viewed storage.
        let ptr = unsafe { self.ptr.offset(i as isize * self.rs + j as isize * self.cs) };
        Self { ptr, ..self }
    }

    fn t(self) -> Self {
        Self {
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// `dst[m, n] (= or +=) lhs[m, k] · rhs[k, n]`.
///
/// # Safety
/// The views must describe valid, non-overlapping memory for the given sizes.
#[allow(clippy::too_many_arguments)]
unsafe fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rs: isize,
    dst_cs: isize,
    accumulate: bool,
    lhs: View,
    rhs: View,
) {
    if m == 0 || n == 0 {
        return;
    }
    let par = if m * n * k >= 1 << 20 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: forwarded from the caller.
    unsafe {
        gemm::gemm(
            m, n, k, dst, dst_cs, dst_rs, accumulate, lhs.ptr, lhs.cs, lhs.rs, rhs.ptr, rhs.cs,
            rhs.rs, 1.0f32, 1.0f32, false, false, false, par,
        )
    }
}

/// The bias-free logits `u[i, j] = h[i]·w[j]` of `rows` hidden rows against `vb` vocabulary
/// rows, into `u` (`rows × vb`, row-major): the block both the forward pass and the
/// backward's recomputation work on.
///
/// # Safety
/// `h` must view `rows × d` and `w` (vocabulary-major) `vb × d` valid floats.
unsafe fn logits_block(u: &mut [f32], rows: usize, vb: usize, d: usize, h: View, w: View) {
    debug_assert_eq!(u.len(), rows * vb);
    // SAFETY: `u` holds rows × vb floats; the views are valid by the caller's contract.
    unsafe { matmul(rows, vb, d, u.as_mut_ptr(), vb as isize, 1, false, h, w.t()) }
}

/// The weight as a vocabulary-major `[V, d]` view, whatever its stored orientation.
fn weight_view(w: &FlexTensor, spec: &HeadSpec) -> (View, usize, usize) {
    let shape = w.layout().shape();
    let strides = w.layout().strides();
    let base = w.storage::<f32>()[w.layout().start_offset()..].as_ptr();
    let (v, d, rs, cs) = if spec.vocab_major {
        (shape[0], shape[1], strides[0], strides[1])
    } else {
        (shape[1], shape[0], strides[1], strides[0])
    };
    (View { ptr: base, rs, cs }, v, d)
}

fn contiguous_f32(t: &FlexTensor) -> FlexTensor {
    assert_eq!(
        t.dtype(),
        DType::F32,
        "fused head: f32 tensors only (got {:?})",
        t.dtype()
    );
    if t.is_contiguous() {
        t.clone()
    } else {
        t.to_contiguous()
    }
}

fn tensor(data: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

/// Rows per chunk and vocabulary entries per block for `rows` rows, `vocab` entries and a
/// budget of `elements` logits per block.
fn blocking(rows: usize, vocab: usize, elements: usize) -> (usize, usize) {
    let elements = elements.max(1);
    let r = rows.clamp(1, (elements / MIN_BLOCK).max(1));
    let vb = (elements / r).clamp(1, vocab.max(1));
    (r, vb)
}

/// Per-row running state of the online log-sum-exp.
#[derive(Clone, Copy)]
struct Row {
    m: f32,
    s: f32,
    t: f32,
    zy: f32,
}

pub(super) fn forward(
    hidden: FloatTensor<Flex>,
    weight: FloatTensor<Flex>,
    bias: FloatTensor<Flex>,
    targets: &[u32],
    spec: &HeadSpec,
) -> FloatTensor<Flex> {
    let h = contiguous_f32(&hidden);
    let w = contiguous_or_strided(&weight);
    let b = spec.has_bias.then(|| contiguous_f32(&bias));
    let (wv, vocab, d) = weight_view(&w, spec);
    let n = h.layout().shape()[0];
    assert_eq!(h.layout().shape()[1], d, "fused head: hidden width");
    assert_eq!(targets.len(), n, "fused head: one target per row");
    if let Some(&bad) = targets.iter().find(|&&y| y as usize >= vocab) {
        panic!("fused head: target id {bad} outside the vocabulary of {vocab}");
    }
    let hs = h.as_slice::<f32>().expect("contiguous");
    let bs = b.as_ref().map(|b| b.as_slice::<f32>().expect("contiguous"));
    let inv_tau = 1.0 / spec.temperature;
    let (rows_per_chunk, vb_max) = blocking(n, vocab, spec.block_elements);
    let mut out = vec![0.0f32; n * 3];
    let mut buf = vec![0.0f32; rows_per_chunk * vb_max];
    let hv = View {
        ptr: hs.as_ptr(),
        rs: d as isize,
        cs: 1,
    };
    for r0 in (0..n).step_by(rows_per_chunk) {
        let rows = rows_per_chunk.min(n - r0);
        let mut state = vec![
            Row {
                m: f32::NEG_INFINITY,
                s: 0.0,
                t: 0.0,
                zy: 0.0,
            };
            rows
        ];
        for v0 in (0..vocab).step_by(vb_max) {
            let vb = vb_max.min(vocab - v0);
            let u = &mut buf[..rows * vb];
            // SAFETY: the views stay inside h (rows r0 ..) and w (rows v0 ..).
            unsafe { logits_block(u, rows, vb, d, hv.at(r0, 0), wv.at(v0, 0)) };
            let bias = bs.map(|b| &b[v0..v0 + vb]);
            u.par_chunks_mut(vb)
                .zip(state.par_iter_mut())
                .enumerate()
                .for_each(|(i, (z, st))| {
                    let m_blk = simd::scale_max(z, bias, inv_tau);
                    if m_blk > st.m {
                        if st.s > 0.0 {
                            let f = (st.m - m_blk).exp();
                            st.t = f * (st.t + st.s * (st.m - m_blk));
                            st.s *= f;
                        }
                        st.m = m_blk;
                    }
                    let (s, t) = simd::exp_sums(z, st.m);
                    st.s += s;
                    st.t += t;
                    let y = targets[r0 + i] as usize;
                    if (v0..v0 + vb).contains(&y) {
                        st.zy = z[y - v0];
                    }
                });
        }
        for (i, st) in state.iter().enumerate() {
            let ln_s = st.s.ln();
            let lse = st.m + ln_s;
            let o = &mut out[(r0 + i) * 3..(r0 + i) * 3 + 3];
            o[0] = st.zy - lse;
            o[1] = ln_s - st.t / st.s;
            o[2] = lse;
        }
    }
    tensor(out, vec![n, 3])
}

/// The weight as given when its strides are positive (the GEMM reads any layout), else a
/// contiguous copy.
fn contiguous_or_strided(w: &FlexTensor) -> FlexTensor {
    assert_eq!(w.dtype(), DType::F32, "fused head: f32 weights only");
    if w.layout().strides().iter().all(|&s| s > 0) {
        w.clone()
    } else {
        w.to_contiguous()
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn backward(
    hidden: FloatTensor<Flex>,
    weight: FloatTensor<Flex>,
    bias: FloatTensor<Flex>,
    stats: FloatTensor<Flex>,
    grad: FloatTensor<Flex>,
    targets: &[u32],
    spec: &HeadSpec,
    need: [bool; 3],
    acc: Option<FloatTensor<Flex>>,
) -> (FloatTensor<Flex>, FloatTensor<Flex>, FloatTensor<Flex>) {
    let h = contiguous_f32(&hidden);
    let w = contiguous_or_strided(&weight);
    let b = spec.has_bias.then(|| contiguous_f32(&bias));
    let (wv, vocab, d) = weight_view(&w, spec);
    let n = h.layout().shape()[0];
    let stats = contiguous_f32(&stats);
    let grad = contiguous_f32(&grad);
    let st = stats.as_slice::<f32>().expect("contiguous");
    let g = grad.as_slice::<f32>().expect("contiguous");
    let hs = h.as_slice::<f32>().expect("contiguous");
    let bs = b.as_ref().map(|b| b.as_slice::<f32>().expect("contiguous"));
    let inv_tau = 1.0 / spec.temperature;
    let [need_h, need_w, need_b] = need;
    let need_b = need_b && spec.has_bias;

    // Rows whose upstream gradient is zero (padding, prompts) contribute nothing.
    let active: Vec<usize> = (0..n)
        .filter(|&i| g[i * 3] != 0.0 || g[i * 3 + 1] != 0.0)
        .collect();
    let na = active.len();
    let mut ha = Vec::with_capacity(na * d);
    for &i in &active {
        ha.extend_from_slice(&hs[i * d..(i + 1) * d]);
    }
    let hv = View {
        ptr: ha.as_ptr(),
        rs: d as isize,
        cs: 1,
    };
    let mut gha = vec![0.0f32; if need_h { na * d } else { 0 }];
    let w_shape = w.layout().shape().to_vec();
    // The weight's gradient: added into `acc` (the gradient already registered for the
    // weight, e.g. by the tied embedding's lookup) when given, else a fresh buffer.
    let mut acc = acc.filter(|_| need_w).map(|a| {
        assert_eq!(
            a.layout().shape().to_vec(),
            w_shape,
            "fused head: gradient shape"
        );
        let a = contiguous_f32(&a);
        if a.is_unique() {
            a
        } else {
            tensor(
                a.as_slice::<f32>().expect("contiguous").to_vec(),
                w_shape.clone(),
            )
        }
    });
    let accumulate = acc.is_some();
    let mut fresh = vec![0.0f32; if need_w && !accumulate { vocab * d } else { 0 }];
    let gw: &mut [f32] = match acc.as_mut() {
        Some(a) => a.try_storage_mut::<f32>().expect("unique"),
        None => &mut fresh,
    };
    // The gradient of the weight in its own (contiguous) layout, as a vocabulary-major view.
    let (gw_rs, gw_cs) = if spec.vocab_major {
        (d as isize, 1)
    } else {
        (1, vocab as isize)
    };
    let mut gb = vec![0.0f32; if need_b { vocab } else { 0 }];

    let (rows_per_chunk, vb_max) = blocking(na, vocab, spec.block_elements);
    let mut buf = vec![0.0f32; if na > 0 { rows_per_chunk * vb_max } else { 0 }];
    for r0 in (0..na).step_by(rows_per_chunk.max(1)) {
        let rows = rows_per_chunk.min(na - r0);
        let first_chunk = r0 == 0;
        for v0 in (0..vocab).step_by(vb_max) {
            let vb = vb_max.min(vocab - v0);
            let u = &mut buf[..rows * vb];
            // SAFETY: the views stay inside ha (rows r0 ..) and w (rows v0 ..).
            unsafe { logits_block(u, rows, vb, d, hv.at(r0, 0), wv.at(v0, 0)) };
            let bias = bs.map(|b| &b[v0..v0 + vb]);
            u.par_chunks_mut(vb).enumerate().for_each(|(i, row)| {
                let r = active[r0 + i];
                let (g_lp, g_h) = (g[r * 3], g[r * 3 + 1]);
                let (ent, lse) = (st[r * 3 + 1], st[r * 3 + 2]);
                let c0 = g_lp + g_h * (ent - lse);
                simd::grad_row(row, bias, inv_tau, lse, c0, g_h);
                let y = targets[r] as usize;
                if (v0..v0 + vb).contains(&y) {
                    row[y - v0] += g_lp * inv_tau;
                }
            });
            let gv = View {
                ptr: u.as_ptr(),
                rs: vb as isize,
                cs: 1,
            };
            if need_h {
                // SAFETY: gha holds na × d floats; gv and the weight view are in bounds.
                unsafe {
                    matmul(
                        rows,
                        d,
                        vb,
                        gha[r0 * d..].as_mut_ptr(),
                        d as isize,
                        1,
                        v0 > 0,
                        gv,
                        wv.at(v0, 0),
                    )
                };
            }
            if need_w {
                // SAFETY: the destination block lies inside gw (vocab × d floats).
                unsafe {
                    let dst = gw.as_mut_ptr().offset(v0 as isize * gw_rs);
                    matmul(
                        vb,
                        d,
                        rows,
                        dst,
                        gw_rs,
                        gw_cs,
                        accumulate || !first_chunk,
                        gv.t(),
                        hv.at(r0, 0),
                    )
                };
            }
            if need_b {
                for row in u.chunks(vb) {
                    for (acc, x) in gb[v0..v0 + vb].iter_mut().zip(row) {
                        *acc += x;
                    }
                }
            }
        }
    }

    let gh = if need_h {
        let mut full = vec![0.0f32; n * d];
        for (k, &i) in active.iter().enumerate() {
            full[i * d..(i + 1) * d].copy_from_slice(&gha[k * d..(k + 1) * d]);
        }
        tensor(full, vec![n, d])
    } else {
        tensor(vec![0.0], vec![1])
    };
    let gw = if let Some(acc) = acc {
        acc
    } else if need_w {
        tensor(fresh, w_shape)
    } else {
        tensor(vec![0.0], vec![1])
    };
    let gb = if need_b {
        tensor(gb, vec![vocab])
    } else {
        tensor(vec![0.0], vec![1])
    };
    (gh, gw, gb)
}

impl FusedHeadBackend for Flex {
    fn fused_head_forward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        targets: Vec<u32>,
        spec: HeadSpec,
    ) -> FloatTensor<Self> {
        forward(hidden, weight, bias, &targets, &spec)
    }

    #[allow(clippy::too_many_arguments)]
    fn fused_head_backward(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        targets: Vec<u32>,
        spec: HeadSpec,
        need: [bool; 3],
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        backward(
            hidden, weight, bias, stats, grad, &targets, &spec, need, None,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn fused_head_weight_grad(
        hidden: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        targets: Vec<u32>,
        spec: HeadSpec,
        acc: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        // A `[1]` placeholder means no gradient is registered yet.
        let acc = (acc.layout().num_elements() > 1).then_some(acc);
        let need = [false, true, false];
        backward(
            hidden, weight, bias, stats, grad, &targets, &spec, need, acc,
        )
        .1
    }
}

/// Logits `[B, V]` (row-major) of hidden rows `h` (`[B, d]`) through the projection, on the
/// host: the weights are streamed once in vocabulary blocks spread over the rayon pool.
fn small_batch_logits(
    h: &[f32],
    b: usize,
    w: &FlexTensor,
    bias: Option<&[f32]>,
    spec: &HeadSpec,
) -> Vec<f32> {
    let w = contiguous_or_strided(w);
    let (wv, vocab, d) = weight_view(&w, spec);
    let mut logits = Vec::with_capacity(b * vocab);
    if wv.cs == 1 && spec.vocab_major {
        // Vocabulary rows are contiguous: blocks of rows spread over the pool, each writing
        // its columns of every hidden row's logits.
        const BLOCK: usize = 2048;
        let storage = &w.storage::<f32>()[w.layout().start_offset()..];
        let rs = wv.rs as usize;
        let out = DisjointWrites::new(logits.spare_capacity_mut().as_mut_ptr() as *mut f32);
        (0..vocab.div_ceil(BLOCK)).into_par_iter().for_each(|blk| {
            let v0 = blk * BLOCK;
            let rows = BLOCK.min(vocab - v0);
            let end = (v0 + rows - 1) * rs + d;
            // SAFETY: the buffer has room for b rows of `vocab`; this block alone writes
            // columns v0 .. v0 + rows of each.
            unsafe {
                super::project::project(
                    &storage[v0 * rs..end],
                    rs,
                    d,
                    h,
                    b,
                    rows,
                    out.at(v0),
                    vocab,
                )
            };
        });
        // SAFETY: the blocks cover every column of every row.
        unsafe { logits.set_len(b * vocab) };
    } else {
        let hv = View {
            ptr: h.as_ptr(),
            rs: d as isize,
            cs: 1,
        };
        logits.resize(b * vocab, 0.0);
        // SAFETY: `logits` holds b × vocab floats; the views stay inside h and w.
        unsafe {
            matmul(
                b,
                vocab,
                d,
                logits.as_mut_ptr(),
                vocab as isize,
                1,
                false,
                hv,
                wv.t(),
            )
        };
    }
    if let Some(bias) = bias {
        for row in logits.chunks_exact_mut(vocab) {
            row.iter_mut().zip(bias).for_each(|(x, b)| *x += b);
        }
    }
    logits
}

/// Picks one row's token from its raw logits `z` (modified in place); returns the token and
/// its log-prob (under `softmax(z/τ)`, or `softmax(z)` when greedy).
fn pick_row(z: &mut [f32], pick: &Pick, u: f32) -> (u32, f32) {
    match pick {
        Pick::Greedy => {
            let mut best = 0;
            for (i, &x) in z.iter().enumerate() {
                if x > z[best] {
                    best = i;
                }
            }
            let m = z[best];
            let (s, _) = simd::exp_sums(z, m);
            (best as u32, -s.ln())
        }
        Pick::Sample {
            temperature, top_k, ..
        } => {
            let m = simd::scale_max(z, None, 1.0 / temperature);
            let (s, _) = simd::exp_sums(z, m);
            let lse = m + s.ln();
            // Keep the k largest (ties at the k-th included), as the device path does.
            let kth = match top_k {
                Some(k) if *k < z.len() => {
                    let mut scratch = z.to_vec();
                    let (_, kth, _) = scratch.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
                    Some(*kth)
                }
                _ => None,
            };
            let total = match kth {
                Some(kth) => z
                    .iter()
                    .filter(|&&x| x >= kth)
                    .map(|&x| simd::exp(x - m))
                    .sum::<f32>(),
                None => s,
            };
            // Inverse CDF: the first token whose cumulative mass exceeds u·total (the last
            // kept token when rounding leaves the total short).
            let floor = kth.unwrap_or(f32::NEG_INFINITY);
            let tok = simd::cdf_index(z, m, floor, u * total)
                .unwrap_or_else(|| z.iter().rposition(|&x| x >= floor).unwrap_or(z.len() - 1));
            (tok as u32, z[tok] - lse)
        }
    }
}

/// [`super::next_tokens`] on Flex tensors.
pub(super) fn next_tokens(
    hidden: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    spec: &HeadSpec,
    pick: &Pick,
) -> NextTokens {
    let h = contiguous_f32(hidden);
    let b = h.layout().shape()[0];
    let hs = h.as_slice::<f32>().expect("contiguous");
    let bias = bias.map(contiguous_f32);
    let bs = bias
        .as_ref()
        .map(|t| t.as_slice::<f32>().expect("contiguous"));
    let mut logits = small_batch_logits(hs, b, weight, bs, spec);
    let vocab = logits.len() / b.max(1);
    let uniforms: Vec<f32> = match pick {
        Pick::Sample { uniforms, .. } => uniforms.clone(),
        Pick::Greedy => vec![0.0; b],
    };
    assert_eq!(uniforms.len(), b, "one uniform per row");
    let picked: Vec<(u32, f32)> = logits
        .par_chunks_mut(vocab)
        .zip(uniforms.par_iter())
        .map(|(z, &u)| pick_row(z, pick, u))
        .collect();
    NextTokens {
        tokens: picked.iter().map(|p| p.0).collect(),
        logprobs: picked.iter().map(|p| p.1).collect(),
    }
}
