//! The reward-centering auxiliary term.

use burn::tensor::Tensor;

use super::weighted_mean;

/// Pushes rewards towards zero mean, so that a reward model's scores are centred
/// (Eisenstein et al. 2023, "Helping or Herding?", §3; TRL's `center_rewards_coefficient`):
///
/// ```text
/// C = Σ_i w_i (r_chosen,i + r_rejected,i)² / Σ_i w_i      (= mean_i (r_c + r_r)²)
/// ```
///
/// The training loss adds `c · C` to the Bradley-Terry loss (TRL:
/// `loss += center_rewards_coefficient * torch.mean((rewards_chosen + rewards_rejected) ** 2)`).
/// `chosen`, `rejected`, `weight`: `[B]`. Returns `[1]`. The BT loss only sees differences,
/// so without this term the rewards' offset is arbitrary.
pub fn reward_centering(
    chosen: Tensor<1>,
    rejected: Tensor<1>,
    weight: Option<Tensor<1>>,
) -> Tensor<1> {
    weighted_mean((chosen + rejected).powi_scalar(2), weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    #[test]
    fn hand_computed_value() {
        let d = Device::flex();
        let c = Tensor::<1>::from_floats([1.0, -2.0, 0.5], &d);
        let r = Tensor::<1>::from_floats([2.0, 1.0, -0.5], &d);
        // sums 3, −1, 0 → squares 9, 1, 0 → mean 10/3
        let v = reward_centering(c, r, None).into_scalar::<f32>();
        assert_relative_eq!(v, 10.0 / 3.0, epsilon = 1e-6);
    }
}
