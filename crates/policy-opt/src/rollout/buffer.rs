//! [`RolloutBuffer`]: one rollout's tensors, read by several epochs of shuffled minibatches.

use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// Everything the update phase reads about the `N` samples of one rollout, on the device.
/// Per-token tensors are on the next-token grid `[N, T − 1]` (column `t` scores token `t + 1`).
#[derive(Clone, Debug)]
pub struct RolloutBuffer {
    /// Prompt + completion ids, `[N, T]`.
    pub ids: Tensor<2, Int>,
    /// Padding mask, `[N, T]`.
    pub attention_mask: Tensor<2, Int>,
    /// 1 on the completion tokens that enter the loss, `[N, T − 1]`.
    pub loss_mask: Tensor<2>,
    /// Log-probs of the sampled tokens under the policy that sampled them.
    pub old_logprobs: Tensor<2>,
    /// Log-probs under the reference policy, when a KL term needs them.
    pub ref_logprobs: Option<Tensor<2>>,
    /// The value function's estimates at sampling time (PPO).
    pub old_values: Option<Tensor<2>>,
    /// Advantages (per-sequence advantages repeated over the row's tokens), 0 off the mask.
    pub advantages: Tensor<2>,
    /// Value targets (PPO).
    pub returns: Option<Tensor<2>>,
    /// Loss tokens per row, on the host.
    pub token_counts: Vec<usize>,
    /// The rollout is used by exactly one optimizer step (one epoch of one minibatch): the
    /// policy being updated is the one that sampled, so the loss takes its own detached
    /// log-probs as the old ones and the scoring pass is skipped (as TRL does when
    /// `num_iterations = 1`); `old_logprobs` then holds the sampler's, for metrics only.
    pub old_from_current: bool,
}

/// A subset of a [`RolloutBuffer`]'s rows (the same fields, selected).
pub type Minibatch = RolloutBuffer;

impl RolloutBuffer {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.token_counts.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.token_counts.is_empty()
    }

    /// Loss tokens in all rows.
    pub fn num_tokens(&self) -> usize {
        self.token_counts.iter().sum()
    }

    /// The rows split into `count` minibatches of near-equal size after a shuffle seeded with
    /// `seed` (one seed per epoch gives a new order each epoch, the same on resume).
    pub fn minibatches(&self, count: usize, seed: u64) -> Vec<Vec<usize>> {
        let mut rows: Vec<usize> = (0..self.len()).collect();
        rows.shuffle(&mut StdRng::seed_from_u64(seed));
        split_even(&rows, count)
    }

    /// The rows `rows`, in that order.
    pub fn select(&self, rows: &[usize]) -> Minibatch {
        let device = self.ids.device();
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(
                rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                [rows.len()],
            ),
            &device,
        );
        let pick = |t: &Tensor<2>| t.clone().select(0, idx.clone());
        Minibatch {
            ids: self.ids.clone().select(0, idx.clone()),
            attention_mask: self.attention_mask.clone().select(0, idx.clone()),
            loss_mask: pick(&self.loss_mask),
            old_logprobs: pick(&self.old_logprobs),
            ref_logprobs: self.ref_logprobs.as_ref().map(pick),
            old_values: self.old_values.as_ref().map(pick),
            advantages: pick(&self.advantages),
            returns: self.returns.as_ref().map(pick),
            token_counts: rows.iter().map(|&r| self.token_counts[r]).collect(),
            old_from_current: self.old_from_current,
        }
    }
}

/// `rows` cut into `count` consecutive parts whose sizes differ by at most one (empty parts
/// are dropped when `count > rows.len()`).
pub fn split_even(rows: &[usize], count: usize) -> Vec<Vec<usize>> {
    let count = count.clamp(1, rows.len().max(1));
    let (base, extra) = (rows.len() / count, rows.len() % count);
    let mut out = Vec::with_capacity(count);
    let mut start = 0;
    for i in 0..count {
        let len = base + usize::from(i < extra);
        if len > 0 {
            out.push(rows[start..start + len].to_vec());
        }
        start += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_even_covers_every_row_once() {
        let rows: Vec<usize> = (0..10).collect();
        let parts = split_even(&rows, 3);
        assert_eq!(
            parts.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        assert_eq!(parts.concat(), rows);
        assert_eq!(split_even(&rows[..2], 5).len(), 2);
    }
}
