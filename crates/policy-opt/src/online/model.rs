//! [`ActorCritic`]: the module online methods train — a policy, and for PPO a value function.

use burn::module::{Module, ModuleDisplay};
use burn::tensor::{Device, Int, Tensor};
use lm::{CausalLm, ScalarHead, TokenStats};
use reward_model::{RewardModel, ScalarRewardModel};

/// What the online loop needs of a policy (and of a critic's backbone): a causal LM that is a
/// burn module (any model of `lm`, e.g. `Transformer` or `Gemma3`). Implemented for every
/// such type.
pub trait PolicyModule: CausalLm + Module + ModuleDisplay + Clone + std::fmt::Debug {}

impl<T: CausalLm + Module + ModuleDisplay + Clone + std::fmt::Debug> PolicyModule for T {}

/// The value function `V(s_t)` of PPO.
#[derive(Module, Debug)]
pub enum ValueFunction<C> {
    /// A scalar head on the policy's own final hidden states: policy and value share the
    /// backbone and one forward pass (the value loss then also shapes the backbone).
    Head(ScalarHead),
    /// A separate critic, a backbone with a scalar head — typically initialised from the reward
    /// model (Constitutional AI, Bai et al. 2022, §4.1: "we initialise the value function from
    /// the PM"; TRL's PPO and OpenRLHF also start the critic from the reward model).
    Critic(ScalarRewardModel<C>),
}

/// A policy `π_θ` and optionally a value function, trained together by one optimizer (one
/// backward pass of `policy loss + vf_coef · value loss`).
///
/// Critic-free methods (GRPO, RLOO, REINFORCE++) use [`ActorCritic::policy_only`]; the
/// type parameter `C` of the critic's backbone then defaults to the policy's.
#[derive(Module, Debug)]
pub struct ActorCritic<P, C = P> {
    /// The policy.
    pub policy: P,
    /// The value function, if any.
    pub value: Option<ValueFunction<C>>,
}

/// What one forward pass of an [`ActorCritic`] gives on the next-token grid `[B, T − 1]`
/// (position `t` scores token `t + 1`).
#[derive(Clone, Debug)]
pub struct RlForward {
    /// Per-token log-probs under `softmax(logits / τ)`.
    pub logprobs: Tensor<2>,
    /// Entropies of those distributions, when asked for.
    pub entropy: Option<Tensor<2>>,
    /// `V` at every position (the value of the state before token `t + 1`), when the module
    /// has a value function and values were asked for.
    pub values: Option<Tensor<2>>,
}

impl<P: PolicyModule, C: PolicyModule> ActorCritic<P, C> {
    /// A policy without a value function.
    pub fn policy_only(policy: P) -> Self {
        Self {
            policy,
            value: None,
        }
    }

    /// A policy with a new value head on its backbone, initialised as TRL's value head
    /// (N(0, 1/(d+1)), bias 0) from a host RNG seeded with `seed`.
    pub fn with_value_head(policy: P, seed: u64, device: &Device) -> Self {
        let head = ScalarHead::seeded(policy.d_model(), seed, device);
        Self {
            policy,
            value: Some(ValueFunction::Head(head)),
        }
    }

    /// A policy with a separate critic (e.g. a copy of the reward model).
    pub fn with_critic(policy: P, critic: ScalarRewardModel<C>) -> Self {
        Self {
            policy,
            value: Some(ValueFunction::Critic(critic)),
        }
    }

    /// Whether there is a value function.
    pub fn has_value(&self) -> bool {
        self.value.is_some()
    }

    /// One forward pass over `ids`/`mask` (`[B, T]`): tempered log-probs, entropies if
    /// `with_entropy`, values if `with_values` and the module has a value function. The
    /// policy's backbone runs once; a separate critic runs its own backbone.
    pub fn forward(
        &self,
        ids: Tensor<2, Int>,
        mask: Tensor<2, Int>,
        temperature: f32,
        with_entropy: bool,
        with_values: bool,
    ) -> RlForward {
        let [_, t] = ids.dims();
        let hidden = self.policy.hidden(ids.clone(), mask.clone());
        let values = match (&self.value, with_values) {
            (Some(ValueFunction::Head(head)), true) => {
                Some(head.forward_all(hidden.clone()).narrow(1, 0, t - 1))
            }
            (Some(ValueFunction::Critic(critic)), true) => {
                Some(critic.token_scores(ids.clone(), mask).narrow(1, 0, t - 1))
            }
            _ => None,
        };
        let TokenStats { logprobs, entropy } =
            self.policy
                .token_stats_from_hidden(hidden, ids, temperature, with_entropy);
        RlForward {
            logprobs,
            entropy,
            values,
        }
    }
}
