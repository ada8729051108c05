//! Rotary position embedding as one operation with a hand-written backward.
//!
//! ```text
//! forward:   y₁ = x₁·cos − x₂·sin,   y₂ = x₂·cos + x₁·sin        x = [x₁ | x₂] (halves of head_dim)
//! backward:  ∂L/∂x₁ = g₁·cos + g₂·sin,   ∂L/∂x₂ = g₂·cos − g₁·sin    (the inverse rotation)
//! ```
//!
//! (Su et al. 2021, "RoFormer", eq. 34, in the half-split layout of GPT-NeoX and Hugging Face's
//! `rotate_half`.) Composed from burn's operations it is two `narrow`s, four products, a sum,
//! a difference and a `cat` for each of q and k — eight operations, each allocating, per layer
//! and decoding step — and reading a transposed view first costs a copy. This operation
//! reads `x` through its strides (the `[B, T, H, d] → [B, H, T, d]` view of a projection needs
//! no copy), writes `y` in one pass and keeps nothing for the backward but the tables. Each
//! element is computed with the same two products and one sum as the composed path, so the
//! values are identical (tested).
//!
//! It is a burn backend extension implemented for Flex (with and without autodiff);
//! elsewhere, or with `LM_FUSED_ROPE=0`, [`rope`] is the composed expression.

use burn::tensor::Tensor;

/// The backend operations (a burn backend extension).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait RopeBackend: burn::backend::Backend {
    /// `x: [B, H, T, d]` rotated by `cos`, `sin: [B or 1, 1, T, d/2]`, `[B, H, T, d]`.
    fn rope_forward(
        x: burn::backend::tensor::FloatTensor<Self>,
        cos: burn::backend::tensor::FloatTensor<Self>,
        sin: burn::backend::tensor::FloatTensor<Self>,
        inverse: bool,
    ) -> burn::backend::tensor::FloatTensor<Self>;
}

/// Environment variable that switches the fused operation off when set to `0`.
pub const FUSED_ROPE_ENV: &str = "LM_FUSED_ROPE";

/// `x: [B, H, T, d]` rotated by the tables `cos`, `sin: [B or 1, 1, T, d/2]` (see the module
/// documentation). The tables carry no gradient.
pub fn rope(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    if !available(&x) {
        return composed(x, cos, sin);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let y = <Dispatch as RopeBackend>::rope_forward(
            x.into_dispatch(),
            cos.detach().into_dispatch(),
            sin.detach().into_dispatch(),
            false,
        );
        Tensor::from_dispatch(y)
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("available() is false without flex")
}

/// The same rotation from burn's operations.
pub fn composed(x: Tensor<4>, cos: Tensor<4>, sin: Tensor<4>) -> Tensor<4> {
    let half = x.dims()[3] / 2;
    let x1 = x.clone().narrow(3, 0, half);
    let x2 = x.narrow(3, half, half);
    Tensor::cat(
        vec![
            x1.clone() * cos.clone() - x2.clone() * sin.clone(),
            x2 * cos + x1 * sin,
        ],
        3,
    )
}

fn available(x: &Tensor<4>) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    x.dims()[3].is_multiple_of(2)
        && crate::device::fused_op_enabled(&x.device(), x.dtype(), FUSED_ROPE_ENV, &ON)
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::{DType, TensorData};
    use burn_flex::FlexTensor;

    use crate::flex_buffers::contiguous;
    use rayon::prelude::*;

    use super::RopeBackend;

    /// Rows (of `d` elements) below which the rotation runs on the calling thread.
    const PARALLEL_ROWS: usize = 256;

    /// One row: `y = [x₁c − x₂s | x₂c + x₁s]`, or the inverse rotation.
    #[inline(always)]
    fn rotate(x: &[f32], c: &[f32], s: &[f32], y: &mut [f32], inverse: bool) {
        let half = c.len();
        let (x1, x2) = x.split_at(half);
        let (y1, y2) = y.split_at_mut(half);
        if inverse {
            for i in 0..half {
                y1[i] = x1[i] * c[i] + x2[i] * s[i];
                y2[i] = x2[i] * c[i] - x1[i] * s[i];
            }
        } else {
            for i in 0..half {
                y1[i] = x1[i] * c[i] - x2[i] * s[i];
                y2[i] = x2[i] * c[i] + x1[i] * s[i];
            }
        }
    }

    impl RopeBackend for Flex {
        fn rope_forward(
            x: FloatTensor<Self>,
            cos: FloatTensor<Self>,
            sin: FloatTensor<Self>,
            inverse: bool,
        ) -> FloatTensor<Self> {
            assert_eq!(x.dtype(), DType::F32, "rope: f32 only");
            let (cos, sin) = (contiguous(cos, "rope"), contiguous(sin, "rope"));
            // Rows are read through the strides when the last dimension is dense.
            let x = if x.layout().strides()[3] == 1 && x.layout().has_positive_strides() {
                x
            } else {
                x.to_contiguous()
            };
            let shape = x.layout().shape().to_vec();
            let [b, h, t, d] = [shape[0], shape[1], shape[2], shape[3]];
            let half = d / 2;
            let tb = cos.layout().shape()[0];
            assert!(tb == b || tb == 1, "rope: tables for {tb} rows, input {b}");
            let st = x.layout().strides();
            let (s0, s1, s2) = (st[0] as usize, st[1] as usize, st[2] as usize);
            let off = x.layout().start_offset();
            let xs = x.storage::<f32>();
            let (cs, ss) = (
                cos.as_slice::<f32>().expect("contiguous"),
                sin.as_slice::<f32>().expect("contiguous"),
            );
            let mut y = vec![0.0f32; b * h * t * d];
            let row = |r: usize, out: &mut [f32]| {
                let (bi, rest) = (r / (h * t), r % (h * t));
                let (hi, ti) = (rest / t, rest % t);
                let src = off + bi * s0 + hi * s1 + ti * s2;
                let tab = ((if tb == 1 { 0 } else { bi }) * t + ti) * half;
                rotate(
                    &xs[src..src + d],
                    &cs[tab..tab + half],
                    &ss[tab..tab + half],
                    out,
                    inverse,
                );
            };
            if b * h * t < PARALLEL_ROWS {
                y.chunks_exact_mut(d)
                    .enumerate()
                    .for_each(|(r, o)| row(r, o));
            } else {
                y.par_chunks_exact_mut(d)
                    .enumerate()
                    .for_each(|(r, o)| row(r, o));
            }
            FlexTensor::from_data(TensorData::new(y, shape))
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

    use super::RopeBackend;

    #[derive(Debug)]
    struct RopeBackward;

    #[derive(Clone, Debug)]
    struct State<B: RopeBackend> {
        cos: FloatTensor<B>,
        sin: FloatTensor<B>,
        inverse: bool,
    }

    impl<B: RopeBackend> Backward<B, 1> for RopeBackward {
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
            // The rotation is orthogonal: its backward is the inverse rotation of the gradient.
            let dx = B::rope_forward(grad, s.cos, s.sin, !s.inverse);
            grads.register::<B>(node.id, dx);
        }
    }

    impl<B: RopeBackend, C: CheckpointStrategy> RopeBackend for Autodiff<B, C> {
        fn rope_forward(
            x: FloatTensor<Self>,
            cos: FloatTensor<Self>,
            sin: FloatTensor<Self>,
            inverse: bool,
        ) -> FloatTensor<Self> {
            let (x, x_node) = x.into_parts();
            let (cos, _) = cos.into_parts();
            let (sin, _) = sin.into_parts();
            let y = B::rope_forward(x, cos.clone(), sin.clone(), inverse);
            match RopeBackward
                .prepare::<C>([x_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(State { cos, sin, inverse }, y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn vec(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_into_vec_as().unwrap()
    }

    /// Identical values and gradients to the composed rotation, for a contiguous input and for
    /// the transposed view of a projection, with per-row and shared tables, on few rows (one
    /// thread) and many (the parallel path).
    #[test]
    fn equals_the_composed_rotation_in_values_and_gradients() {
        let dev = crate::select_device().unwrap().autodiff();
        for (b, t, tables_b) in [(2usize, 3usize, 2usize), (3, 50, 1), (4, 40, 4)] {
            let (h, d) = (4, 16);
            let proj = Tensor::<4>::random([b, t, h, d], Distribution::Normal(0.0, 1.0), &dev);
            let angles = Tensor::<4>::random(
                [tables_b, 1, t, d / 2],
                Distribution::Uniform(-3.0, 3.0),
                &dev,
            );
            let (cos, sin) = (angles.clone().cos(), angles.sin());
            let w = Tensor::<4>::random([b, h, t, d], Distribution::Normal(0.0, 1.0), &dev);
            for transposed in [false, true] {
                let run = |fused: bool| {
                    let p = proj.clone().require_grad();
                    let x = if transposed {
                        p.clone().swap_dims(1, 2)
                    } else {
                        p.clone().reshape([b, h, t, d])
                    };
                    let y = if fused {
                        rope(x, cos.clone(), sin.clone())
                    } else {
                        composed(x, cos.clone(), sin.clone())
                    };
                    let grads = (y.clone() * w.clone()).sum().backward();
                    (vec(y), vec(p.grad(&grads).unwrap()))
                };
                let (a, e) = (run(true), run(false));
                assert_eq!(a.0, e.0, "values, b {b} t {t} transposed {transposed}");
                assert_eq!(a.1, e.1, "gradients, b {b} t {t} transposed {transposed}");
            }
        }
    }

    /// Without autodiff: a quarter turn maps `[x₁ | x₂]` to `[−x₂ | x₁]`.
    #[test]
    fn quarter_turn() {
        let dev = Device::flex();
        let x = Tensor::<4>::from_floats([[[[1.0, 2.0, 3.0, 4.0]]]], &dev);
        let cos = Tensor::<4>::zeros([1, 1, 1, 2], &dev);
        let sin = Tensor::<4>::ones([1, 1, 1, 2], &dev);
        assert_eq!(vec(rope(x, cos, sin)), [-3.0, -4.0, 1.0, 2.0]);
    }
}
