//! The attention softmax (scale, key mask, softmax) as one operation with a hand-written
//! backward.
//!
//! ```text
//! forward:   z_j = scale · s_j  (key j visible),   p_j = exp(z_j − max z) / Σ_visible exp(z − max z)
//!            p_j = 0            (key j blocked)
//! backward:  ∂L/∂s_j = scale · p_j · (∂L/∂p_j − Σ_i p_i ∂L/∂p_i)   (visible j; 0 for blocked j)
//! ```
//!
//! (Vaswani et al. 2017, eq. 1.) A row whose keys are all blocked (a padding query) attends
//! uniformly and passes no gradient, exactly as the composed path does (there every score of
//! the row is the same fill value, and the fill blocks the gradient). Composed from burn's
//! operations this is a scale, a masked fill of an expanded mask and a five-operation
//! softmax, whose `exp` of the −10⁹ fill value takes libm's slow underflow path; autodiff
//! keeps `exp(z − m)` beside the probabilities. This operation keeps only the probabilities
//! (which the product with `V` holds anyway) and the host mask. The values equal the composed
//! path to float rounding (tested).
//!
//! It is a burn backend extension implemented for Flex (with and without autodiff);
//! elsewhere, and with `LM_FUSED_SOFTMAX=0`, [`masked_softmax`] is the composed expression.

use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Tensor};

use crate::model::MASKED_SCORE;

/// The backend operations (a burn backend extension).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait MaskedSoftmaxBackend: burn::backend::Backend {
    /// Probabilities of `scores: [B, H, T, S]` with `blocked` (`B·T·S` flags, shared by the
    /// heads) and `scale`.
    fn masked_softmax_forward(
        scores: burn::backend::tensor::FloatTensor<Self>,
        blocked: Vec<bool>,
        scale: f32,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `∂L/∂scores` from the probabilities and their upstream gradient.
    fn masked_softmax_backward(
        probs: burn::backend::tensor::FloatTensor<Self>,
        grad: burn::backend::tensor::FloatTensor<Self>,
        blocked: Vec<bool>,
        scale: f32,
    ) -> burn::backend::tensor::FloatTensor<Self>;
}

/// Environment variable that switches the operation off when set to `0`.
pub const FUSED_SOFTMAX_ENV: &str = "LM_FUSED_SOFTMAX";

/// `softmax(scale · scores` with blocked keys filled`)` over the last dimension, for
/// `scores: [B, H, T, S]` and `blocked: [B, 1, T, S]` (see the module documentation).
pub fn masked_softmax(scores: Tensor<4>, blocked: &Tensor<4, Bool>, scale: f64) -> Tensor<4> {
    let [b, _, t, s] = scores.dims();
    if !available(&scores) || blocked.dims() != [b, 1, t, s] {
        return composed(scores, blocked, scale);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let Ok(mask) = blocked.clone().into_data().try_to_vec::<bool>() else {
            return composed(scores, blocked, scale);
        };
        let p = <Dispatch as MaskedSoftmaxBackend>::masked_softmax_forward(
            scores.into_dispatch(),
            mask,
            scale as f32,
        );
        Tensor::from_dispatch(p)
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("available() is false without flex")
}

/// The same expression from burn's operations.
pub fn composed(scores: Tensor<4>, blocked: &Tensor<4, Bool>, scale: f64) -> Tensor<4> {
    let dims = scores.dims();
    let scores = (scores * scale).mask_fill(blocked.clone().expand(dims), MASKED_SCORE);
    softmax(scores, 3)
}

fn available(scores: &Tensor<4>) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    crate::device::fused_op_enabled(&scores.device(), scores.dtype(), FUSED_SOFTMAX_ENV, &ON)
}

#[cfg(feature = "flex")]
mod kernels {
    use crate::simd::{dispatched, exp_f};

    /// One row in place: scores → probabilities.
    #[inline(always)]
    fn forward_impl<const F: bool>(z: &mut [f32], blocked: &[bool], scale: f32) {
        if blocked.iter().all(|&x| x) {
            let u = 1.0 / z.len() as f32;
            z.iter_mut().for_each(|v| *v = u);
            return;
        }
        let mut m = f32::NEG_INFINITY;
        for (v, &b) in z.iter_mut().zip(blocked) {
            *v = if b { f32::NEG_INFINITY } else { *v * scale };
            if *v > m {
                m = *v;
            }
        }
        let mut sum = 0.0f32;
        for v in z.iter_mut() {
            *v = if *v == f32::NEG_INFINITY {
                0.0
            } else {
                exp_f::<F>(*v - m)
            };
            sum += *v;
        }
        let inv = 1.0 / sum;
        z.iter_mut().for_each(|v| *v *= inv);
    }

    /// One row in place: upstream gradient `g` → `∂L/∂scores`.
    #[inline(always)]
    fn backward_impl<const F: bool>(p: &[f32], g: &mut [f32], blocked: &[bool], scale: f32) {
        if blocked.iter().all(|&x| x) {
            g.iter_mut().for_each(|v| *v = 0.0);
            return;
        }
        let dot: f32 = p.iter().zip(g.iter()).map(|(p, g)| p * g).sum();
        for ((v, &p), &b) in g.iter_mut().zip(p).zip(blocked) {
            *v = if b { 0.0 } else { scale * p * (*v - dot) };
        }
    }

    dispatched!(
        /// Softmax of one row (see `forward_impl`).
        forward, forward_impl, (z: &mut [f32], blocked: &[bool], scale: f32) -> ()
    );
    dispatched!(
        /// Softmax backward of one row (see `backward_impl`).
        backward, backward_impl, (p: &[f32], g: &mut [f32], blocked: &[bool], scale: f32) -> ()
    );
}

#[cfg(feature = "flex")]
mod flex {
    use crate::flex_buffers::{contiguous, owned};
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use rayon::prelude::*;

    use super::MaskedSoftmaxBackend;
    use super::kernels::{backward, forward};

    /// Rows per parallel task.
    const ROWS_PER_TASK: usize = 64;

    /// Runs `f(row, mask_row)` over every `[.., S]` row of a `[B, H, T, S]` buffer, the mask
    /// row of (b, t) shared by the heads.
    fn rows(
        data: &mut [f32],
        shape: &[usize],
        blocked: &[bool],
        f: impl Fn(usize, &mut [f32], &[bool]) + Sync,
    ) {
        let (h, t, s) = (shape[1], shape[2], shape[3]);
        data.par_chunks_mut(ROWS_PER_TASK * s)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (i, row) in chunk.chunks_exact_mut(s).enumerate() {
                    let r = c * ROWS_PER_TASK + i;
                    let (bi, ti) = (r / (h * t), r % t);
                    let m0 = (bi * t + ti) * s;
                    f(r, row, &blocked[m0..m0 + s]);
                }
            });
    }

    impl MaskedSoftmaxBackend for Flex {
        fn masked_softmax_forward(
            scores: FloatTensor<Self>,
            blocked: Vec<bool>,
            scale: f32,
        ) -> FloatTensor<Self> {
            let mut z = owned(scores, "masked softmax");
            let shape = z.layout().shape().to_vec();
            let data = z.try_storage_mut::<f32>().expect("owned");
            rows(data, &shape, &blocked, |_, row, m| forward(row, m, scale));
            z
        }

        fn masked_softmax_backward(
            probs: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            blocked: Vec<bool>,
            scale: f32,
        ) -> FloatTensor<Self> {
            let probs = contiguous(probs, "masked softmax");
            let p = probs.as_slice::<f32>().expect("contiguous");
            let mut g = owned(grad, "masked softmax");
            let shape = g.layout().shape().to_vec();
            let s = shape[3];
            let data = g.try_storage_mut::<f32>().expect("owned");
            rows(data, &shape, &blocked, |r, row, m| {
                backward(&p[r * s..(r + 1) * s], row, m, scale)
            });
            g
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

    use super::MaskedSoftmaxBackend;

    #[derive(Debug)]
    struct SoftmaxBackward;

    #[derive(Clone, Debug)]
    struct State<B: MaskedSoftmaxBackend> {
        probs: FloatTensor<B>,
        blocked: Vec<bool>,
        scale: f32,
    }

    impl<B: MaskedSoftmaxBackend> Backward<B, 1> for SoftmaxBackward {
        type State = State<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 1>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let Some(node) = node else { return };
            let s = ops.state;
            let ds = B::masked_softmax_backward(s.probs, grad, s.blocked, s.scale);
            grads.register::<B>(node.id, ds);
        }
    }

    impl<B: MaskedSoftmaxBackend, C: CheckpointStrategy> MaskedSoftmaxBackend for Autodiff<B, C> {
        fn masked_softmax_forward(
            scores: FloatTensor<Self>,
            blocked: Vec<bool>,
            scale: f32,
        ) -> FloatTensor<Self> {
            let (z, node) = scores.into_parts();
            match SoftmaxBackward
                .prepare::<C>([node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let p = B::masked_softmax_forward(z, blocked.clone(), scale);
                    let state = State {
                        probs: p.clone(),
                        blocked,
                        scale,
                    };
                    prep.finish(state, p)
                }
                OpsKind::UnTracked(prep) => {
                    prep.finish(B::masked_softmax_forward(z, blocked, scale))
                }
            }
        }

        fn masked_softmax_backward(
            _probs: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _blocked: Vec<bool>,
            _scale: f32,
        ) -> FloatTensor<Self> {
            unreachable!("the masked softmax's backward runs on the inner backend")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData};

    fn floats(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    /// Values and score gradients equal the composed path, with rows of visible, partly and
    /// wholly blocked keys, across more rows than one parallel task.
    #[test]
    fn equals_the_composed_softmax_in_values_and_gradients() {
        let dev = crate::select_device().unwrap().autodiff();
        let (b, h, t, s) = (3, 4, 30, 33);
        let mut m = vec![false; b * t * s];
        for ti in 0..t {
            for j in 0..s {
                // Batch 0: causal; batch 1: causal and the first 5 keys padding; batch 2:
                // every key blocked for the first 3 queries.
                m[ti * s + j] = j > ti;
                m[(t + ti) * s + j] = j > ti || j < 5;
                m[(2 * t + ti) * s + j] = j > ti || ti < 3;
            }
        }
        let blocked = Tensor::<4, Bool>::from_data(TensorData::new(m, [b, 1, t, s]), &dev);
        let scores = Tensor::<4>::random([b, h, t, s], Distribution::Normal(0.0, 3.0), &dev);
        let w = Tensor::<4>::random([b, h, t, s], Distribution::Normal(0.0, 1.0), &dev);
        let run = |fused: bool| {
            let x = scores.clone().require_grad();
            let p = if fused {
                masked_softmax(x.clone(), &blocked, 0.37)
            } else {
                composed(x.clone(), &blocked, 0.37)
            };
            let grads = (p.clone() * w.clone()).sum().backward();
            (floats(p), floats(x.grad(&grads).unwrap()))
        };
        let (a, e) = (run(true), run(false));
        for (what, got, want) in [("p", &a.0, &e.0), ("ds", &a.1, &e.1)] {
            for (i, (x, y)) in got.iter().zip(want.iter()).enumerate() {
                assert!(
                    (x - y).abs() <= 1e-6 + 1e-5 * y.abs(),
                    "{what}[{i}]: {x} vs {y}"
                );
            }
        }
    }
}
