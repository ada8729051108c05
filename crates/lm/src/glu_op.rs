//! The gated activation of a GLU feed-forward block as one operation with a hand-written
//! backward: SwiGLU (Llama) and GeGLU-tanh (Gemma).
//!
//! ```text
//! forward:   h = a(g) ⊙ u                         g = gate(x), u = up(x)
//! backward:  ∂L/∂g = ∂L/∂h ⊙ u ⊙ a'(g),   ∂L/∂u = ∂L/∂h ⊙ a(g)
//!
//! SiLU (Shazeer 2020, "GLU Variants Improve Transformer", eq. 6; Elfwing et al. 2018):
//!   a(g)  = g·σ(g)
//!   a'(g) = σ(g)·(1 + g·(1 − σ(g)))
//! GELU, tanh approximation (Hendrycks & Gimpel 2016, §2; `gelu_pytorch_tanh`):
//!   t     = tanh(√(2/π)·(g + 0.044715·g³))
//!   a(g)  = ½·g·(1 + t)
//!   a'(g) = ½·(1 + t) + ½·g·(1 − t²)·√(2/π)·(1 + 3·0.044715·g²)
//! ```
//!
//! Composed from burn's element-wise operations, autodiff keeps every intermediate its
//! backward needs: for GELU-tanh `tanh(·)`, `1 + tanh(·)` and `a(g)` besides `g` and `u`,
//! three `[tokens, d_ff]` tensors per layer more than this operation, which keeps only `g`
//! and `u` (recomputing `a(g)` in the backward), and one pass over memory instead of about
//! ten. On Gemma 3 270M (d_ff 2048, 18 layers) that is 216 MiB less per 512 tokens of
//! training batch. The values equal the composed path to float rounding (tested).
//!
//! It is a burn backend extension implemented for Flex (with and without autodiff);
//! elsewhere, or with `LM_FUSED_GLU=0`, [`gated_activation`] is the composed expression.

use burn::tensor::Tensor;
use burn::tensor::activation::{gelu_approximate, silu};

use crate::model::GateActivation;

/// The backend operations (a burn backend extension).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait GatedActivationBackend: burn::backend::Backend {
    /// `a(g) ⊙ u` for `g` and `u` of one shape.
    fn gated_forward(
        g: burn::backend::tensor::FloatTensor<Self>,
        u: burn::backend::tensor::FloatTensor<Self>,
        act: GateActivation,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `(∂L/∂g, ∂L/∂u)` for the upstream gradient `grad` of `a(g) ⊙ u`.
    fn gated_backward(
        g: burn::backend::tensor::FloatTensor<Self>,
        u: burn::backend::tensor::FloatTensor<Self>,
        grad: burn::backend::tensor::FloatTensor<Self>,
        act: GateActivation,
    ) -> (
        burn::backend::tensor::FloatTensor<Self>,
        burn::backend::tensor::FloatTensor<Self>,
    );
}

/// `a(g) ⊙ u` (see the module documentation): one fused operation on Flex, burn's
/// element-wise operations elsewhere. `g` and `u` must have the same shape.
pub fn gated_activation<const D: usize>(
    g: Tensor<D>,
    u: Tensor<D>,
    act: GateActivation,
) -> Tensor<D> {
    assert_eq!(g.dims(), u.dims(), "gated activation: gate and up shapes");
    if !available(&g) {
        return composed(g, u, act);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let h = <Dispatch as GatedActivationBackend>::gated_forward(
            g.into_dispatch(),
            u.into_dispatch(),
            act,
        );
        Tensor::from_dispatch(h)
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("available() is false without flex")
}

/// The same expression from burn's element-wise operations.
pub fn composed<const D: usize>(g: Tensor<D>, u: Tensor<D>, act: GateActivation) -> Tensor<D> {
    let a = match act {
        GateActivation::Silu => silu(g),
        GateActivation::GeluTanh => gelu_approximate(g),
    };
    a * u
}

/// Environment variable that switches the fused operation off when set to `0` (the composed
/// expression is used instead; for A/B benchmarks and bisecting).
pub const FUSED_GLU_ENV: &str = "LM_FUSED_GLU";

fn available<const D: usize>(g: &Tensor<D>) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    crate::device::fused_op_enabled(&g.device(), g.dtype(), FUSED_GLU_ENV, &ON)
}

#[cfg(feature = "flex")]
mod kernels {
    use crate::model::GateActivation;
    use crate::simd::{dispatched, exp_f, madd};

    /// √(2/π).
    const C: f32 = 0.797_884_6;
    const K: f32 = 0.044_715;

    /// `(a(g), a'(g))`, or only `a(g)` (second value unspecified) when `!D`.
    #[inline(always)]
    fn act<const F: bool, const D: bool>(g: f32, gelu: bool) -> (f32, f32) {
        // Both in terms of σ(y) = 1/(1 + e⁻ʸ) and σ(−y) = e⁻ʸ·σ(y) from one `exp`, which stay
        // accurate in both tails (`1 + tanh z` computed as `1 − 2/(e²ᶻ + 1)` would lose
        // every digit where tanh z → −1):
        //   GELU-tanh: 1 + t = 2σ(2z), 1 − t² = 4σ(2z)σ(−2z), so a = g·σ(2z) and
        //              a' = σ(2z) + 2g·σ(2z)σ(−2z)·√(2/π)·(1 + 3·0.044715·g²);
        //   SiLU:      a = g·σ(g), a' = σ(g)·(1 + g·σ(−g)).
        let y = if gelu {
            C * madd::<F>(K * g * g, g, g) * 2.0
        } else {
            g
        };
        let e = exp_f::<F>(-y);
        let s = 1.0 / (1.0 + e);
        let a = g * s;
        if !D {
            return (a, 0.0);
        }
        let sm = e * s;
        let d = if gelu {
            let slope = C * madd::<F>(3.0 * K * g, g, 1.0);
            madd::<F>(2.0 * g * s * sm, slope, s)
        } else {
            s * madd::<F>(g, sm, 1.0)
        };
        (a, d)
    }

    #[inline(always)]
    fn forward_impl<const F: bool>(g: &[f32], u: &[f32], h: &mut [f32], gelu: bool) {
        for ((h, &g), &u) in h.iter_mut().zip(g).zip(u) {
            *h = act::<F, false>(g, gelu).0 * u;
        }
    }

    /// In place: `dh ← ∂L/∂g`, `u ← ∂L/∂u`.
    #[inline(always)]
    fn backward_impl<const F: bool>(g: &[f32], u: &mut [f32], dh: &mut [f32], gelu: bool) {
        for i in 0..dh.len() {
            let (a, d) = act::<F, true>(g[i], gelu);
            let up = dh[i];
            dh[i] = up * u[i] * d;
            u[i] = up * a;
        }
    }

    dispatched!(
        /// `h = a(g)·u` over one chunk.
        forward, forward_impl, (g: &[f32], u: &[f32], h: &mut [f32], gelu: bool) -> ()
    );
    dispatched!(
        /// In place `(dh, u) ← (∂L/∂g, ∂L/∂u)` over one chunk.
        backward, backward_impl, (g: &[f32], u: &mut [f32], dh: &mut [f32], gelu: bool) -> ()
    );

    /// Whether `act` is GELU-tanh (the kernels' flag).
    pub fn is_gelu(act: GateActivation) -> bool {
        matches!(act, GateActivation::GeluTanh)
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::TensorData;
    use burn_flex::FlexTensor;

    use crate::flex_buffers::{contiguous, owned};
    use rayon::prelude::*;

    use super::GatedActivationBackend;
    use super::kernels::{backward, forward, is_gelu};
    use crate::model::GateActivation;

    /// Elements per parallel chunk.
    const CHUNK: usize = 1 << 14;

    impl GatedActivationBackend for Flex {
        fn gated_forward(
            g: FloatTensor<Self>,
            u: FloatTensor<Self>,
            act: GateActivation,
        ) -> FloatTensor<Self> {
            let (g, u) = (
                contiguous(g, "gated activation"),
                contiguous(u, "gated activation"),
            );
            let shape = g.layout().shape().to_vec();
            let gs = g.as_slice::<f32>().expect("contiguous");
            let us = u.as_slice::<f32>().expect("contiguous");
            let gelu = is_gelu(act);
            let mut h = vec![0.0f32; gs.len()];
            h.par_chunks_mut(CHUNK).enumerate().for_each(|(c, h)| {
                let r = c * CHUNK..c * CHUNK + h.len();
                forward(&gs[r.clone()], &us[r], h, gelu);
            });
            FlexTensor::from_data(TensorData::new(h, shape))
        }

        fn gated_backward(
            g: FloatTensor<Self>,
            u: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            act: GateActivation,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            // The backward owns `u` (the saved state) and `grad`: both gradients are written
            // over them, so the backward allocates nothing when they are not shared.
            let g = contiguous(g, "gated activation");
            let (mut dg, mut du) = (
                owned(grad, "gated activation"),
                owned(u, "gated activation"),
            );
            let gs = g.as_slice::<f32>().expect("contiguous");
            let gelu = is_gelu(act);
            let dgs = dg.try_storage_mut::<f32>().expect("owned");
            let dus = du.try_storage_mut::<f32>().expect("owned");
            dgs.par_chunks_mut(CHUNK)
                .zip(dus.par_chunks_mut(CHUNK))
                .enumerate()
                .for_each(|(c, (dg, du))| {
                    let r = c * CHUNK..c * CHUNK + dg.len();
                    backward(&gs[r], du, dg, gelu);
                });
            (dg, du)
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

    use super::GatedActivationBackend;
    use crate::model::GateActivation;

    #[derive(Debug)]
    struct GatedBackward;

    #[derive(Clone, Debug)]
    struct State<B: GatedActivationBackend> {
        g: FloatTensor<B>,
        u: FloatTensor<B>,
        act: GateActivation,
    }

    impl<B: GatedActivationBackend> Backward<B, 2> for GatedBackward {
        type State = State<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 2>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node_g, node_u] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let s = ops.state;
            let (dg, du) = B::gated_backward(s.g, s.u, grad, s.act);
            if let Some(node) = node_g {
                grads.register::<B>(node.id, dg);
            }
            if let Some(node) = node_u {
                grads.register::<B>(node.id, du);
            }
        }
    }

    impl<B: GatedActivationBackend, C: CheckpointStrategy> GatedActivationBackend for Autodiff<B, C> {
        fn gated_forward(
            g: FloatTensor<Self>,
            u: FloatTensor<Self>,
            act: GateActivation,
        ) -> FloatTensor<Self> {
            let (g, g_node) = g.into_parts();
            let (u, u_node) = u.into_parts();
            let h = B::gated_forward(g.clone(), u.clone(), act);
            match GatedBackward
                .prepare::<C>([g_node, u_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(State { g, u, act }, h),
                OpsKind::UnTracked(prep) => prep.finish(h),
            }
        }

        fn gated_backward(
            _g: FloatTensor<Self>,
            _u: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _act: GateActivation,
        ) -> (FloatTensor<Self>, FloatTensor<Self>) {
            unreachable!("the gated activation's backward runs on the inner backend")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    fn vec(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_into_vec_as().unwrap()
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len());
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// Values and both gradients equal the composed expression, for each activation, over
    /// inputs from −12 to 12 (both tails of σ and tanh) and more elements than one chunk.
    #[test]
    fn equals_the_composed_expression_in_values_and_gradients() {
        let dev = crate::select_device().unwrap().autodiff();
        let shape = [3, 70, 97];
        // A dense grid over [−12, 12]: both tails, where a careless tanh loses its digits.
        let n: usize = shape.iter().product();
        let grid: Vec<f32> = (0..n).map(|i| -12.0 + 24.0 * i as f32 / n as f32).collect();
        let g = Tensor::<3>::from_data(burn::tensor::TensorData::new(grid, shape), &dev);
        let u = Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &dev);
        let w = Tensor::<3>::random(shape, Distribution::Normal(0.0, 1.0), &dev);
        for act in [GateActivation::Silu, GateActivation::GeluTanh] {
            let run = |fused: bool| {
                let (g, u) = (g.clone().require_grad(), u.clone().require_grad());
                let h = if fused {
                    gated_activation(g.clone(), u.clone(), act)
                } else {
                    composed(g.clone(), u.clone(), act)
                };
                let grads = (h.clone() * w.clone()).sum().backward();
                let dg = g.grad(&grads).unwrap();
                let du = u.grad(&grads).unwrap();
                (vec(h), vec(dg), vec(du))
            };
            let (a, b) = (run(true), run(false));
            close(&a.0, &b.0, &format!("{act:?} h"));
            close(&a.1, &b.1, &format!("{act:?} dg"));
            close(&a.2, &b.2, &format!("{act:?} du"));
        }
    }

    /// Without autodiff the fused op is the plain expression on Flex.
    #[test]
    fn plain_flex_forward() {
        let dev = Device::flex();
        let g = Tensor::<3>::from_floats([[[-1.0, 0.0, 2.0]]], &dev);
        let u = Tensor::<3>::from_floats([[[2.0, 5.0, 0.5]]], &dev);
        let h = vec(gated_activation(g, u, GateActivation::Silu));
        let s = |x: f32| x / (1.0 + (-x).exp());
        close(&h, &[s(-1.0) * 2.0, 0.0, s(2.0) * 0.5], "silu");
    }
}
