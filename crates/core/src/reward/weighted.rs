//! [`WeightedRewards`]: several rewards combined linearly.

use super::{Reward, RewardError, RewardInput, Scores};

/// A weighted sum of rewards:
///
/// ```text
/// r(x, y) = Σ_k w_k · r_k(x, y)          (sequence scores)
/// r_t     = Σ_k w_k · r_{k,t}            (dense rewards, for members that give them)
/// ```
///
/// as multi-objective RLHF combines helpfulness and harmlessness rewards, or a grader with a
/// format reward. Each member's mean score is logged as `reward/<name>` and its own metrics
/// under `<name>/…`.
pub struct WeightedRewards<'a> {
    name: String,
    members: Vec<(f32, Box<dyn Reward + 'a>)>,
}

impl<'a> WeightedRewards<'a> {
    /// An empty combination named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            members: Vec::new(),
        }
    }

    /// Adds `reward` with weight `weight`.
    pub fn with(mut self, weight: f32, reward: impl Reward + 'a) -> Self {
        self.members.push((weight, Box::new(reward)));
        self
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there is no member.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

impl Reward for WeightedRewards<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        if self.members.is_empty() {
            return Err(RewardError::failed(&self.name, "has no member reward"));
        }
        if let Some((w, r)) = self.members.iter().find(|(w, _)| !w.is_finite()) {
            return Err(RewardError::failed(
                &self.name,
                format!("weight of `{}` is {w}, not a finite number", r.name()),
            ));
        }
        let mut out = Scores::new(vec![0.0; input.len()]);
        let mut reasons = vec![String::new(); input.len()];
        for (w, reward) in &mut self.members {
            let s = reward.score(input)?;
            s.validate(reward.name(), input)?;
            for (acc, v) in out.sequence.iter_mut().zip(&s.sequence) {
                *acc += *w * v;
            }
            if let Some(d) = s.dense.clone() {
                let d = d * (*w as f64);
                out.dense = Some(match out.dense.take() {
                    Some(acc) => acc + d,
                    None => d,
                });
            }
            out.metrics
                .push((format!("reward/{}", reward.name()), s.mean()));
            for (k, v) in s.metrics {
                out.metrics.push((format!("{}/{k}", reward.name()), v));
            }
            for (acc, r) in reasons.iter_mut().zip(&s.reasons) {
                if !acc.is_empty() {
                    acc.push_str("; ");
                }
                acc.push_str(&format!("{}: {r}", reward.name()));
            }
        }
        if reasons.iter().any(|r| !r.is_empty()) {
            out.reasons = reasons;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FnReward, Sample};

    #[test]
    fn weighted_sum_and_member_metrics() {
        let samples = vec![Sample::from_text("p", "ab"), Sample::from_text("p", "abcd")];
        let mut r = WeightedRewards::new("mix")
            .with(
                0.5,
                FnReward::new("len", |s: &Sample| s.completion.len() as f32),
            )
            .with(-1.0, FnReward::new("one", |_: &Sample| 1.0));
        let s = r.score(&RewardInput::new(&samples)).unwrap();
        assert_eq!(s.sequence, vec![0.0, 1.0]);
        assert_eq!(s.metrics[0], ("reward/len".to_string(), 3.0));
        assert_eq!(s.metrics[1], ("reward/one".to_string(), 1.0));
        assert!(
            WeightedRewards::new("none")
                .score(&RewardInput::new(&samples))
                .is_err()
        );
    }
}
