//! Global gradient-norm clipping, as PyTorch's `torch.nn.utils.clip_grad_norm_`.
//!
//! burn's `GradientClippingConfig::Norm` clips every parameter tensor separately, against its
//! own norm. Training recipes mean the *global* L2 norm over all parameters:
//!
//! ```text
//! norm  = sqrt( sum over parameters p of sum(grad_p ^ 2) )
//! scale = min(1, max_norm / (norm + 1e-6))
//! grad_p <- grad_p * scale                      for every parameter p
//! ```
//!
//! The functions here walk the module's parameters with a [`ModuleVisitor`] and look each one up
//! in [`GradientsParams`] by [`ParamId`]; parameters without a gradient (frozen, unused) are
//! skipped, and a parameter reached twice (tied weights) counts once. Squares are summed in
//! `f32` on the device (half-precision gradients are upcast first), so a whole pass costs one
//! device-to-host read.
//!
//! Typical use in a training step:
//!
//! ```ignore
//! let grads = GradientsParams::from_grads(loss.backward(), &model);
//! let (grads, norm) = clip_grad_norm(&model, grads, 1.0);
//! if !norm.is_finite() { /* skip the step, log it */ }
//! model = optim.step(lr, model, grads);
//! ```

use std::collections::HashSet;

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{DType, FloatDType, Tensor};

/// Added to the norm before dividing, as PyTorch does, so a zero gradient does not divide by 0.
pub const CLIP_EPS: f64 = 1e-6;

/// Sums `reduce(grad)` over every parameter gradient found in `grads` (each shared parameter
/// once), on the device of the first one. `reduce` sees the gradient flattened to 1-D.
struct SumOverGrads<'a, F> {
    grads: &'a GradientsParams,
    seen: HashSet<ParamId>,
    reduce: F,
    acc: Option<Tensor<1>>,
}

impl<'a, F: Fn(Tensor<1>) -> Tensor<1>> SumOverGrads<'a, F> {
    /// Visits `module` and returns the sum (`None` when no parameter has a gradient).
    fn run<M: Module>(module: &M, grads: &'a GradientsParams, reduce: F) -> Option<Tensor<1>> {
        let mut visitor = Self {
            grads,
            seen: HashSet::new(),
            reduce,
            acc: None,
        };
        module.visit(&mut visitor);
        visitor.acc
    }
}

impl<F: Fn(Tensor<1>) -> Tensor<1>> ModuleVisitor for SumOverGrads<'_, F> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.seen.insert(param.id) {
            return;
        }
        let Some(grad) = self.grads.get::<D>(param.id) else {
            return;
        };
        let n = grad.shape().num_elements();
        let part = (self.reduce)(grad.reshape([n]));
        self.acc = Some(match self.acc.take() {
            None => part,
            Some(acc) => {
                let device = acc.device();
                acc + part.to_device(&device)
            }
        });
    }
}

/// Second pass: multiply every gradient found in `grads` by `scale`.
struct Scale<'a> {
    grads: &'a mut GradientsParams,
    seen: HashSet<ParamId>,
    scale: f64,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.seen.insert(param.id) {
            return;
        }
        let Some(grad) = self.grads.remove::<D>(param.id) else {
            return;
        };
        let dtype = grad.dtype();
        let scaled = match dtype {
            // Scale half-precision gradients in f32 and cast back, to keep the scale exact.
            DType::F16 | DType::BF16 => grad
                .cast(FloatDType::F32)
                .mul_scalar(self.scale)
                .cast(dtype),
            _ => grad.mul_scalar(self.scale),
        };
        self.grads.register::<D>(param.id, scaled);
    }
}

/// `Σ g²` of a flattened gradient, as a one-element tensor.
///
/// On flex (the CPU) it is the dot product `g·g`, a `[1, n] × [n, 1]` matmul, so no squared
/// copy of the gradient is allocated (671 MB for Gemma 3's embedding). GPU backends tile a
/// matmul by its output, and a 1 × 1 output over an inner dimension of millions runs on one
/// workgroup (seconds per step for a 138M-parameter model on wgpu, measured on an H200), so
/// there it is `square().sum()`, which their fusion turns into one reduction.
fn sum_of_squares(g: Tensor<1>) -> Tensor<1> {
    if on_flex(&g.device()) {
        let n = g.dims()[0];
        g.clone()
            .reshape([1, n])
            .matmul(g.reshape([n, 1]))
            .reshape([1])
    } else {
        g.square().sum()
    }
}

fn on_flex(device: &burn::tensor::Device) -> bool {
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

/// The global L2 norm of the gradients of `module`'s parameters found in `grads`.
///
/// Returns 0 when no parameter has a gradient. The result is NaN or infinite when a gradient
/// is (or when the sum of squares overflows `f32`, i.e. a norm above about 1.8e19), and NaN
/// when the device fails to read the result back.
pub fn global_grad_norm<M: Module>(module: &M, grads: &GradientsParams) -> f64 {
    let sum = SumOverGrads::run(module, grads, |g| sum_of_squares(g.cast(FloatDType::F32)));
    match sum {
        None => 0.0,
        Some(sum) => sum
            .try_into_scalar::<f32>()
            .map_or(f64::NAN, |s| f64::from(s).sqrt()),
    }
}

/// Clips the gradients of `module`'s parameters in `grads` to a global L2 norm of at most
/// `max_norm`, as PyTorch's `clip_grad_norm_`. Returns the clipped gradients and the global
/// norm *before* clipping (what recipes log as `grad_norm`).
///
/// Every gradient is multiplied by `min(1, max_norm / (norm + 1e-6))`. The gradients are
/// returned unchanged when:
/// - the norm is not finite (NaN/inf gradients): scaling cannot repair them; check the returned
///   norm (or [`grads_all_finite`]) and skip the optimizer step;
/// - `max_norm` is not a finite positive number, which disables clipping (the norm is still
///   computed and returned).
///
/// Gradients registered under ids that are not parameters of `module` are left untouched.
pub fn clip_grad_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    max_norm: f64,
) -> (GradientsParams, f64) {
    let norm = global_grad_norm(module, &grads);
    let clipping_enabled = max_norm.is_finite() && max_norm > 0.0;
    if !(norm.is_finite() && clipping_enabled) {
        return (grads, norm);
    }
    let scale = max_norm / (norm + CLIP_EPS);
    if scale < 1.0 {
        let mut visitor = Scale {
            grads: &mut grads,
            seen: HashSet::new(),
            scale,
        };
        module.visit(&mut visitor);
    }
    (grads, norm)
}

/// `false` if any gradient of `module`'s parameters in `grads` holds a NaN or an infinity.
///
/// Exact (counts non-finite elements), unlike testing the global norm, which also overflows
/// for huge finite gradients. One device-to-host read; a failed read counts as non-finite.
pub fn grads_all_finite<M: Module>(module: &M, grads: &GradientsParams) -> bool {
    let bad = SumOverGrads::run(module, grads, |g| g.is_finite().bool_not().float().sum());
    match bad {
        None => true,
        Some(count) => count.try_into_scalar::<f32>().is_ok_and(|n| n == 0.0),
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::nn::{Linear, LinearConfig};
    use burn::optim::AdamWConfig;
    use burn::tensor::Device;

    #[derive(Module, Debug)]
    struct Tiny {
        a: Linear,
        b: Linear,
    }

    fn device() -> Device {
        Device::flex().autodiff()
    }

    fn tiny(device: &Device) -> Tiny {
        Tiny {
            a: LinearConfig::new(3, 2).init(device),
            b: LinearConfig::new(2, 1).with_bias(false).init(device),
        }
    }

    /// loss = sum(a(x)) + 0 * b: gradients are known in closed form for `a`.
    ///
    /// For x = [[1,2,3],[4,5,6]] and loss = sum over the batch and outputs of (x W + bias):
    /// dL/dW[i][j] = sum over rows of x[r][i] = (5, 7, 9) for each of the 2 outputs, and
    /// dL/dbias[j] = 2 (batch size). Sum of squares = 2*(25+49+81) + 2*4 = 318.
    fn grads_of(model: &Tiny, device: &Device) -> GradientsParams {
        let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device);
        let y = model.a.forward(x.clone()).sum();
        // `b` takes part with gradient 0 * ... so it has a (zero) gradient too.
        let z = model.b.forward(model.a.forward(x)).sum().mul_scalar(0.0);
        let loss = y + z;
        GradientsParams::from_grads(loss.backward(), model)
    }

    fn sum_sq(grads: &GradientsParams, model: &Tiny) -> f64 {
        let w: Vec<f32> = grads
            .get::<2>(model.a.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let mut total: f64 = w.iter().map(|v| f64::from(*v).powi(2)).sum();
        if let Some(b) = grads.get::<1>(model.a.bias.as_ref().unwrap().id) {
            let b: Vec<f32> = b.into_data().try_to_vec().unwrap();
            total += b.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
        }
        if let Some(g) = grads.get::<2>(model.b.weight.id) {
            let g: Vec<f32> = g.into_data().try_to_vec().unwrap();
            total += g.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
        }
        total
    }

    #[test]
    fn global_norm_matches_hand_computed_value() {
        let device = device();
        let model = tiny(&device);
        let grads = grads_of(&model, &device);
        assert_eq!(grads.len(), 3);
        let norm = global_grad_norm(&model, &grads);
        assert_relative_eq!(norm, 318f64.sqrt(), epsilon = 1e-5);
        assert!(grads_all_finite(&model, &grads));
    }

    #[test]
    fn clipping_scales_to_max_norm() {
        let device = device();
        let model = tiny(&device);
        let grads = grads_of(&model, &device);
        let (clipped, norm) = clip_grad_norm(&model, grads, 1.0);
        assert_relative_eq!(norm, 318f64.sqrt(), epsilon = 1e-5);
        assert_eq!(clipped.len(), 3);
        let after = global_grad_norm(&model, &clipped);
        assert_relative_eq!(after, 1.0, epsilon = 1e-5);
        assert_relative_eq!(sum_sq(&clipped, &model).sqrt(), 1.0, epsilon = 1e-5);
        // Direction is kept: the weight gradient is still proportional to (5, 7, 9).
        let w: Vec<f32> = clipped
            .get::<2>(model.a.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        let s = 1.0 / 318f64.sqrt();
        for (got, want) in w.iter().zip([5.0, 5.0, 7.0, 7.0, 9.0, 9.0]) {
            assert_relative_eq!(f64::from(*got), want * s, epsilon = 1e-5);
        }
    }

    #[test]
    fn no_clipping_below_max_norm_or_when_disabled() {
        let device = device();
        let model = tiny(&device);
        for max_norm in [100.0, 0.0, -1.0, f64::NAN, f64::INFINITY] {
            let grads = grads_of(&model, &device);
            let (same, norm) = clip_grad_norm(&model, grads, max_norm);
            assert_relative_eq!(norm, 318f64.sqrt(), epsilon = 1e-5);
            assert_relative_eq!(sum_sq(&same, &model), 318.0, epsilon = 1e-3);
        }
    }

    #[test]
    fn non_finite_gradients_are_detected_and_left_alone() {
        let device = device();
        let model = tiny(&device);
        let mut grads = grads_of(&model, &device);
        let bad = Tensor::<2>::from_floats([[1.0], [f32::NAN]], &device.clone().without_autodiff());
        grads.register::<2>(model.b.weight.id, bad);
        assert!(!grads_all_finite(&model, &grads));
        let (grads, norm) = clip_grad_norm(&model, grads, 1.0);
        assert!(norm.is_nan());
        // Unchanged: the weight gradient of `a` still has its unclipped values.
        let w: Vec<f32> = grads
            .get::<2>(model.a.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_relative_eq!(f64::from(w[4]), 9.0, epsilon = 1e-5);

        let mut grads = grads_of(&model, &device);
        let inf =
            Tensor::<1>::from_floats([f32::INFINITY, 0.0], &device.clone().without_autodiff());
        grads.register::<1>(model.a.bias.as_ref().unwrap().id, inf);
        assert!(!grads_all_finite(&model, &grads));
        assert!(global_grad_norm(&model, &grads).is_infinite());
    }

    #[test]
    fn empty_gradients() {
        let device = device();
        let model = tiny(&device);
        let grads = GradientsParams::new();
        assert_eq!(global_grad_norm(&model, &grads), 0.0);
        assert!(grads_all_finite(&model, &grads));
        let (grads, norm) = clip_grad_norm(&model, grads, 1.0);
        assert_eq!(norm, 0.0);
        assert!(grads.is_empty());
    }

    #[test]
    fn clipped_gradients_feed_adamw() {
        let device = device();
        let model = tiny(&device);
        let before: Vec<f32> = model.a.weight.val().into_data().try_to_vec().unwrap();
        let grads = grads_of(&model, &device);
        let (grads, _) = clip_grad_norm(&model, grads, 1.0);
        let mut optim = AdamWConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(0.0)
            .init();
        let model = optim.step(1e-2, model, grads);
        let after: Vec<f32> = model.a.weight.val().into_data().try_to_vec().unwrap();
        // Adam's first step moves every parameter with a non-zero gradient by about lr.
        for (b, a) in before.iter().zip(&after) {
            assert_relative_eq!(f64::from(b - a), 1e-2, epsilon = 1e-4);
        }
    }
}
