//! The models' linear layers as one Flex operation with a hand-written backward, calling the
//! `gemm` crate (burn-flex's own GEMM) directly.
//!
//! ```text
//! forward:   y = x·W + b                 x: [M, K], W: [K, N] (burn's Linear layout), b: [N]
//! backward:  ∂L/∂x = g·Wᵀ,   ∂L/∂W = xᵀ·g,   ∂L/∂b = Σ_rows g        g = ∂L/∂y
//! ```
//!
//! Why not burn's `Linear`: burn-flex allocates every matmul output with `FlexTensor::empty`,
//! which builds a zeroed `Vec<u8>` and hands it to cubecl's `Bytes::from_bytes_vec`; that
//! function requires the allocation to have been made with 16-byte alignment and, since a
//! `Vec<u8>` records alignment 1, copies it into a new allocation. On the shared tiny DPO step
//! `perf` puts `FlexTensor::empty` at 10 % of the step (7 % in that copy, the rest zeroing and
//! page faults). Here each product writes into a buffer that is neither zeroed first nor
//! copied afterwards. The products are the same `gemm` calls with burn-flex's parallelism
//! threshold, so the results equal burn's to float rounding (tested, values and gradients);
//! autodiff keeps `x` and `W`, as burn's `Linear` does.
//!
//! A forward of at most eight rows (a decoding step) on AVX-512 or AVX2 takes the few-rows
//! product instead (`few_rows`): it reads `W` once, in memory order, without the GEMM's
//! packing copy (Gemma 3 270M sampled decoding at batch 8: 147–152 → 164–168 tokens/s; the
//! tiny config +5–24 % at batch 8, +30–45 % at batch 1).
//!
//! It is a burn backend extension implemented for Flex (with and without autodiff);
//! elsewhere, and with `LM_FUSED_LINEAR=0`, [`linear`] is burn's `Linear::forward`.

use burn::nn::Linear;
use burn::tensor::Tensor;

/// The backend operations (a burn backend extension).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"), Autodiff: cfg(feature = "flex"))]
pub trait LinearBackend: burn::backend::Backend {
    /// `x·W + b` for `x: [M, K]`, `W: [K, N]`, `b: [N]` (used when `has_bias`).
    fn linear_forward(
        x: burn::backend::tensor::FloatTensor<Self>,
        weight: burn::backend::tensor::FloatTensor<Self>,
        bias: burn::backend::tensor::FloatTensor<Self>,
        has_bias: bool,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `(∂L/∂x, ∂L/∂W, ∂L/∂b)` for the upstream gradient `grad: [M, N]`, each only when
    /// `need` asks for it (a `[1]` placeholder otherwise).
    fn linear_backward(
        x: burn::backend::tensor::FloatTensor<Self>,
        weight: burn::backend::tensor::FloatTensor<Self>,
        grad: burn::backend::tensor::FloatTensor<Self>,
        need: [bool; 3],
    ) -> (
        burn::backend::tensor::FloatTensor<Self>,
        burn::backend::tensor::FloatTensor<Self>,
        burn::backend::tensor::FloatTensor<Self>,
    );
}

/// Environment variable that switches the operation off when set to `0`.
pub const FUSED_LINEAR_ENV: &str = "LM_FUSED_LINEAR";

/// `linear.forward(x)` for `x: [.., K]` (see the module documentation).
pub fn linear<const D: usize>(linear: &Linear, x: Tensor<D>) -> Tensor<D> {
    if !available(&x) {
        return linear.forward(x);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let dims = x.dims();
        let k = dims[D - 1];
        let rows = dims[..D - 1].iter().product::<usize>();
        let weight = linear.weight.val();
        let n = weight.dims()[1];
        let (bias, has_bias) = match &linear.bias {
            Some(b) => (b.val(), true),
            None => (Tensor::<1>::zeros([1], &x.device()), false),
        };
        let y = <Dispatch as LinearBackend>::linear_forward(
            x.reshape([rows, k]).into_dispatch(),
            weight.into_dispatch(),
            bias.into_dispatch(),
            has_bias,
        );
        let mut out = dims;
        out[D - 1] = n;
        Tensor::<2>::from_dispatch(y).reshape(out)
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("available() is false without flex")
}

fn available<const D: usize>(x: &Tensor<D>) -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    crate::device::fused_op_enabled(&x.device(), x.dtype(), FUSED_LINEAR_ENV, &ON)
}

#[cfg(feature = "flex")]
mod few_rows;

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::{DType, TensorData};
    use burn_flex::FlexTensor;
    use gemm::Parallelism;

    use super::{LinearBackend, few_rows};

    /// burn-flex's threshold for spreading one product over the rayon pool (multiply-adds).
    const PARALLEL_WORK: usize = 192 * 192 * 192;

    /// A 2-D f32 operand: its storage from the start offset, row and column strides.
    struct Operand<'a> {
        data: &'a [f32],
        rs: isize,
        cs: isize,
    }

    impl<'a> Operand<'a> {
        fn of(t: &'a FlexTensor) -> Self {
            let l = t.layout();
            let st = l.strides();
            Self {
                data: &t.storage::<f32>()[l.start_offset()..],
                rs: st[0],
                cs: st[1],
            }
        }

        fn t(self) -> Self {
            Self {
                data: self.data,
                rs: self.cs,
                cs: self.rs,
            }
        }
    }

    /// Strides all non-negative (views the kernels can read in place), else a copy.
    fn readable(t: FlexTensor) -> FlexTensor {
        assert_eq!(t.dtype(), DType::F32, "linear: f32 only");
        if t.layout().has_positive_strides() {
            t
        } else {
            t.to_contiguous()
        }
    }

    /// `m × n` (row-major) `= lhs · rhs`, `lhs: m × k`, `rhs: k × n`, written into a fresh
    /// buffer that is not zeroed first (every element is written by the product).
    fn product(m: usize, n: usize, k: usize, lhs: Operand, rhs: Operand) -> Vec<f32> {
        let len = m * n;
        let mut out: Vec<f32> = Vec::with_capacity(len);
        if len == 0 {
            return out;
        }
        if k == 0 {
            out.resize(len, 0.0);
            return out;
        }
        let par = if m * n * k >= PARALLEL_WORK {
            Parallelism::Rayon(0)
        } else {
            Parallelism::None
        };
        // SAFETY: `out` has capacity for m × n floats, written row-major through `dst` (the
        // product overwrites every element: `read_dst` is false); the operands view m × k and
        // k × n floats inside their storage through their own non-negative strides.
        unsafe {
            let dst = out.spare_capacity_mut().as_mut_ptr() as *mut f32;
            gemm::gemm(
                m,
                n,
                k,
                dst,
                1,
                n as isize,
                false,
                lhs.data.as_ptr(),
                lhs.cs,
                lhs.rs,
                rhs.data.as_ptr(),
                rhs.cs,
                rhs.rs,
                0.0f32,
                1.0f32,
                false,
                false,
                false,
                par,
            );
            out.set_len(len);
        }
        out
    }

    fn tensor(data: Vec<f32>, shape: [usize; 2]) -> FlexTensor {
        FlexTensor::from_data(TensorData::new(data, shape))
    }

    fn placeholder() -> FlexTensor {
        FlexTensor::from_data(TensorData::new(vec![0.0f32], [1]))
    }

    impl LinearBackend for Flex {
        fn linear_forward(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            has_bias: bool,
        ) -> FloatTensor<Self> {
            let (x, w) = (readable(x), readable(weight));
            let [m, k] = [x.layout().shape()[0], x.layout().shape()[1]];
            let n = w.layout().shape()[1];
            assert_eq!(
                w.layout().shape()[0],
                k,
                "linear: input width vs weight rows"
            );
            let (xo, wo) = (Operand::of(&x), Operand::of(&w));
            let few = m <= few_rows::MAX_ROWS
                && few_rows::available()
                && xo.cs == 1
                && wo.cs == 1
                && xo.rs >= k as isize
                && wo.rs >= n as isize;
            let mut y = if few {
                few_rows::product(m, n, k, xo.data, xo.rs as usize, wo.data, wo.rs as usize)
            } else {
                product(m, n, k, xo, wo)
            };
            if has_bias {
                let b = bias.to_contiguous();
                let bs = b.as_slice::<f32>().expect("contiguous");
                assert_eq!(bs.len(), n, "linear: bias length");
                for row in y.chunks_exact_mut(n) {
                    row.iter_mut().zip(bs).for_each(|(v, b)| *v += b);
                }
            }
            tensor(y, [m, n])
        }

        fn linear_backward(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            grad: FloatTensor<Self>,
            need: [bool; 3],
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            let (x, w, g) = (readable(x), readable(weight), readable(grad));
            let [m, k] = [x.layout().shape()[0], x.layout().shape()[1]];
            let n = w.layout().shape()[1];
            let [need_x, need_w, need_b] = need;
            let dx = if need_x {
                tensor(
                    product(m, k, n, Operand::of(&g), Operand::of(&w).t()),
                    [m, k],
                )
            } else {
                placeholder()
            };
            let dw = if need_w {
                tensor(
                    product(k, n, m, Operand::of(&x).t(), Operand::of(&g)),
                    [k, n],
                )
            } else {
                placeholder()
            };
            let db = if need_b {
                let go = Operand::of(&g);
                let mut sum = vec![0.0f32; n];
                for r in 0..m {
                    for (j, s) in sum.iter_mut().enumerate() {
                        *s += go.data[r * go.rs as usize + j * go.cs as usize];
                    }
                }
                FlexTensor::from_data(TensorData::new(sum, [n]))
            } else {
                placeholder()
            };
            (dx, dw, db)
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

    use super::LinearBackend;

    #[derive(Debug)]
    struct LinearBackward;

    #[derive(Clone, Debug)]
    struct State<B: LinearBackend> {
        x: FloatTensor<B>,
        weight: FloatTensor<B>,
        has_bias: bool,
    }

    impl<B: LinearBackend> Backward<B, 3> for LinearBackward {
        type State = State<B>;

        fn backward(
            self,
            ops: Ops<Self::State, 3>,
            grads: &mut Gradients,
            _checkpointer: &mut Checkpointer,
        ) {
            let [node_x, node_w, node_b] = ops.parents;
            let grad = grads.consume::<B>(&ops.node);
            let s = ops.state;
            let need = [
                node_x.is_some(),
                node_w.is_some(),
                node_b.is_some() && s.has_bias,
            ];
            let (dx, dw, db) = B::linear_backward(s.x, s.weight, grad, need);
            if let Some(node) = node_x {
                grads.register::<B>(node.id, dx);
            }
            if let Some(node) = node_w {
                grads.register::<B>(node.id, dw);
            }
            if let (Some(node), true) = (node_b, s.has_bias) {
                grads.register::<B>(node.id, db);
            }
        }
    }

    impl<B: LinearBackend, C: CheckpointStrategy> LinearBackend for Autodiff<B, C> {
        fn linear_forward(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            bias: FloatTensor<Self>,
            has_bias: bool,
        ) -> FloatTensor<Self> {
            let (x, x_node) = x.into_parts();
            let (w, w_node) = weight.into_parts();
            let (b, b_node) = bias.into_parts();
            let y = B::linear_forward(x.clone(), w.clone(), b, has_bias);
            match LinearBackward
                .prepare::<C>([x_node, w_node, b_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(
                    State {
                        x,
                        weight: w,
                        has_bias,
                    },
                    y,
                ),
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }

        fn linear_backward(
            _x: FloatTensor<Self>,
            _weight: FloatTensor<Self>,
            _grad: FloatTensor<Self>,
            _need: [bool; 3],
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            unreachable!("the linear layer's backward runs on the inner backend")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution};

    fn floats<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    fn close(a: &[f32], b: &[f32], what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
                "{what}[{i}]: {x} vs {y}"
            );
        }
    }

    /// Values and the gradients of input, weight and bias equal burn's `Linear`, with and
    /// without bias, for a contiguous and a transposed input, small and large products (one
    /// thread and the pool), and a frozen weight (no gradient asked for).
    #[test]
    fn equals_burns_linear_in_values_and_gradients() {
        let dev = crate::select_device().unwrap().autodiff();
        for (m, k, n, bias, frozen) in [
            (6usize, 5usize, 7usize, true, false),
            (300, 256, 300, false, false),
            (40, 33, 9, true, true),
            // Decoding shapes (2 × m ≤ 8 rows): the few-rows product.
            (4, 70, 300, true, false),
            (1, 640, 33, false, true),
        ] {
            let lin = LinearConfig::new(k, n).with_bias(bias).init(&dev);
            let lin = if frozen { lin.no_grad() } else { lin };
            let w = Tensor::<3>::random([2, m, n], Distribution::Normal(0.0, 1.0), &dev);
            for transposed in [false, true] {
                let x0 = if transposed {
                    Tensor::<3>::random([2, k, m], Distribution::Normal(0.0, 1.0), &dev)
                } else {
                    Tensor::<3>::random([2, m, k], Distribution::Normal(0.0, 1.0), &dev)
                }
                .require_grad();
                let go = |fused: bool| {
                    let x = if transposed {
                        x0.clone().swap_dims(1, 2)
                    } else {
                        x0.clone()
                    };
                    let y = if fused {
                        linear(&lin, x.clone())
                    } else {
                        lin.forward(x.clone())
                    };
                    let grads = (y.clone() * w.clone()).sum().backward();
                    let gw = lin.weight.grad(&grads).map(floats).unwrap_or_default();
                    let gb = lin
                        .bias
                        .as_ref()
                        .and_then(|b| b.grad(&grads))
                        .map(floats)
                        .unwrap_or_default();
                    (floats(y), floats(x0.grad(&grads).unwrap()), gw, gb)
                };
                let (a, e) = (go(true), go(false));
                let what = format!("m {m} k {k} n {n} bias {bias} frozen {frozen} t {transposed}");
                close(&a.0, &e.0, &format!("{what} y"));
                close(&a.1, &e.1, &format!("{what} dx"));
                close(&a.2, &e.2, &format!("{what} dW"));
                close(&a.3, &e.3, &format!("{what} db"));
                assert_eq!(a.2.is_empty(), frozen, "{what}: weight gradient presence");
            }
        }
    }

    /// Without autodiff: the plain product plus bias.
    #[test]
    fn plain_forward() {
        let dev = Device::flex();
        let lin = burn::nn::Linear {
            weight: burn::module::Param::from_tensor(Tensor::<2>::from_floats(
                [[1.0, 2.0], [3.0, 4.0]],
                &dev,
            )),
            bias: Some(burn::module::Param::from_tensor(Tensor::<1>::from_floats(
                [0.5, -0.5],
                &dev,
            ))),
        };
        let x = Tensor::<2>::from_floats([[1.0, 1.0], [0.0, 2.0]], &dev);
        assert_eq!(floats(linear(&lin, x)), [4.5, 5.5, 6.5, 7.5]);
    }
}
