//! ORPO: odds-ratio preference optimisation, reference-free, plus the chosen NLL.

use std::f64::consts::LN_2;

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;

/// ORPO (Hong et al. 2024, "ORPO: Monolithic Preference Optimization without Reference
/// Model", eqs. 4, 6 and 7), as TRL's `ORPOTrainer` computes it (λ is TRL's `ORPOConfig.beta`).
/// The odds use the policy's average log-probs:
///
/// ```text
/// a_w = log π_θ(y_w)/|y_w|,  a_l = log π_θ(y_l)/|y_l|
/// log odds(y) = a − log(1 − e^a)
/// ℓ = NLL − λ · log σ(log odds(y_w) − log odds(y_l))
/// ```
///
/// `nll` (`[1]`) is the supervised term: TRL's token-mean NLL of the chosen sequences (it
/// scores prompt and completion tokens), or the completion-token NLL
/// [`sft_loss`](super::sft_loss) computes. Average log-probs must be negative (the odds of a
/// certain completion are infinite). `avg_chosen`/`avg_rejected` are `a_w`, `a_l` (`[B]`);
/// returns `[B]`, whose mean is TRL's loss.
pub fn orpo_loss(
    avg_chosen: Tensor<1>,
    avg_rejected: Tensor<1>,
    lambda: f64,
    nll: Tensor<1>,
) -> Tensor<1> {
    let b = avg_chosen.dims()[0];
    let (aw, al) = (avg_chosen, avg_rejected);
    let log_odds = (aw.clone() - al.clone()) - (log1mexp(aw) - log1mexp(al));
    nll.expand([b]) - log_sigmoid(log_odds).mul_scalar(lambda)
}

/// `log(1 − eˣ)` for `x < 0`, accurate at both ends (Mächler 2012, "Accurately Computing
/// log(1 − exp(−|a|))"): `log1p(−eˣ)` below `−ln 2`, `log(−expm1(x))` above, with
/// `expm1(x) = 2 tanh(x/2) / (1 − tanh(x/2))` (burn has no `expm1`). Each branch sees its
/// input clamped to its own side, so the unused one stays finite under autodiff.
pub(crate) fn log1mexp(x: Tensor<1>) -> Tensor<1> {
    let far = x.clone().clamp_max(-LN_2).exp().neg().log1p();
    let th = x.clone().clamp_min(-LN_2).div_scalar(2.0).tanh();
    let neg_expm1 = th.clone().mul_scalar(-2.0) / th.neg().add_scalar(1.0);
    let near = neg_expm1.log();
    near.mask_where(x.lower_elem(-LN_2), far)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{ln_sigmoid, t, v};
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn log1mexp_both_branches() {
        let xs = [-1e-6f32, -1e-3, -0.1, -0.69, -0.7, -2.0, -20.0];
        let got = v(log1mexp(t(&xs)));
        for (x, g) in xs.iter().zip(got) {
            let want = (-(*x as f64).exp_m1()).ln();
            assert_relative_eq!(g as f64, want, max_relative = 2e-6);
        }
    }

    #[test]
    fn hand_computed() {
        // a_w = −0.5, a_l = −2, λ = 0.1, NLL = 0.7.
        let l = v(orpo_loss(t(&[-0.5]), t(&[-2.0]), 0.1, t(&[0.7])));
        let odds = |a: f64| a - (-a.exp_m1()).ln();
        let want = 0.7 - 0.1 * ln_sigmoid(odds(-0.5) - odds(-2.0));
        assert_relative_eq!(l[0] as f64, want, epsilon = 1e-6);
    }
}
