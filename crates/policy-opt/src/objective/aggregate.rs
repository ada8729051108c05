//! Reducing a per-token loss `[B, T]` to the scalar that is back-propagated.

use burn::tensor::Tensor;
use kl_control::{TokenMask, masked_mean_batch, masked_mean_per_sequence, masked_sum_per_sequence};

use crate::rl_error::{RlError, RlResult, bool_mask, check_non_empty};

/// How [`aggregate_loss`] reduces a masked per-token loss, with TRL's `GRPOConfig.loss_type`
/// and verl's `actor.loss_agg_mode` names (`m` the mask, `ℓ` the per-token loss, `B` the rows
/// of this micro-batch):
///
/// | variant | formula | TRL `loss_type` | verl `loss_agg_mode` |
/// |---|---|---|---|
/// | [`SeqMeanTokenMean`](Self::SeqMeanTokenMean) | `1/B Σ_b (Σ_t m ℓ / max(1, Σ_t m))` | `grpo` (also `sapo`) | `seq-mean-token-mean` |
/// | [`TokenMean`](Self::TokenMean) | `Σ m ℓ / max(1, Σ m)` | `bnpo` | `token-mean` (per micro-batch) |
/// | [`SeqMeanTokenSum`](Self::SeqMeanTokenSum) | `1/B Σ_b Σ_t m ℓ` | — | `seq-mean-token-sum` |
/// | [`SeqMeanTokenSumNorm`](Self::SeqMeanTokenSumNorm) | `Σ m ℓ / (B · L_max)` | `dr_grpo` | `seq-mean-token-sum-norm` |
/// | [`TokenSumNorm`](Self::TokenSumNorm) | `Σ m ℓ / N_tokens` | `dapo` (default; also `cispo`, `vespo`) | `token-mean` with the global token count |
///
/// - `grpo` is DeepSeekMath's eq. 3 (`1/G Σ_i 1/|o_i| Σ_t`): every sequence weighs the same, so
///   a token of a long sequence weighs less (a length bias, Liu et al. 2025 §3.1).
/// - `dr_grpo` (Dr. GRPO, Liu et al. 2025, "Understanding R1-Zero-Like Training") divides by a
///   constant, TRL's `max_completion_length` (verl: the padded response length, or
///   `loss_scale_factor`), removing the length bias.
/// - `dapo` (Yu et al. 2025, DAPO §3.3, "token-level policy gradient loss") divides by the
///   number of completion tokens of the *whole accumulated batch*, so every token weighs the
///   same across micro-batches and gradient-accumulation steps; the caller counts them (TRL's
///   `num_items_in_batch`, scaled to one optimizer step; verl's `batch_num_tokens`).
/// - `bnpo` normalises by the tokens of this micro-batch only.
///
/// TRL divides all but `dapo` by the gradient-accumulation steps as well; do that when
/// accumulating (the optimizer step is the sum of the micro-batch losses).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossAggregation {
    /// Mean over sequences of each sequence's token mean (TRL `grpo`).
    SeqMeanTokenMean,
    /// Mean over the micro-batch's masked tokens (TRL `bnpo`).
    TokenMean,
    /// Mean over sequences of each sequence's token sum (verl `seq-mean-token-sum`).
    SeqMeanTokenSum,
    /// Token sum / (B · `max_completion_length`) (TRL `dr_grpo`).
    SeqMeanTokenSumNorm {
        /// The constant length normaliser `L_max` (TRL `max_completion_length`), ≥ 1.
        max_completion_length: usize,
    },
    /// Token sum / `num_tokens` (TRL `dapo`).
    TokenSumNorm {
        /// The number of completion tokens in the whole accumulated batch, > 0.
        num_tokens: f64,
    },
}

impl LossAggregation {
    /// TRL's `loss_type` for this aggregation (`None` for verl's `seq-mean-token-sum`).
    pub fn trl_name(&self) -> Option<&'static str> {
        match self {
            Self::SeqMeanTokenMean => Some("grpo"),
            Self::TokenMean => Some("bnpo"),
            Self::SeqMeanTokenSum => None,
            Self::SeqMeanTokenSumNorm { .. } => Some("dr_grpo"),
            Self::TokenSumNorm { .. } => Some("dapo"),
        }
    }

    /// verl's `loss_agg_mode` for this aggregation.
    pub fn verl_name(&self) -> &'static str {
        match self {
            Self::SeqMeanTokenMean => "seq-mean-token-mean",
            Self::TokenMean | Self::TokenSumNorm { .. } => "token-mean",
            Self::SeqMeanTokenSum => "seq-mean-token-sum",
            Self::SeqMeanTokenSumNorm { .. } => "seq-mean-token-sum-norm",
        }
    }
}

/// Reduces `per_token_loss [B, T]` over the tokens selected by `mask` to `[1]`, as `how` says
/// (see [`LossAggregation`] for the formulas and their TRL/verl names). Differentiable; values
/// outside the mask are ignored (they receive zero gradient). Rows without a selected token
/// count as 0 in the sequence means (TRL clamps their token count to 1), and an empty mask
/// gives 0.
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `mask` is not the `[B, T]` of the loss or a
/// dimension is 0; [`RlError::Argument`](crate::RlError::Argument) for a
/// `max_completion_length` of 0 or a `num_tokens` that is not finite and > 0.
pub fn aggregate_loss(
    per_token_loss: Tensor<2>,
    mask: impl TokenMask,
    how: LossAggregation,
) -> RlResult<Tensor<1>> {
    const PLACE: &str = "aggregate_loss";
    let dims = per_token_loss.dims();
    check_non_empty(PLACE, "per_token_loss", &dims)?;
    let mask = bool_mask(PLACE, dims, mask)?;
    let b = dims[0] as f64;
    Ok(match how {
        LossAggregation::SeqMeanTokenMean => masked_mean_per_sequence(per_token_loss, mask)?.mean(),
        LossAggregation::TokenMean => masked_mean_batch(per_token_loss, mask)?,
        LossAggregation::SeqMeanTokenSum => {
            masked_sum_per_sequence(per_token_loss, mask)?.sum() / b
        }
        LossAggregation::SeqMeanTokenSumNorm {
            max_completion_length,
        } => {
            if max_completion_length == 0 {
                return Err(RlError::Argument {
                    place: PLACE,
                    argument: "max_completion_length",
                    message: "must be ≥ 1, got 0".to_string(),
                });
            }
            masked_sum_per_sequence(per_token_loss, mask)?.sum()
                / (b * max_completion_length as f64)
        }
        LossAggregation::TokenSumNorm { num_tokens } => {
            if !(num_tokens.is_finite() && num_tokens > 0.0) {
                return Err(RlError::Argument {
                    place: PLACE,
                    argument: "num_tokens",
                    message: format!("must be finite and > 0, got {num_tokens}"),
                });
            }
            masked_sum_per_sequence(per_token_loss, mask)?.sum() / num_tokens
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::advantage::test_util::{m2, t2, v1};
    use super::*;
    use approx::assert_relative_eq;

    fn agg(how: LossAggregation) -> f32 {
        // Row sums 3 (2 tokens) and 10 (4 tokens); a NaN off the mask; B = 3 with an empty row.
        let l = t2(&[
            &[1.0, 2.0, f32::NAN, 0.0],
            &[1.0, 2.0, 3.0, 4.0],
            &[5.0, 5.0, 5.0, 5.0],
        ]);
        let m = m2(&[&[1, 1, 0, 0], &[1, 1, 1, 1], &[0, 0, 0, 0]]);
        v1(aggregate_loss(l, m, how).unwrap())[0]
    }

    #[test]
    fn hand_computed() {
        use LossAggregation::*;
        assert_relative_eq!(
            agg(SeqMeanTokenMean),
            (1.5 + 2.5 + 0.0) / 3.0,
            epsilon = 1e-6
        );
        assert_relative_eq!(agg(TokenMean), 13.0 / 6.0, epsilon = 1e-6);
        assert_relative_eq!(agg(SeqMeanTokenSum), 13.0 / 3.0, epsilon = 1e-6);
        assert_relative_eq!(
            agg(SeqMeanTokenSumNorm {
                max_completion_length: 8
            }),
            13.0 / 24.0,
            epsilon = 1e-6
        );
        assert_relative_eq!(agg(TokenSumNorm { num_tokens: 26.0 }), 0.5, epsilon = 1e-6);
        let empty = aggregate_loss(t2(&[&[1.0]]), m2(&[&[0]]), TokenMean).unwrap();
        assert_eq!(v1(empty), vec![0.0]);
    }

    #[test]
    fn names_and_validation() {
        use LossAggregation::*;
        let all = [
            SeqMeanTokenMean,
            TokenMean,
            SeqMeanTokenSum,
            SeqMeanTokenSumNorm {
                max_completion_length: 4,
            },
            TokenSumNorm { num_tokens: 1.0 },
        ];
        let trl: Vec<_> = all.iter().map(|a| a.trl_name()).collect();
        assert_eq!(
            trl,
            vec![
                Some("grpo"),
                Some("bnpo"),
                None,
                Some("dr_grpo"),
                Some("dapo")
            ]
        );
        assert_eq!(all[3].verl_name(), "seq-mean-token-sum-norm");
        let e = aggregate_loss(t2(&[&[1.0]]), m2(&[&[1]]), TokenSumNorm { num_tokens: 0.0 });
        assert_eq!(
            e.unwrap_err().to_string(),
            "aggregate_loss: `num_tokens` must be finite and > 0, got 0"
        );
        let e = aggregate_loss(
            t2(&[&[1.0]]),
            m2(&[&[1]]),
            SeqMeanTokenSumNorm {
                max_completion_length: 0,
            },
        );
        assert!(e.is_err());
    }
}
