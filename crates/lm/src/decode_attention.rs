//! Attention for a decoding step, in one pass per query head on the host.
//!
//! ```text
//! s_j = scale · q·k_j            (j over the S cached keys; blocked keys skipped)
//! p_j = exp(s_j − max s) / Σ exp(s − max s)
//! ctx = Σ_j p_j · v_j
//! ```
//!
//! (Vaswani et al. 2017, eq. 1, with grouped-query heads: query head `h` reads key/value head
//! `h / n_rep`, Ainslie et al. 2023.) A decoding step has one query per row; through burn's
//! operations each layer runs two batched matrix products of one row each, a scale, a masked
//! fill of an expanded mask and a five-operation softmax, every one allocating a tensor. Here
//! each (row, query head) reads its keys and values through the cache's strides once. A row
//! whose keys are all blocked attends uniformly, as the composed path does (there every score
//! is the same fill value).
//!
//! Only for inference (no autodiff) on a plain Flex device with at most [`MAX_QUERIES`] query
//! positions; [`attend`] returns `None` otherwise (and with `LM_DECODE_ATTENTION=0`), and the
//! caller takes the composed path.

use burn::tensor::{Bool, DType, Tensor};

/// Most query positions per row this path takes (decoding steps have one).
pub const MAX_QUERIES: usize = 4;

/// Environment variable that switches this path off when set to `0`.
pub const DECODE_ATTENTION_ENV: &str = "LM_DECODE_ATTENTION";

/// `ctx: [B, H, T, hd]` for `q: [B, H, T, hd]`, `k`, `v: [B, H_kv, S, hd]` and
/// `blocked: [B, 1, T, S]` (true = the key is not visible), or `None` when this path does not
/// apply (see the module documentation).
pub fn attend(
    q: &Tensor<4>,
    k: &Tensor<4>,
    v: &Tensor<4>,
    blocked: &Tensor<4, Bool>,
    scale: f64,
) -> Option<Tensor<4>> {
    let [b, h, t, hd] = q.dims();
    let [kb, hkv, s, khd] = k.dims();
    let device = q.device();
    let applies = cfg!(feature = "flex")
        && t <= MAX_QUERIES
        && kb == b
        && khd == hd
        && hkv > 0
        && h % hkv == 0
        && v.dims() == k.dims()
        && blocked.dims() == [b, 1, t, s]
        && q.dtype() == DType::F32
        && !device.is_autodiff()
        && crate::device::is_flex(&device)
        && std::env::var(DECODE_ATTENTION_ENV).map_or(true, |v| v.trim() != "0");
    if !applies {
        return None;
    }
    #[cfg(feature = "flex")]
    {
        let mask: Vec<bool> = blocked.clone().into_data().to_vec::<bool>().ok()?;
        flex::attend(q.clone(), k.clone(), v.clone(), &mask, scale as f32)
    }
    #[cfg(not(feature = "flex"))]
    None
}

#[cfg(feature = "flex")]
mod kernels {
    use crate::simd::{LANES, dispatched, exp_f, madd};

    #[inline(always)]
    fn dot<const F: bool>(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; LANES];
        let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..LANES {
                acc[i] = madd::<F>(x[i], y[i], acc[i]);
            }
        }
        let mut s: f32 = acc.iter().sum();
        for (x, y) in ra.iter().zip(rb) {
            s += x * y;
        }
        s
    }

    /// One query row: `out = Σ_j p_j v_j` over the keys `key(j)`, values `value(j)`,
    /// `blocked[j]` skipped (all blocked: uniform). `scores` is scratch of length `S`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn row_impl<const F: bool>(
        q: &[f32],
        keys: &[f32],
        values: &[f32],
        stride: usize,
        blocked: &[bool],
        scale: f32,
        scores: &mut [f32],
        out: &mut [f32],
    ) {
        let hd = q.len();
        let all_blocked = blocked.iter().all(|&x| x);
        let mut m = f32::NEG_INFINITY;
        for (j, sc) in scores.iter_mut().enumerate() {
            *sc = if all_blocked || !blocked[j] {
                let x = if all_blocked {
                    0.0
                } else {
                    dot::<F>(q, &keys[j * stride..j * stride + hd]) * scale
                };
                if x > m {
                    m = x;
                }
                x
            } else {
                f32::NEG_INFINITY
            };
        }
        let mut sum = 0.0f32;
        for sc in scores.iter_mut() {
            *sc = if *sc == f32::NEG_INFINITY {
                0.0
            } else {
                exp_f::<F>(*sc - m)
            };
            sum += *sc;
        }
        out.iter_mut().for_each(|o| *o = 0.0);
        let inv = 1.0 / sum;
        for (j, &p) in scores.iter().enumerate() {
            if p != 0.0 {
                let w = p * inv;
                let v = &values[j * stride..j * stride + hd];
                for (o, &x) in out.iter_mut().zip(v) {
                    *o = madd::<F>(w, x, *o);
                }
            }
        }
    }

    dispatched!(
        /// One query row of decoding attention (see `row_impl`).
        row, row_impl, (q: &[f32], keys: &[f32], values: &[f32], stride: usize, blocked: &[bool], scale: f32, scores: &mut [f32], out: &mut [f32]) -> ()
    );
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::tensor::{Tensor, TensorData};
    use burn_flex::FlexTensor;
    use rayon::prelude::*;

    use super::kernels::row;

    /// Storage, start offset and the strides of dims 0..3 of a tensor whose last dimension
    /// is dense, or `None`.
    fn view(t: &FlexTensor) -> Option<(&[f32], usize, [usize; 3])> {
        let l = t.layout();
        let st = l.strides();
        if st[3] != 1 || !l.has_positive_strides() {
            return None;
        }
        let s = [st[0] as usize, st[1] as usize, st[2] as usize];
        Some((t.storage::<f32>(), l.start_offset(), s))
    }

    pub fn attend(
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        mask: &[bool],
        scale: f32,
    ) -> Option<Tensor<4>> {
        let [b, h, t, hd] = q.dims();
        let [_, hkv, s, _] = k.dims();
        let n_rep = h / hkv;
        let (q, k, v) = (
            q.try_into_primitive::<Flex>().ok()?,
            k.try_into_primitive::<Flex>().ok()?,
            v.try_into_primitive::<Flex>().ok()?,
        );
        let (qs, qo, qst) = view(&q)?;
        let (ks, ko, kst) = view(&k)?;
        let (vs, vo, vst) = view(&v)?;
        // Keys and values are read row by row with one stride between positions.
        if kst[2] != vst[2] {
            return None;
        }
        let mut out = vec![0.0f32; b * h * t * hd];
        out.par_chunks_mut(t * hd)
            .enumerate()
            .for_each_init(
                || vec![0.0f32; s],
                |scores, (bh, out)| {
                    let (bi, hi) = (bh / h, bh % h);
                    let g = hi / n_rep;
                    let kbase = ko + bi * kst[0] + g * kst[1];
                    let vbase = vo + bi * vst[0] + g * vst[1];
                    let klen = (s - 1) * kst[2] + hd;
                    for ti in 0..t {
                        let q0 = qo + bi * qst[0] + hi * qst[1] + ti * qst[2];
                        let m0 = (bi * t + ti) * s;
                        row(
                            &qs[q0..q0 + hd],
                            &ks[kbase..kbase + klen],
                            &vs[vbase..vbase + klen],
                            kst[2],
                            &mask[m0..m0 + s],
                            scale,
                            scores,
                            &mut out[ti * hd..(ti + 1) * hd],
                        );
                    }
                },
            );
        let out = FlexTensor::from_data(TensorData::new(out, [b, h, t, hd]));
        Some(Tensor::from_primitive::<Flex>(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::softmax;
    use burn::tensor::{Device, Distribution};

    /// The composed attention of `Attention::forward` (grouped heads, masked fill, softmax).
    fn composed(q: Tensor<4>, k: Tensor<4>, v: Tensor<4>, blocked: Tensor<4, Bool>, scale: f64) -> Tensor<4> {
        let [b, h, t, hd] = q.dims();
        let [_, hkv, s, _] = k.dims();
        let q = q.reshape([b, hkv, h / hkv * t, hd]);
        let scores = q.matmul(k.swap_dims(2, 3)).reshape([b, h, t, s]) * scale;
        let scores = scores.mask_fill(blocked.expand([b, h, t, s]), crate::model::MASKED_SCORE);
        let probs = softmax(scores, 3).reshape([b, hkv, h / hkv * t, s]);
        probs.matmul(v).reshape([b, h, t, hd])
    }

    /// Equal to the composed path to float rounding: grouped heads, keys read through the
    /// strides of a cache buffer's prefix, rows with some, none and all keys blocked, one and
    /// several query positions.
    #[test]
    fn equals_the_composed_attention() {
        let dev = Device::flex();
        for (t, h, hkv) in [(1usize, 4usize, 2usize), (3, 4, 4), (1, 8, 1)] {
            let (b, s, cap, hd) = (3, 7, 10, 20);
            let q = Tensor::<4>::random([b, h, t, hd], Distribution::Normal(0.0, 1.0), &dev);
            let kc = Tensor::<4>::random([b, hkv, cap, hd], Distribution::Normal(0.0, 1.0), &dev);
            let vc = Tensor::<4>::random([b, hkv, cap, hd], Distribution::Normal(0.0, 1.0), &dev);
            let (k, v) = (kc.narrow(2, 0, s), vc.narrow(2, 0, s));
            // Row 0: nothing blocked; row 1: keys 0..2 blocked; row 2: everything blocked.
            let mut m = vec![false; b * t * s];
            for ti in 0..t {
                for j in 0..2 {
                    m[(t + ti) * s + j] = true;
                }
                for j in 0..s {
                    m[(2 * t + ti) * s + j] = true;
                }
            }
            let blocked = Tensor::<4, Bool>::from_data(burn::tensor::TensorData::new(m, [b, 1, t, s]), &dev);
            let want: Vec<f32> = composed(q.clone(), k.clone(), v.clone(), blocked.clone(), 0.3)
                .into_data()
                .to_vec()
                .unwrap();
            let got: Vec<f32> = attend(&q, &k, &v, &blocked, 0.3).expect("applies").into_data().to_vec().unwrap();
            for (i, (a, e)) in got.iter().zip(&want).enumerate() {
                assert!((a - e).abs() <= 1e-5 * (1.0 + e.abs()), "t {t} h {h}/{hkv} [{i}]: {a} vs {e}");
            }
        }
    }

    /// Training forwards (autodiff) and long queries take the composed path.
    #[test]
    fn declines_autodiff_and_long_queries() {
        let ad = Device::flex().autodiff();
        let q = Tensor::<4>::zeros([1, 2, 1, 4], &ad);
        let k = Tensor::<4>::zeros([1, 2, 3, 4], &ad);
        let blocked = Tensor::<4, Bool>::empty([1, 1, 1, 3], &ad);
        assert!(attend(&q, &k, &k, &blocked, 1.0).is_none());
        let dev = Device::flex();
        let q = Tensor::<4>::zeros([1, 2, MAX_QUERIES + 1, 4], &dev);
        let k = Tensor::<4>::zeros([1, 2, 9, 4], &dev);
        let blocked = Tensor::<4, Bool>::empty([1, 1, MAX_QUERIES + 1, 9], &dev);
        assert!(attend(&q, &k, &k, &blocked, 1.0).is_none());
    }
}
