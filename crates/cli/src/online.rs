//! The online subcommands — `ppo`, `grpo`, `rloo`, `rft` — each an
//! [`OnlineRunConfig`] with its method's defaults, and the documentation of every key.

use policy_opt::online::{
    Algorithm, GraderSource, GrpoConfig, OnlineConfig, OnlineRunConfig, PpoConfig, RewardSource,
    RlooConfig,
};
use serde::{Deserialize, Serialize};
use train::ConfigError;

use crate::method::{DATA_SHARED, RunConfig, keys};

/// A command whose configuration is an [`OnlineRunConfig`].
pub trait OnlineCommand: RunConfig {
    /// The run configuration.
    fn run_config(&self) -> &OnlineRunConfig;
}

macro_rules! online_command {
    ($ty:ident, $name:literal, $doc:literal, $make:expr, $docs:expr) => {
        #[doc = $doc]
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $ty(pub OnlineRunConfig);

        impl Default for $ty {
            fn default() -> Self {
                Self($make)
            }
        }

        impl OnlineCommand for $ty {
            fn run_config(&self) -> &OnlineRunConfig {
                &self.0
            }
        }

        impl RunConfig for $ty {
            const NAME: &'static str = $name;
            fn validate(&self) -> Result<(), ConfigError> {
                let want = Self::default().0.train.algorithm.name();
                let got = self.0.train.algorithm.name();
                if got != want {
                    return Err(ConfigError::new(
                        "train.algorithm.kind",
                        format!("\"{want}\" (this is `rlhf {}`)", $name),
                        format!("\"{got}\""),
                    ));
                }
                self.0.validate()
            }
            fn docs() -> Vec<(String, &'static str)> {
                $docs
            }
            fn other_variant_docs() -> Vec<(String, &'static str)> {
                keys("", ONLINE_EXTRA)
            }
        }
    };
}

online_command!(
    PpoCommand,
    "ppo",
    "`rlhf ppo`: PPO with a KL penalty against the frozen starting model and a reward model \
     (InstructGPT's recipe); TRL `PPOTrainer`'s defaults.",
    {
        let mut c = base("runs/ppo", Algorithm::Ppo(PpoConfig::default()));
        c.train.lr = 3e-6;
        c
    },
    docs(
        PPO_TOP,
        FORMAT,
        PPO_ALGORITHM,
        PPO_ROLLOUT,
        "peak learning rate (default 3e-6, TRL PPO's)",
        REWARD_MODEL
    )
);

online_command!(
    GrpoCommand,
    "grpo",
    "`rlhf grpo`: GRPO (Shao et al. 2024) with a reward model; TRL `GRPOTrainer`'s defaults.",
    base("runs/grpo", Algorithm::Grpo(GrpoConfig::default())),
    docs(
        GRPO_TOP,
        FORMAT,
        GRPO_ALGORITHM,
        GRPO_ROLLOUT,
        LR_GROUP,
        REWARD_MODEL
    )
);

online_command!(
    RlooCommand,
    "rloo",
    "`rlhf rloo`: RLOO (Ahmadian et al. 2024) with a reward model; TRL `RLOOTrainer`'s defaults.",
    base("runs/rloo", Algorithm::Rloo(RlooConfig::default())),
    docs(
        RLOO_TOP,
        FORMAT,
        RLOO_ALGORITHM,
        RLOO_ROLLOUT,
        LR_GROUP,
        REWARD_MODEL
    )
);

online_command!(
    RftCommand,
    "rft",
    "`rlhf rft`: reinforcement fine-tuning as OpenAI's RFT — GRPO on prompts whose rows carry \
     reference answers, rewarded by graders.",
    {
        let mut c = base("runs/rft", Algorithm::Grpo(GrpoConfig::default()));
        c.prompts.format = pref_data::PromptFormat::Rft;
        c.reward = RewardSource::Graders(GraderSource::default());
        c
    },
    docs(
        RFT_TOP,
        RFT_FORMAT,
        GRPO_ALGORITHM,
        GRPO_ROLLOUT,
        LR_GROUP,
        REWARD_GRADERS
    )
);

/// `rlhf eval-policy`: the configuration of any online run (its `model` is the reference);
/// the algorithm is not checked, its defaults are GRPO's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EvalPolicyCommand(pub OnlineRunConfig);

impl Default for EvalPolicyCommand {
    fn default() -> Self {
        Self(GrpoCommand::default().0)
    }
}

impl RunConfig for EvalPolicyCommand {
    const NAME: &'static str = "eval-policy";
    fn validate(&self) -> Result<(), ConfigError> {
        self.0.validate()
    }
    fn docs() -> Vec<(String, &'static str)> {
        GrpoCommand::docs()
    }
    fn other_variant_docs() -> Vec<(String, &'static str)> {
        keys("", ONLINE_EXTRA)
    }
}

fn base(out: &str, algorithm: Algorithm) -> OnlineRunConfig {
    OnlineRunConfig {
        out: out.into(),
        train: OnlineConfig::for_algorithm(algorithm),
        ..OnlineRunConfig::default()
    }
}

/// The documentation of an online command's keys: the shared tables plus what differs.
fn docs(
    top: &[(&str, &'static str)],
    format: &'static str,
    algorithm: &[(&str, &'static str)],
    rollout: &[(&str, &'static str)],
    lr: &'static str,
    reward: &[(&str, &'static str)],
) -> Vec<(String, &'static str)> {
    let mut d = keys("", top);
    d.extend(keys("", ONLINE_TOP));
    d.extend(prompt_docs("prompts."));
    d.push(("prompts.format".into(), format));
    d.extend(keys("reward.", reward));
    d.extend(keys("train.", ONLINE_TRAIN));
    d.push(("train.lr".into(), lr));
    d.extend(keys("train.algorithm.", algorithm));
    d.extend(keys("train.rollout.", ROLLOUT));
    d.extend(keys("train.rollout.", rollout));
    d
}

/// Keys of the variants a command does not start with (another `kind` of KL controller or
/// reward), for `--print-config` after a file switched to them. Where a key of the default
/// variant has the same name, the command's own documentation wins.
const ONLINE_EXTRA: &[(&str, &str)] = &[
    (
        "train.algorithm.kl.init_beta",
        "initial β of the adaptive controller (Ziegler et al. 2019, §2.2)",
    ),
    (
        "train.algorithm.kl.target",
        "KL target in nats per completion of the adaptive controller",
    ),
    (
        "train.algorithm.kl.horizon",
        "horizon of the adaptive controller: β moves by at most ±20 % per horizon samples",
    ),
    (
        "reward.normalize",
        "normalise the scores by the mean and std saved with the reward model (default true)",
    ),
    (
        "reward.batch_size",
        "rows scored per forward pass (default 16)",
    ),
    (
        "reward.name",
        "which grader of the file, by name; unset: the file holds exactly one",
    ),
];

const PPO_TOP: &[(&str, &str)] = &[(
    "out",
    "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/ppo\")",
)];
const GRPO_TOP: &[(&str, &str)] = &[(
    "out",
    "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/grpo\")",
)];
const RLOO_TOP: &[(&str, &str)] = &[(
    "out",
    "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/rloo\")",
)];
const RFT_TOP: &[(&str, &str)] = &[(
    "out",
    "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/rft\")",
)];

const ONLINE_TOP: &[(&str, &str)] = &[
    (
        "model",
        "starting policy, also the frozen reference of the KL term: Hugging Face folder, .gguf file or a folder of this project (required)",
    ),
    (
        "critic",
        "PPO only: a reward-model folder that starts a separate critic (TRL, OpenRLHF; Bai et al. 2022 §4.1); unset: a value head on the policy (default unset)",
    ),
    (
        "eval_prompts",
        "held-out prompts sampled before and after training (reward, KL, length, EOS rate) and every train.eval_every iterations; 0: none (default 64)",
    ),
    (
        "eval_samples_per_prompt",
        "completions per held-out prompt in those evaluations (default 1)",
    ),
];

/// The `[prompts]` keys but `format` (which differs per command).
pub(crate) fn prompt_docs(prefix: &str) -> Vec<(String, &'static str)> {
    let path = (
        "path",
        "prompt JSONL file, plain or gzip; relative to the current directory (required)",
    );
    let mut d = keys(prefix, &[path]);
    d.extend(keys(prefix, DATA_SHARED));
    d
}

pub(crate) const FORMAT: &str = "\"prompt\" (TRL prompt-only, optional reference answer), \"rft\" (OpenAI RFT rows: messages + fields), or the prompts of \"pairwise\", \"soft_pairwise\" or \"hh\" files (default \"prompt\")";
const RFT_FORMAT: &str = "\"rft\" (OpenAI RFT rows: messages + fields the graders read), \"prompt\" (TRL prompt-only, optional reference answer), or the prompts of \"pairwise\", \"soft_pairwise\" or \"hh\" files (default \"rft\")";

const REWARD_MODEL: &[(&str, &str)] = &[
    (
        "kind",
        "\"model\" (a reward-model folder) or \"graders\" (OpenAI-style grader file) (default \"model\")",
    ),
    (
        "path",
        "the reward-model folder, <out>/model of `rlhf reward` (required)",
    ),
    (
        "normalize",
        "normalise the scores by the mean and std saved with the model, OpenRLHF's normalize_reward (default true)",
    ),
    ("batch_size", "rows scored per forward pass (default 16)"),
];

const REWARD_GRADERS: &[(&str, &str)] = &[
    (
        "kind",
        "\"graders\" (OpenAI-style grader file) or \"model\" (a reward-model folder) (default \"graders\")",
    ),
    (
        "path",
        "grader file, .toml or .json, in OpenAI's grader format (required)",
    ),
    (
        "name",
        "which grader of the file, by name; unset: the file holds exactly one (default unset)",
    ),
];

const LR_GROUP: &str = "peak learning rate (default 1e-6, TRL GRPO's and RLOO's)";

const ONLINE_TRAIN: &[(&str, &str)] = &[
    (
        "iterations",
        "rollout → update iterations; optimizer steps are iterations × epochs × minibatches (default 100)",
    ),
    (
        "minibatches",
        "minibatches per epoch, one optimizer step each (default 1, TRL's num_mini_batches)",
    ),
    (
        "grad_accum",
        "micro-batches per minibatch (default 1, gradient accumulation)",
    ),
    (
        "warmup_ratio",
        "share of the optimizer steps warming up linearly (default 0, TRL's warmup_ratio)",
    ),
    (
        "lr_decay",
        "\"linear\", \"cosine\" or \"constant\" after warmup (default \"linear\", TRL's)",
    ),
    (
        "min_lr_ratio",
        "final learning rate as a fraction of the peak (default 0)",
    ),
    ("adamw.beta1", "AdamW β₁ (default 0.9)"),
    ("adamw.beta2", "AdamW β₂ (default 0.999)"),
    ("adamw.epsilon", "AdamW ε (default 1e-8, PyTorch/TRL)"),
    (
        "adamw.weight_decay",
        "decoupled weight decay (default 0, TRL's)",
    ),
    (
        "max_grad_norm",
        "clip the global gradient norm to this (default 1.0, TRL's max_grad_norm)",
    ),
    (
        "normalize_scores",
        "rescale sequence scores by running mean and std, checkpointed (default false, OpenRLHF's normalize_reward)",
    ),
    (
        "max_log_ratio",
        "largest |log π_θ − log π_old| tolerated on a completion token before on_divergence acts (default 20.0)",
    ),
    (
        "on_divergence",
        "\"error\" (stop, naming the step; the last good checkpoint is kept) or \"clip\" (default \"error\")",
    ),
    (
        "max_kl",
        "stop with an error when the rollout's mean KL to the reference exceeds this many nats (default unset)",
    ),
    (
        "eval_every",
        "sample the held-out prompts every this many iterations; 0: only before and after (default 0)",
    ),
    (
        "save_every",
        "checkpoint every this many iterations and at the end; 0: only at the end (default 10)",
    ),
    ("keep_checkpoints", "checkpoints kept (default 2)"),
    (
        "seed",
        "seed of the split, the prompt order, sampling and minibatch shuffles (default 0)",
    ),
];

const ROLLOUT: &[(&str, &str)] = &[
    (
        "prompts_per_iteration",
        "prompts drawn per iteration (default 8)",
    ),
    (
        "max_new_tokens",
        "most tokens per completion (default 64, TRL's max_completion_length is 256)",
    ),
    (
        "temperature",
        "sampling temperature τ; the trained policy is softmax(logits / τ) (default 1.0, TRL GRPO's)",
    ),
    (
        "top_k",
        "sample among the k likeliest tokens only (default unset)",
    ),
    ("top_p", "nucleus sampling mass (default 1.0: off)"),
    (
        "stop_token_ids",
        "tokens that end a completion; empty: the tokenizer's EOS (default [])",
    ),
    (
        "missing_eos_penalty",
        "subtracted from the score of completions without a stop token (default unset, TRL's missing_eos_penalty)",
    ),
    (
        "mask_truncated_completions",
        "leave completions cut at max_new_tokens out of the loss (default false; DAPO, Yu et al. 2025 §3.3)",
    ),
    (
        "generation_batch_size",
        "rows per generation call, bounds memory (default 64)",
    ),
    (
        "score_batch_size",
        "rows per scoring forward pass: old and reference log-probs, values (default 16)",
    ),
    (
        "old_logprobs",
        "\"scoring\" (one scoring pass: the first update starts at ratio 1, as TRL and verl) or \"sampler\" (generation's own log-probs) (default \"scoring\")",
    ),
];

const PPO_ROLLOUT: &[(&str, &str)] = &[(
    "samples_per_prompt",
    "completions per prompt (default 1, PPO's)",
)];
const GRPO_ROLLOUT: &[(&str, &str)] = &[(
    "samples_per_prompt",
    "completions per prompt, the group size G ≥ 2 (default 8, TRL's num_generations)",
)];
const RLOO_ROLLOUT: &[(&str, &str)] = &[(
    "samples_per_prompt",
    "completions per prompt, k ≥ 2 for the leave-one-out baseline (default 2, TRL RLOO's num_generations)",
)];

const PPO_ALGORITHM: &[(&str, &str)] = &[
    ("kind", "the algorithm (default \"ppo\")"),
    (
        "kl.kind",
        "\"fixed\" β or \"adaptive\" toward a KL target (Ziegler et al. 2019 §2.2; keys init_beta, target, horizon) (default \"fixed\")",
    ),
    (
        "kl.beta",
        "KL coefficient β in the per-token reward −β·KL (default 0.05, TRL's kl_coef)",
    ),
    (
        "kl_estimator",
        "per-token KL estimator in the reward: \"k1\", \"k2\" or \"k3\" (default \"k1\", TRL's)",
    ),
    ("gamma", "discount γ (default 1.0, TRL's)"),
    ("lam", "GAE λ, Schulman et al. 2016 (default 0.95, TRL's)"),
    (
        "cliprange",
        "clip range ε of the ratio (default 0.2, TRL's cliprange)",
    ),
    (
        "cliprange_value",
        "clip range of the value prediction (default 0.2, TRL's)",
    ),
    ("vf_coef", "weight of the value loss (default 0.1, TRL's)"),
    ("entropy_coef", "weight of the entropy bonus (default 0)"),
    (
        "whiten_rewards",
        "whiten the per-token rewards before GAE (default false, TRL's)",
    ),
    (
        "whiten_advantages",
        "whiten the advantages over the rollout (default true, as TRL)",
    ),
    (
        "epochs",
        "passes over each rollout (default 4, TRL's num_ppo_epochs)",
    ),
    (
        "kl_early_stop",
        "end an iteration's epochs once a minibatch's approximate KL to the old policy exceeds this (default unset)",
    ),
];

const GRPO_ALGORITHM: &[(&str, &str)] = &[
    ("kind", "the algorithm (default \"grpo\")"),
    (
        "beta",
        "KL coefficient β of the k3 loss term; 0 needs no reference (default 0.0, TRL 1.16's; DeepSeekMath used 0.04)",
    ),
    ("epsilon_low", "lower clip ε (default 0.2, TRL's epsilon)"),
    (
        "epsilon_high",
        "upper clip ε (default 0.2; DAPO recommends 0.28)",
    ),
    (
        "scale_rewards",
        "\"group\", \"batch\" or \"none\" (Dr. GRPO) scaling of the group advantages (default \"group\", TRL's)",
    ),
    (
        "loss_type",
        "\"grpo\", \"bnpo\", \"dr_grpo\" or \"dapo\" loss aggregation (default \"dapo\", TRL 1.16's)",
    ),
    (
        "importance_sampling_level",
        "\"token\", \"sequence\" (GSPO, geometric mean) or \"sequence_sum\" (TRL RLOO's) ratios (default \"token\")",
    ),
    (
        "dynamic_sampling",
        "drop groups whose rewards are all equal before the update (default false; DAPO §3.2)",
    ),
    ("entropy_coef", "weight of the entropy bonus (default 0)"),
    (
        "epochs",
        "passes over each rollout (default 1, TRL's num_iterations)",
    ),
];

const RLOO_ALGORITHM: &[(&str, &str)] = &[
    ("kind", "the algorithm (default \"rloo\")"),
    (
        "beta",
        "KL coefficient β in the reward (default 0.05, TRL's)",
    ),
    ("epsilon_low", "lower clip ε (default 0.2, TRL's epsilon)"),
    ("epsilon_high", "upper clip ε (default 0.2)"),
    (
        "normalize_advantages",
        "normalise the advantages to mean 0, std 1 (default false, TRL's)",
    ),
    (
        "epochs",
        "passes over each rollout (default 1, TRL's num_iterations)",
    ),
];
