//! Fine-grained rewards: several reward models combined with weights into one signal, and
//! segment-level (e.g. per sentence) rewards placed on the tokens that end each segment, as a
//! per-token tensor for PPO (Wu et al. 2023, "Fine-Grained Human Feedback Gives Better
//! Rewards for Language Model Training").

use burn::tensor::{Int, Tensor};
use lm::head::last_token_index;

use crate::error::{RmError, RmResult};
use crate::model::RewardModel;

/// Where a reward model gives its rewards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Granularity {
    /// One reward per sequence, on the completion's last token.
    Sequence,
    /// One reward per segment of the completion: a segment ends at any token whose id is in
    /// `boundary_ids` (e.g. the ids of `.`, `?`, `!`, newline for sentences) and at the
    /// completion's last token.
    Segments {
        /// Token ids that end a segment.
        boundary_ids: Vec<u32>,
    },
}

/// `[B, T]` Int, 1 on the tokens that end a segment of the completion (`completion_mask`
/// `[B, T]`, 1 on completion tokens): every completion token whose id is in `boundary_ids`,
/// and each row's last completion token. Rows without completion tokens are all 0.
pub fn segment_end_mask(
    ids: Tensor<2, Int>,
    completion_mask: Tensor<2, Int>,
    boundary_ids: &[u32],
) -> Tensor<2, Int> {
    let [b, t] = ids.dims();
    let device = ids.device();
    let mut ends = Tensor::<2, Int>::zeros([b, t], &device);
    for &id in boundary_ids {
        ends = ends + ids.clone().equal_elem(id as i64).int();
    }
    let last = last_token_index(completion_mask.clone()).reshape([b, 1]);
    let positions = Tensor::<1, Int>::arange(0..t as i64, &device).reshape([1, t]);
    let is_last = positions.equal(last).int();
    let has_completion = completion_mask.clone().sum_dim(1).clamp_max(1); // [b, 1]
    (ends.clamp_max(1) + is_last * has_completion).clamp_max(1) * completion_mask
}

/// Segment-level dense rewards of one model: each segment's reward (the token score at its
/// last token, i.e. the score of the text up to the end of the segment — the backbone is
/// causal) placed on that token, 0 elsewhere; `[B, T]`.
///
/// ```text
/// r_t = R(x, y_{≤t})   if t ends a segment,   0 otherwise
/// ```
///
/// `ends` is a [`segment_end_mask`] (or any `[B, T]` 0/1 mask).
pub fn segment_rewards(
    model: &dyn RewardModel,
    ids: Tensor<2, Int>,
    mask: Tensor<2, Int>,
    ends: Tensor<2, Int>,
) -> Tensor<2> {
    model.token_scores(ids, mask) * ends.float()
}

/// One member of a [`RewardEnsemble`].
pub struct RewardComponent<'a> {
    /// Name, used in logs (e.g. `"factuality"`).
    pub name: String,
    /// The model (wrap it in a [`NormalizedRewardModel`](crate::NormalizedRewardModel) to
    /// normalise its scores first).
    pub model: &'a dyn RewardModel,
    /// Its weight `w_k` in the combined reward.
    pub weight: f32,
    /// Where it rewards.
    pub granularity: Granularity,
}

/// Several reward models combined into one signal (Wu et al. 2023, eq. 1):
///
/// ```text
/// r_t = Σ_k w_k Σ_j 1[t = T_j^k] · R_k(x, y, j)        (dense, per token)
/// R   = Σ_k w_k R_k(x, y)                             (one scalar per sequence)
/// ```
///
/// where `T_j^k` is the last token of segment `j` under model `k`'s granularity (sentence,
/// sub-sentence or whole sequence). PPO adds its per-token KL penalty to `r_t`.
pub struct RewardEnsemble<'a> {
    components: Vec<RewardComponent<'a>>,
}

/// Dense rewards of an ensemble.
pub struct DenseRewards {
    /// The weighted sum, `[B, T]`.
    pub total: Tensor<2>,
    /// Each component's unweighted dense rewards, `[B, T]`, by name.
    pub components: Vec<(String, Tensor<2>)>,
}

impl<'a> RewardEnsemble<'a> {
    /// Checks the members: at least one, unique names, finite weights.
    pub fn new(components: Vec<RewardComponent<'a>>) -> RmResult<Self> {
        if components.is_empty() {
            return Err(RmError::config(
                "components",
                "at least one reward model",
                0,
            ));
        }
        for (i, c) in components.iter().enumerate() {
            if !c.weight.is_finite() {
                return Err(RmError::config(
                    "weight",
                    format!("a finite number for component {:?}", c.name),
                    c.weight,
                ));
            }
            if components[..i].iter().any(|o| o.name == c.name) {
                return Err(RmError::config("name", "unique component names", &c.name));
            }
        }
        Ok(Self { components })
    }

    /// The members.
    pub fn components(&self) -> &[RewardComponent<'a>] {
        &self.components
    }

    /// `Σ_k w_k R_k(sequence)`, `[B]`.
    pub fn score(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<1> {
        let mut total: Option<Tensor<1>> = None;
        for c in &self.components {
            let r = c
                .model
                .score(ids.clone(), mask.clone())
                .mul_scalar(c.weight);
            total = Some(match total {
                None => r,
                Some(t) => t + r,
            });
        }
        total.expect("an ensemble has at least one component")
    }

    /// Per-token rewards for PPO: each component's segment rewards (sequence-level ones on the
    /// completion's last token), weighted and summed; `[B, T]` each.
    pub fn dense(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
        completion_mask: Tensor<2, Int>,
    ) -> DenseRewards {
        let completion_mask = completion_mask * mask.clone();
        let mut total: Option<Tensor<2>> = None;
        let mut parts = Vec::with_capacity(self.components.len());
        for c in &self.components {
            let boundaries: &[u32] = match &c.granularity {
                Granularity::Sequence => &[],
                Granularity::Segments { boundary_ids } => boundary_ids,
            };
            let ends = segment_end_mask(ids.clone(), completion_mask.clone(), boundaries);
            let r = segment_rewards(c.model, ids.clone(), mask.clone(), ends);
            let weighted = r.clone().mul_scalar(c.weight);
            total = Some(match total {
                None => weighted,
                Some(t) => t + weighted,
            });
            parts.push((c.name.clone(), r));
        }
        DenseRewards {
            total: total.expect("an ensemble has at least one component"),
            components: parts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    /// Scores each position with `scale ×` its token id, so expected values are obvious.
    struct IdScorer {
        scale: f32,
    }

    impl RewardModel for IdScorer {
        fn score(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<1> {
            let [b, _] = ids.dims();
            let idx = last_token_index(mask.clone()).reshape([b, 1]);
            self.token_scores(ids, mask).gather(1, idx).reshape([b])
        }

        fn token_scores(&self, ids: Tensor<2, Int>, _mask: Tensor<2, Int>) -> Tensor<2> {
            ids.float().mul_scalar(self.scale)
        }
    }

    fn rows(v: [[i64; 6]; 2]) -> Tensor<2, Int> {
        let flat: Vec<i64> = v.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [2, 6]), &Device::flex())
    }

    #[test]
    fn segment_ends_are_boundaries_inside_the_completion_and_the_last_token() {
        // Row 0: prompt [1, 9], completion [3, 9, 4, 5]; row 1: completion [9, 2], then padding.
        let ids = rows([[1, 9, 3, 9, 4, 5], [7, 7, 9, 2, 0, 0]]);
        let comp = rows([[0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0]]);
        let ends: Vec<i64> = segment_end_mask(ids, comp, &[9]).try_into_vec_as().unwrap();
        assert_eq!(ends, vec![0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0]);
    }

    #[test]
    fn ensemble_weights_and_places_segment_rewards() {
        let ids = rows([[1, 9, 3, 9, 4, 5], [7, 7, 9, 2, 0, 0]]);
        let mask = rows([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]);
        let comp = rows([[0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 0, 0]]);
        let (a, b) = (IdScorer { scale: 1.0 }, IdScorer { scale: 10.0 });
        let ensemble = RewardEnsemble::new(vec![
            RewardComponent {
                name: "sentences".into(),
                model: &a,
                weight: 0.5,
                granularity: Granularity::Segments {
                    boundary_ids: vec![9],
                },
            },
            RewardComponent {
                name: "whole".into(),
                model: &b,
                weight: 2.0,
                granularity: Granularity::Sequence,
            },
        ])
        .unwrap();
        let dense = ensemble.dense(ids.clone(), mask.clone(), comp);
        let total: Vec<f32> = dense.total.try_into_vec_as().unwrap();
        // Row 0: 0.5·9 at t=3; 0.5·5 + 2·50 at t=5. Row 1: 0.5·9 at t=2; 0.5·2 + 2·20 at t=3.
        assert_eq!(
            total,
            vec![
                0.0, 0.0, 0.0, 4.5, 0.0, 102.5, 0.0, 0.0, 4.5, 41.0, 0.0, 0.0
            ]
        );
        let seq: Vec<f32> = ensemble.score(ids, mask).try_into_vec_as().unwrap();
        assert_eq!(seq, vec![0.5 * 5.0 + 2.0 * 50.0, 0.5 * 2.0 + 2.0 * 20.0]);
    }

    #[test]
    fn bad_ensembles_are_errors() {
        let a = IdScorer { scale: 1.0 };
        let c = |name: &str, weight: f32| RewardComponent {
            name: name.into(),
            model: &a,
            weight,
            granularity: Granularity::Sequence,
        };
        assert!(RewardEnsemble::new(vec![]).is_err());
        let e = RewardEnsemble::new(vec![c("x", 1.0), c("x", 1.0)])
            .err()
            .unwrap();
        assert!(e.to_string().contains("unique"), "{e}");
        let e = RewardEnsemble::new(vec![c("x", f32::NAN)]).err().unwrap();
        assert!(e.to_string().contains("weight"), "{e}");
    }
}
