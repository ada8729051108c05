//! The supervised fine-tuning loss.

use burn::tensor::{Int, Tensor};
use lm::SequenceLogProbs;
use lm::logprobs::{next_token_logprobs, shift_mask};

/// Token-level negative log-likelihood over the tokens selected by `loss_mask`.
///
/// ```text
/// L(θ) = − Σ_{b,t} m_{b,t+1} · log p_θ(x_{b,t+1} | x_{b,≤t})  /  Σ_{b,t} m_{b,t+1}
/// ```
///
/// the maximum-likelihood objective of causal language modelling (Radford et al. 2018,
/// eq. 1), averaged over scored tokens as TRL's `SFTTrainer` does. `loss_mask` is aligned
/// with `ids` (1 = token to predict: completion tokens, or every real token); it is
/// shifted here. Returns the loss `[1]` and the number of scored tokens.
pub fn sft_loss(
    logits: Tensor<3>,
    ids: Tensor<2, Int>,
    loss_mask: Tensor<2, Int>,
) -> (Tensor<1>, Tensor<1>) {
    let logp = next_token_logprobs(logits, ids);
    let mask = shift_mask(loss_mask);
    let count = mask.clone().sum();
    let loss = (logp * mask).sum().neg() / count.clone().clamp_min(1.0);
    (loss, count)
}

/// [`sft_loss`] from masked per-token log-probs (e.g. [`lm::CausalLm::sequence_logprobs`]
/// with the loss mask as target mask): `(−Σ sum / max(Σ count, 1), Σ count)`.
pub fn sft_loss_from_logprobs(lp: &SequenceLogProbs) -> (Tensor<1>, Tensor<1>) {
    let count = lp.count.clone().sum();
    let loss = lp.sum.clone().sum().neg() / count.clone().clamp_min(1.0);
    (loss, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::Device;

    #[test]
    fn hand_computed_masked_nll() {
        let dev = Device::flex();
        // One row, vocab 2, three tokens; only token 2 is scored.
        let logits = Tensor::<3>::from_floats([[[0.0, 0.0], [2.0, 0.0], [0.0, 0.0]]], &dev);
        let ids = Tensor::<2, Int>::from_ints([[0, 1, 0]], &dev);
        let mask = Tensor::<2, Int>::from_ints([[0, 0, 1]], &dev);
        let (loss, n) = sft_loss(logits.clone(), ids.clone(), mask);
        // log p(token 0 | position 1 logits [2, 0]) = 2 − ln(e² + 1).
        let want = -(2.0f32 - (2f32.exp() + 1.0).ln());
        assert_relative_eq!(loss.into_scalar::<f32>(), want, epsilon = 1e-6);
        assert_eq!(n.into_scalar::<f32>(), 1.0);
        // All tokens: mean of ln 2 (position 0 → token 1) and the term above.
        let all = Tensor::<2, Int>::from_ints([[1, 1, 1]], &dev);
        let (loss, _) = sft_loss(logits, ids, all);
        assert_relative_eq!(
            loss.into_scalar::<f32>(),
            (2f32.ln() + want) / 2.0,
            epsilon = 1e-6
        );
    }
}
