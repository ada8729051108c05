//! RMSNorm as one operation with a hand-written backward.
//!
//! ```text
//! forward:   r = 1 / √(mean(x²) + ε),   x̂ = x·r,   y = x̂ ⊙ w,   w = γ + o
//! backward:  ∂L/∂x = r·(∂L/∂y ⊙ w − x̂·mean(∂L/∂y ⊙ w ⊙ x̂))
//!            ∂L/∂γ = Σ_rows ∂L/∂y ⊙ x̂
//! ```
//!
//! (Zhang & Sennrich 2019, "Root Mean Square Layer Normalization", eqs. 3–4; the scale offset
//! `o` is 1 for Gemma's `(1 + γ)` and 0 otherwise, see [`crate::model::Norm`].) Composed from
//! burn's operations, autodiff keeps `x / rms` beside `x` for every norm (and the norm's output
//! is kept again by the projection that reads it); this operation keeps only `x` and `γ` and
//! recomputes `r` in the backward, in one pass per row instead of six operations. The values
//! equal the composed path to float rounding (tested).
//!
//! It is a burn backend extension implemented for Flex (with and without autodiff);
//! elsewhere, or with `LM_FUSED_NORM=0`, [`rms_norm`] is the composed expression.

use burn::tensor::Tensor;

/// The backend operations (a burn backend extension).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait RmsNormBackend: burn::backend::Backend {
    /// `y` over the last dimension of `x` (any rank), `gamma: [d]`.
    fn rms_norm_forward(
        x: burn::backend::tensor::FloatTensor<Self>,
        gamma: burn::backend::tensor::FloatTensor<Self>,
        spec: RmsSpec,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `(∂L/∂x, ∂L/∂γ)` for the upstream gradient `grad` (`∂L/∂γ` only when `need_gamma`,
    /// a `[1]` placeholder otherwise).
    fn rms_norm_backward(
        x: burn::backend::tensor::FloatTensor<Self>,
        gamma: burn::backend::tensor::FloatTensor<Self>,
        grad: burn::backend::tensor::FloatTensor<Self>,
        spec: RmsSpec,
        need_gamma: bool,
    ) -> (
        burn::backend::tensor::FloatTensor<Self>,
        burn::backend::tensor::FloatTensor<Self>,
    );
}

/// ε and the scale offset `o` of one call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsSpec {
    /// ε.
    pub eps: f32,
    /// `o` in `w = γ + o`.
    pub offset: f32,
}

/// Environment variable that switches the fused operation off when set to `0`.
pub const FUSED_NORM_ENV: &str = "LM_FUSED_NORM";

/// RMSNorm of `x` over its last dimension with scale `γ + offset` (see the module docs).
pub fn rms_norm<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    eps: f64,
    offset: f64,
) -> Tensor<D> {
    assert_eq!(
        x.dims()[D - 1],
        gamma.dims()[0],
        "rms_norm: last dimension vs γ"
    );
    if !available(&x) {
        return composed(x, gamma, eps, offset);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let spec = RmsSpec {
            eps: eps as f32,
            offset: offset as f32,
        };
        let y = <Dispatch as RmsNormBackend>::rms_norm_forward(
            x.into_dispatch(),
            gamma.into_dispatch(),
            spec,
        );
        Tensor::from_dispatch(y)
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("available() is false without flex")
}

/// The same expression from burn's operations.
pub fn composed<const D: usize>(
    x: Tensor<D>,
    gamma: Tensor<1>,
    eps: f64,
    offset: f64,
) -> Tensor<D> {
    let rms = (x.clone().square().mean_dim(D - 1) + eps).sqrt();
    let gamma = gamma.unsqueeze::<D>();
    let gamma = if offset == 0.0 { gamma } else { gamma + offset };
    x / rms * gamma
}

fn available<const D: usize>(x: &Tensor<D>) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    crate::device::fused_op_enabled(&x.device(), x.dtype(), FUSED_NORM_ENV, &ON)
}

#[cfg(feature = "flex")]
mod kernels {
    use crate::simd::{LANES, dispatched, madd};

    #[inline(always)]
    fn dot<const F: bool>(a: &[f32], b: &[f32]) -> f32 {
        let mut acc = [0.0f32; LANES];
        let mut ca = a.chunks_exact(LANES);
        let mut cb = b.chunks_exact(LANES);
        for (x, y) in (&mut ca).zip(&mut cb) {
            for i in 0..LANES {
                acc[i] = madd::<F>(x[i], y[i], acc[i]);
            }
        }
        let mut s: f32 = acc.iter().sum();
        for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
            s += x * y;
        }
        s
    }

    /// `1 / √(mean(x²) + ε)` of one row.
    #[inline(always)]
    fn rstd<const F: bool>(x: &[f32], eps: f32) -> f32 {
        1.0 / (dot::<F>(x, x) / x.len() as f32 + eps).sqrt()
    }

    /// Rows of `x` (`d` wide) normalised into `y` with scale `w`.
    #[inline(always)]
    fn forward_impl<const F: bool>(x: &[f32], w: &[f32], y: &mut [f32], eps: f32) {
        let d = w.len();
        for (x, y) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let r = rstd::<F>(x, eps);
            for i in 0..d {
                y[i] = x[i] * r * w[i];
            }
        }
    }

    /// Rows of `∂L/∂y` replaced by `∂L/∂x`; `∂L/∂γ` of these rows added into `dgamma` (when
    /// not empty).
    #[inline(always)]
    fn backward_impl<const F: bool>(
        x: &[f32],
        w: &[f32],
        dy: &mut [f32],
        dgamma: &mut [f32],
        eps: f32,
    ) {
        let d = w.len();
        for (x, dy) in x.chunks_exact(d).zip(dy.chunks_exact_mut(d)) {
            let r = rstd::<F>(x, eps);
            // mean(dy ⊙ w ⊙ x̂) = r · Σ dy·w·x / d
            let mut acc = [0.0f32; LANES];
            let mut i = 0;
            while i + LANES <= d {
                for l in 0..LANES {
                    acc[l] = madd::<F>(dy[i + l] * w[i + l], x[i + l], acc[l]);
                }
                i += LANES;
            }
            let mut s: f32 = acc.iter().sum();
            for j in i..d {
                s += dy[j] * w[j] * x[j];
            }
            let c = s * r * r / d as f32;
            if !dgamma.is_empty() {
                for j in 0..d {
                    dgamma[j] = madd::<F>(dy[j] * x[j], r, dgamma[j]);
                }
            }
            for j in 0..d {
                // In place: r·(dy·w − x·r·c') with c' = mean(dy·w·x̂) = r·s/d.
                dy[j] = r * (dy[j] * w[j] - x[j] * c);
            }
        }
    }

    dispatched!(
        /// RMSNorm of whole rows.
        forward, forward_impl, (x: &[f32], w: &[f32], y: &mut [f32], eps: f32) -> ()
    );
    dispatched!(
        /// RMSNorm's backward over whole rows.
        backward, backward_impl, (x: &[f32], w: &[f32], dy: &mut [f32], dgamma: &mut [f32], eps: f32) -> ()
    );
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::TensorData;
    use burn_flex::FlexTensor;

    use crate::flex_buffers::{contiguous, owned};
    use rayon::prelude::*;

    use super::kernels::{backward, forward};
    use super::{RmsNormBackend, RmsSpec};

    /// Elements per parallel chunk (whole rows).
    const CHUNK: usize = 1 << 14;

    fn scale(gamma: &FlexTensor, offset: f32) -> Vec<f32> {
        let g = gamma.as_slice::<f32>().expect("contiguous");
        g.iter().map(|g| g + offset).collect()
    }

    fn rows_per_chunk(d: usize) -> usize {
        (CHUNK / d).max(1)
    }

    impl RmsNormBackend for Flex {
        fn rms_norm_forward(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            spec: RmsSpec,
        ) -> FloatTensor<Self> {
            let (x, gamma) = (contiguous(x, "rms_norm"), contiguous(gamma, "rms_norm"));
            let shape = x.layout().shape().to_vec();
            let w = scale(&gamma, spec.offset);
            let d = w.len();
            let xs = x.as_slice::<f32>().expect("contiguous");
            let mut y = vec![0.0f32; xs.len()];
            let step = rows_per_chunk(d) * d;
            y.par_chunks_mut(step).enumerate().for_each(|(c, y)| {
                forward(&xs[c * step..c * step + y.len()], &w, y, spec.eps);
            });
            FlexTensor::from_data(TensorData::new(y, shape))
        }

        fn rms_norm_backward(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            spec: RmsSpec,
            need_gamma: bool,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            // ∂L/∂x is written over the upstream gradient (owned by the backward).
            let (x, gamma, mut dx) = (
                contiguous(x, "rms_norm"),
                contiguous(gamma, "rms_norm"),
                owned(grad, "rms_norm"),
            );
            let w = scale(&gamma, spec.offset);
            let d = w.len();
            let xs = x.as_slice::<f32>().expect("contiguous");
            let step = rows_per_chunk(d) * d;
            let width = if need_gamma { d } else { 0 };
            let partials: Vec<Vec<f32>> = dx
                .try_storage_mut::<f32>()
                .expect("owned")
                .par_chunks_mut(step)
                .enumerate()
                .map(|(c, dy)| {
                    let r = c * step..c * step + dy.len();
                    let mut dg = vec![0.0f32; width];
                    backward(&xs[r], &w, dy, &mut dg, spec.eps);
                    dg
                })
                .collect();
            let dgamma = if need_gamma {
                let mut sum = vec![0.0f32; d];
                for p in &partials {
                    sum.iter_mut().zip(p).for_each(|(s, v)| *s += v);
                }
                TensorData::new(sum, [d])
            } else {
                TensorData::new(vec![0.0f32], [1])
            };
            (dx, FlexTensor::from_data(dgamma))
        }
    }
}

#[cfg(feature = "flex")]
mod autodiff {
    use burn::backend::autodiff::Autodiff;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;

    use super::{RmsNormBackend, RmsSpec};

    #[derive(Debug)]
    struct RmsNormBackward;

    #[derive(Clone, Debug)]
    struct State<B: RmsNormBackend> {
        x: FloatTensor<B>,
        gamma: FloatTensor<B>,
        spec: RmsSpec,
    }

    impl<B: RmsNormBackend> Backward<B, 2> for RmsNormBackward {
        type State = State<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node_x, node_g] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let s = ops.state;
            let (dx, dgamma) = B::rms_norm_backward(s.x, s.gamma, grad, s.spec, node_g.is_some());
            if let Some(node) = node_x {
                grads.register::<B>(node.id, dx);
            }
            if let Some(node) = node_g {
                grads.register::<B>(node.id, dgamma);
            }
        }
    }

    impl<B: RmsNormBackend, C: CheckpointStrategy> RmsNormBackend for Autodiff<B, C> {
        fn rms_norm_forward(
            x: FloatTensor<Self>,
            gamma: FloatTensor<Self>,
            spec: RmsSpec,
        ) -> FloatTensor<Self> {
            let (x, x_node) = x.into_parts();
            let (gamma, g_node) = gamma.into_parts();
            let y = B::rms_norm_forward(x.clone(), gamma.clone(), spec);
            match RmsNormBackward
                .prepare::<C>([x_node, g_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(State { x, gamma, spec }, y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }

        fn rms_norm_backward(
            _x: FloatTensor<Self>,
            _gamma: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _spec: RmsSpec,
            _need_gamma: bool,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            unreachable!("RMSNorm's backward runs on the inner backend")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec_as().unwrap()
    }

    fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tol * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// Values and the gradients of `x` and `γ` equal the composed expression, with and
    /// without Gemma's offset, for a width that is and one that is not a multiple of the
    /// kernels' lanes, over more rows than one parallel chunk.
    #[test]
    fn equals_the_composed_expression_in_values_and_gradients() {
        let dev = crate::select_device().unwrap().autodiff();
        for (d, offset) in [(64usize, 0.0f64), (37, 1.0), (640, 1.0)] {
            let shape = [3, 200, d];
            let x = Tensor::<3>::random(shape, Distribution::Normal(0.5, 2.0), &dev);
            let gamma = Tensor::<1>::random([d], Distribution::Normal(0.0, 0.5), &dev);
            let w = Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &dev);
            let run = |fused: bool| {
                let (x, gamma) = (x.clone().require_grad(), gamma.clone().require_grad());
                let y = if fused {
                    rms_norm(x.clone(), gamma.clone(), 1e-6, offset)
                } else {
                    composed(x.clone(), gamma.clone(), 1e-6, offset)
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                (
                    vec(y),
                    vec(x.grad(&grads).unwrap()),
                    vec(gamma.grad(&grads).unwrap()),
                )
            };
            let (a, b) = (run(true), run(false));
            close(&a.0, &b.0, 1e-5, &format!("d {d} y"));
            close(&a.1, &b.1, 1e-4, &format!("d {d} dx"));
            // ∂L/∂γ sums 600 rows: relative to its scale.
            let scale = b.2.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            close(&a.2, &b.2, 1e-5 * scale, &format!("d {d} dγ"));
        }
    }

    /// Without autodiff: each row divided by its root mean square, times `γ + o`.
    #[test]
    fn plain_flex_forward() {
        let dev = Device::flex();
        let x = Tensor::<2>::from_floats([[3.0, 4.0], [1.0, -1.0]], &dev);
        let gamma = Tensor::<1>::from_floats([0.0, 1.0], &dev);
        let y = vec(rms_norm(x, gamma, 0.0, 1.0));
        let r0 = (12.5f32).sqrt();
        close(&y, &[3.0 / r0, 8.0 / r0, 1.0, -2.0], 1e-6, "rows");
    }
}
