//! Element-wise updates that Flex computes in place, for optimizer states as large as an
//! embedding table.
//!
//! burn's element-wise ops on Flex reuse a buffer only when it is the left operand and not
//! shared, and `square` is `x · x` with both operands the same buffer; an AdamW step written
//! with them holds one or two extra parameter-sized buffers. Each function here writes its
//! result into its first argument's buffer (when not shared) in one pass, with the same f32
//! operations in the same order as the burn expression it documents, so results are
//! bit-identical to it. Elsewhere (other backends, autodiff, non-f32) they are that
//! expression.

use burn::tensor::Tensor;

/// The backend operations (a burn backend extension, Flex only).
#[burn::backend::backend_extension(Flex: cfg(feature = "flex"))]
pub trait InplaceBackend: burn::backend::Backend {
    /// `x ← x·a + y·b`.
    fn scaled_add(
        x: burn::backend::tensor::FloatTensor<Self>,
        y: burn::backend::tensor::FloatTensor<Self>,
        a: f32,
        b: f32,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `v ← v·a + (g·g)·b`.
    fn scaled_add_square(
        v: burn::backend::tensor::FloatTensor<Self>,
        g: burn::backend::tensor::FloatTensor<Self>,
        a: f32,
        b: f32,
    ) -> burn::backend::tensor::FloatTensor<Self>;

    /// `d ← (m / s) / d`.
    fn quotient_into(
        d: burn::backend::tensor::FloatTensor<Self>,
        m: burn::backend::tensor::FloatTensor<Self>,
        s: f32,
    ) -> burn::backend::tensor::FloatTensor<Self>;
}

fn flex_ready<const D: usize>(x: &Tensor<D>, y: &Tensor<D>) -> bool {
    assert_eq!(x.dims(), y.dims(), "in-place update: shapes differ");
    let device = x.device();
    is_flex(&device)
        && !device.is_autodiff()
        && x.dtype() == burn::tensor::DType::F32
        && y.dtype() == burn::tensor::DType::F32
}

/// `x.mul_scalar(a) + y.mul_scalar(b)`, into `x`'s buffer on Flex.
pub fn scaled_add<const D: usize>(x: Tensor<D>, y: Tensor<D>, a: f32, b: f32) -> Tensor<D> {
    if !flex_ready(&x, &y) {
        return x.mul_scalar(a) + y.mul_scalar(b);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let (x, y) = (x.into_dispatch(), y.into_dispatch());
        Tensor::from_dispatch(<Dispatch as InplaceBackend>::scaled_add(x, y, a, b))
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("is_flex is false without flex")
}

/// `v.mul_scalar(a) + g.square().mul_scalar(b)`, into `v`'s buffer on Flex.
pub fn scaled_add_square<const D: usize>(v: Tensor<D>, g: Tensor<D>, a: f32, b: f32) -> Tensor<D> {
    if !flex_ready(&v, &g) {
        return v.mul_scalar(a) + g.square().mul_scalar(b);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let (v, g) = (v.into_dispatch(), g.into_dispatch());
        Tensor::from_dispatch(<Dispatch as InplaceBackend>::scaled_add_square(v, g, a, b))
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("is_flex is false without flex")
}

/// `m.div_scalar(s).div(d)`, into `d`'s buffer on Flex.
pub fn quotient_into<const D: usize>(d: Tensor<D>, m: Tensor<D>, s: f32) -> Tensor<D> {
    if !flex_ready(&d, &m) {
        return m.div_scalar(s).div(d);
    }
    #[cfg(feature = "flex")]
    {
        use burn::backend::Dispatch;
        let (d, m) = (d.into_dispatch(), m.into_dispatch());
        Tensor::from_dispatch(<Dispatch as InplaceBackend>::quotient_into(d, m, s))
    }
    #[cfg(not(feature = "flex"))]
    unreachable!("is_flex is false without flex")
}

fn is_flex(device: &burn::tensor::Device) -> bool {
    #[cfg(feature = "flex")]
    {
        device.clone().inner() == burn::tensor::Device::flex()
    }
    #[cfg(not(feature = "flex"))]
    {
        let _ = device;
        false
    }
}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::tensor::FloatTensor;
    use burn::tensor::TensorData;
    use burn_flex::FlexTensor;

    use super::InplaceBackend;

    /// `dst[i] ← f(dst[i], src[i])`, in `dst`'s buffer when it is not shared.
    fn combine(dst: FlexTensor, src: FlexTensor, f: impl Fn(f32, f32) -> f32) -> FlexTensor {
        let src = if src.is_contiguous() {
            src
        } else {
            src.to_contiguous()
        };
        let s = src.as_slice::<f32>().expect("contiguous");
        let mut dst = if dst.is_contiguous() {
            dst
        } else {
            dst.to_contiguous()
        };
        if dst.is_unique()
            && let Some(d) = dst.try_storage_mut::<f32>()
        {
            d.iter_mut().zip(s).for_each(|(d, &s)| *d = f(*d, s));
            return dst;
        }
        let shape = dst.layout().shape().to_vec();
        let out: Vec<f32> = dst
            .as_slice::<f32>()
            .expect("contiguous")
            .iter()
            .zip(s)
            .map(|(&d, &s)| f(d, s))
            .collect();
        FlexTensor::from_data(TensorData::new(out, shape))
    }

    impl InplaceBackend for Flex {
        fn scaled_add(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            a: f32,
            b: f32,
        ) -> FloatTensor<Self> {
            combine(x, y, |x, y| x * a + y * b)
        }

        fn scaled_add_square(
            v: FloatTensor<Self>,
            g: FloatTensor<Self>,
            a: f32,
            b: f32,
        ) -> FloatTensor<Self> {
            combine(v, g, |v, g| v * a + (g * g) * b)
        }

        fn quotient_into(d: FloatTensor<Self>, m: FloatTensor<Self>, s: f32) -> FloatTensor<Self> {
            combine(d, m, |d, m| (m / s) / d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn vals<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec_as().unwrap()
    }

    /// Bit-identical to the burn expressions they replace, on Flex and on the test device.
    #[test]
    fn equal_the_burn_expressions_bit_for_bit() {
        for dev in [Device::flex(), lm::select_device().unwrap()] {
            let x = Tensor::<2>::from_floats([[1.0, 2.0, 1e-7], [3.0, -4.0, 0.3]], &dev);
            let y = Tensor::<2>::from_floats([[0.5, -1.0, 7.0], [2.0, 0.1, 1e-3]], &dev);
            let pairs = [
                (
                    vals(scaled_add(x.clone(), y.clone(), 0.9, 0.1)),
                    vals(x.clone().mul_scalar(0.9) + y.clone().mul_scalar(0.1)),
                ),
                (
                    vals(scaled_add_square(x.clone(), y.clone(), 0.999, 0.001)),
                    vals(x.clone().mul_scalar(0.999) + y.clone().square().mul_scalar(0.001)),
                ),
                (
                    vals(quotient_into(y.clone(), x.clone(), 0.19)),
                    vals(x.clone().div_scalar(0.19).div(y.clone())),
                ),
            ];
            for (got, want) in pairs {
                assert_eq!(got, want);
            }
        }
    }

    /// A shared first argument is left untouched (the result is a new buffer).
    #[test]
    fn a_shared_buffer_is_not_overwritten() {
        let dev = Device::flex();
        let v = Tensor::<1>::from_floats([1.0, 2.0], &dev);
        let keep = v.clone();
        let out = scaled_add_square(v, Tensor::<1>::from_floats([1.0, 1.0], &dev), 0.5, 1.0);
        assert_eq!(vals(keep), [1.0, 2.0]);
        assert_eq!(vals(out), [1.5, 2.0]);
    }
}
