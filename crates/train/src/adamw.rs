//! AdamW with its update written so that a backend which reuses a tensor's buffer when it
//! holds the only reference (Flex does) allocates at most one parameter-sized temporary.
//!
//! Loshchilov & Hutter 2019 ("Decoupled Weight Decay Regularization", Algorithm 2), as
//! PyTorch's `AdamW` and burn's `AdamW` compute it:
//!
//! ```text
//! m ← β₁·m + (1 − β₁)·g
//! v ← β₂·v + (1 − β₂)·g²
//! θ ← θ·(1 − lr·λ) − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
//! ```
//!
//! burn's `AdamW` computes exactly these values, but holds the bias-corrected copies of
//! both moments, a copy of `g` and a second copy of θ at once: for Gemma 3's 640 MiB
//! embedding that was the largest transient of a training step (`bench_dpo --gemma`). This
//! one performs the same f32 operations in the same order (so its results are
//! bit-identical to burn's on Flex; tested), writing the moments, the update and θ into
//! existing buffers ([`crate::inplace`]): one parameter-sized temporary. The state is
//! burn's [`AdamWState`], so checkpoints are interchangeable with burn's `AdamW`.

use burn::optim::{AdamWState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{Device, Tensor};

use crate::AdamWSettings;
use crate::inplace::{quotient_into, scaled_add, scaled_add_square};

/// AdamW (see the module docs) with burn's state type.
#[derive(Clone, Debug)]
pub struct LeanAdamW {
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    weight_decay: f32,
}

impl LeanAdamW {
    /// The optimizer for `settings` (validated with the [`crate::TrainerConfig`]).
    pub fn new(settings: &AdamWSettings) -> Self {
        Self {
            beta1: settings.beta1,
            beta2: settings.beta2,
            epsilon: settings.epsilon,
            weight_decay: settings.weight_decay,
        }
    }

    /// As a whole-module optimizer.
    pub fn into_module_optimizer(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }
}

impl Optimizer for LeanAdamW {
    type State<const D: usize> = AdamWState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let (b1, b2) = (self.beta1, self.beta2);
        let momentum = match state {
            Some(AdamWState { momentum: s }) => AdaptiveMomentumState::new(
                s.time + 1,
                scaled_add(s.moment_1, grad.clone(), b1, 1.0 - b1),
                scaled_add_square(s.moment_2, grad, b2, 1.0 - b2),
            ),
            None => AdaptiveMomentumState::new(
                1,
                grad.clone().mul_scalar(1.0 - b1),
                grad.square().mul_scalar(1.0 - b2),
            ),
        };
        let t = momentum.time as i32;
        let (bc1, bc2) = (1f32 - b1.powi(t), 1f32 - b2.powi(t));
        // √(v / bc2) + ε in the one new buffer, then (m / bc1) / that into it.
        let denom = momentum
            .moment_2
            .clone()
            .div_scalar(bc2)
            .sqrt()
            .add_scalar(self.epsilon);
        let delta = quotient_into(denom, momentum.moment_1.clone(), bc1);
        let decay = lr * self.weight_decay as f64;
        let tensor = if decay == 0.0 {
            tensor
        } else {
            tensor.mul_scalar(1.0 - decay)
        };
        (
            tensor - delta.mul_scalar(lr),
            Some(AdamWState::new(momentum)),
        )
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::{Module, Param};
    use burn::optim::{AdamWConfig, GradientsParams};

    #[derive(Module, Debug)]
    struct Toy {
        w: Param<Tensor<2>>,
        b: Param<Tensor<1>>,
    }

    /// Deterministic values (no shared random generator between the two runs).
    fn wave(n: usize, phase: f32) -> Vec<f32> {
        (0..n)
            .map(|i| ((i as f32 + 1.0) * 0.7 + phase).sin())
            .collect()
    }

    fn run(optim: &mut ModuleOptimizer, steps: usize) -> Vec<f32> {
        let dev = lm::select_device().unwrap().autodiff();
        let mat = |v: Vec<f32>, r: usize, c: usize| {
            Tensor::<2>::from_data(burn::tensor::TensorData::new(v, [r, c]), &dev)
        };
        let mut toy = Toy {
            w: Param::from_tensor(mat(wave(15, 0.0), 5, 3)),
            b: Param::from_tensor(Tensor::zeros([3], &dev)),
        };
        for k in 0..steps {
            let x = mat(wave(20, k as f32), 4, 5).mul_scalar(1.0 + k as f64);
            let y = x.matmul(toy.w.val()) + toy.b.val().unsqueeze::<2>();
            let loss = (y.clone() * y).sum();
            let grads = GradientsParams::from_grads(loss.backward(), &toy);
            toy = optim.step(1e-2, toy, grads);
        }
        let mut v: Vec<f32> = toy.w.val().into_data().try_into_vec_as().unwrap();
        v.extend(toy.b.val().into_data().try_into_vec_as::<f32>().unwrap());
        v
    }

    /// The same trajectory as burn's AdamW (bit for bit on Flex), with and without weight decay.
    #[test]
    fn matches_burns_adamw() {
        for wd in [0.0f32, 0.1] {
            let settings = AdamWSettings {
                weight_decay: wd,
                ..AdamWSettings::default()
            };
            let burn_cfg = AdamWConfig::new()
                .with_beta_1(settings.beta1)
                .with_beta_2(settings.beta2)
                .with_epsilon(settings.epsilon)
                .with_weight_decay(settings.weight_decay);
            let want = run(&mut burn_cfg.init(), 6);
            let got = run(&mut LeanAdamW::new(&settings).into_module_optimizer(), 6);
            assert_eq!(want.len(), got.len());
            for (a, b) in want.iter().zip(&got) {
                assert!(
                    (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
                    "wd {wd}: {a} vs {b}"
                );
            }
        }
    }
}
