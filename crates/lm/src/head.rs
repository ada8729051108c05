//! A scalar head over a shared backbone: reward models and PPO value functions.

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor};

/// `d_model → 1` projection read at every position or at each row's last real token.
///
/// It holds no backbone: a reward model or a value function owns (or borrows) a
/// [`CausalLm`](crate::CausalLm) and passes its [`hidden`](crate::CausalLm::hidden) states
/// here, so a policy and its value head can share one forward pass.
#[derive(Module, Debug)]
pub struct ScalarHead {
    /// The projection.
    pub proj: Linear,
}

impl ScalarHead {
    /// Weights N(0, (1/√(d_model+1))²) as TRL's value head, bias 0.
    pub fn new(d_model: usize, device: &Device) -> Self {
        let std = 1.0 / ((d_model + 1) as f64).sqrt();
        let mut proj = burn::nn::LinearConfig::new(d_model, 1)
            .with_initializer(burn::nn::Initializer::Normal { mean: 0.0, std })
            .init(device);
        proj.bias = Some(Param::from_tensor(Tensor::zeros([1], device)));
        Self { proj }
    }

    /// The same initialisation with weights drawn from a host RNG seeded with `seed` (Box–Muller),
    /// so a seed gives the same head on every backend.
    pub fn seeded(d_model: usize, seed: u64, device: &Device) -> Self {
        let mut head = Self::new(d_model, device);
        let std = 1.0 / ((d_model + 1) as f64).sqrt();
        let w = seeded_normal(d_model, std, seed);
        head.proj.weight = Param::from_tensor(Tensor::from_data(
            burn::tensor::TensorData::new(w, [d_model, 1]),
            device,
        ));
        head
    }

    /// One score per position, `[B, T, d] → [B, T]`.
    pub fn forward_all(&self, hidden: Tensor<3>) -> Tensor<2> {
        let [b, t, _] = hidden.dims();
        self.proj.forward(hidden).reshape([b, t])
    }

    /// One score per row, read at the last position whose `mask` is 1, `[B]`. Works for
    /// left and right padding.
    pub fn forward_last(&self, hidden: Tensor<3>, mask: Tensor<2, Int>) -> Tensor<1> {
        let [b, _, _] = hidden.dims();
        let idx = last_token_index(mask).reshape([b, 1]);
        self.forward_all(hidden).gather(1, idx).reshape([b])
    }
}

/// `n` draws of N(0, std²) from a host RNG seeded with `seed` (Box–Muller).
fn seeded_normal(n: usize, std: f64, seed: u64) -> Vec<f32> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5245_5741_5244); // "REWARD"
    let mut v = Vec::with_capacity(n + 1);
    while v.len() < n {
        let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        let u2: f64 = rng.random::<f64>();
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let a = std::f64::consts::TAU * u2;
        v.push((r * a.cos()) as f32);
        v.push((r * a.sin()) as f32);
    }
    v.truncate(n);
    v
}

/// Index of the last position whose mask is 1 in each row (0 for an all-padding row), `[B]`.
pub fn last_token_index(mask: Tensor<2, Int>) -> Tensor<1, Int> {
    let [b, t] = mask.dims();
    let pos = Tensor::<1, Int>::arange(0..t as i64, &mask.device()).reshape([1, t]);
    (mask * pos).max_dim(1).reshape([b])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn last_token_index_handles_left_and_right_padding() {
        let dev = Device::flex();
        let mask = Tensor::<2, Int>::from_ints([[0, 0, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]], &dev);
        last_token_index(mask)
            .into_data()
            .assert_eq(&TensorData::from([3, 2, 0]), false);
    }

    #[test]
    fn forward_last_reads_the_last_real_position() {
        let dev = Device::flex();
        let head = ScalarHead::new(3, &dev);
        let hidden = Tensor::<3>::from_floats(
            [
                [[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 3.0]],
                [[4.0, 1.0, 0.0], [0.5, 0.5, 0.5], [9.0, 9.0, 9.0]],
            ],
            &dev,
        );
        let all: Vec<f32> = head.forward_all(hidden.clone()).try_into_vec_as().unwrap();
        let mask = Tensor::<2, Int>::from_ints([[0, 1, 1], [1, 1, 0]], &dev);
        let last: Vec<f32> = head.forward_last(hidden, mask).try_into_vec_as().unwrap();
        assert_eq!(last, vec![all[2], all[4]]);
    }
}
