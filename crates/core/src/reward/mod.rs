//! The [`Reward`] trait: every source of reward — a reward model, a weighted ensemble, a
//! closure over text, a grader, an AI judge — scores a batch of rollout [`Sample`]s the same
//! way, so online trainers (PPO, GRPO, RLOO, REINFORCE++) take any of them.
//!
//! A [`RewardInput`] gives both views of a batch: the texts and token ids of every sample
//! (with the dataset row it came from, for graders that compare with a reference answer), and
//! optionally the padded tensors the policy saw (for reward models that share its
//! tokenizer). A reward returns [`Scores`]: one number per sample, optionally per-token dense
//! rewards (fine-grained RLHF), and batch statistics to log.

mod closure;
mod error;
mod sample;
mod weighted;

pub use closure::FnReward;
pub use error::RewardError;
pub use sample::{RewardInput, Sample, SampleTensors, Scores};
pub use weighted::WeightedRewards;

/// A source of reward for rollouts.
///
/// Implementations must return exactly one finite score per sample (callers check with
/// [`Scores::validate`]), and a dense `[N, T]` tensor only when the input carries
/// [`SampleTensors`] (it is aligned with their `ids`). Errors — a server that does not
/// answer, a model that cannot run — are returned, never panicked.
///
/// ```
/// use rlhf_core::{FnReward, Reward, RewardInput, Sample};
///
/// // A programmatic reward over text: the length of the completion in words, capped at 10.
/// let mut words = FnReward::new("words", |s: &Sample| s.completion.split_whitespace().count().min(10) as f32);
/// let samples = vec![Sample::from_text("Hi", " hello there"), Sample::from_text("Hi", "")];
/// let scores = words.score(&RewardInput::new(&samples)).unwrap();
/// assert_eq!(scores.sequence, vec![2.0, 0.0]);
/// ```
pub trait Reward {
    /// Short name for logs and metrics (e.g. `"rm"`, `"string_check"`).
    fn name(&self) -> &str;

    /// Scores every sample of `input`.
    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError>;
}

impl<R: Reward + ?Sized> Reward for Box<R> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        (**self).score(input)
    }
}

impl<R: Reward + ?Sized> Reward for &mut R {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn score(&mut self, input: &RewardInput<'_>) -> Result<Scores, RewardError> {
        (**self).score(input)
    }
}
