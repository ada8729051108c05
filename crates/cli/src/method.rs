//! The run configurations the command line reads ([`RunConfig`]), and the documentation of
//! every key that `--print-config` shows (checked against the defaults by the tests).

use policy_opt::dpo::DpoRunConfig;
use policy_opt::sft::SftRunConfig;
use reward_model::RewardRunConfig;
use serde::Serialize;
use serde::de::DeserializeOwned;
use train::ConfigError;

/// A method's run configuration as the command line handles it.
pub trait RunConfig: Serialize + DeserializeOwned + Default + Clone {
    /// The subcommand (`sft`, `reward`, `dpo`).
    const NAME: &'static str;
    /// Checks every field before any loading.
    fn validate(&self) -> Result<(), ConfigError>;
    /// One line of documentation per key (dotted), with its default and source: exactly the
    /// keys of the default configuration (the tests check it).
    fn docs() -> Vec<(String, &'static str)>;
    /// Documentation of keys that only appear when a file switches a tagged table to
    /// another `kind` (an adaptive KL controller, a grader reward); none by default.
    fn other_variant_docs() -> Vec<(String, &'static str)> {
        Vec::new()
    }
}

impl RunConfig for SftRunConfig {
    const NAME: &'static str = "sft";
    fn validate(&self) -> Result<(), ConfigError> {
        SftRunConfig::validate(self)
    }
    fn docs() -> Vec<(String, &'static str)> {
        let mut d = keys("", SFT_TOP);
        d.extend(keys("scratch.", SCRATCH));
        d.extend(keys("data.", SFT_DATA));
        d.extend(keys("train.", TRAIN));
        d
    }
}

impl RunConfig for RewardRunConfig {
    const NAME: &'static str = "reward";
    fn other_variant_docs() -> Vec<(String, &'static str)> {
        keys("lora.", LORA)
    }
    fn validate(&self) -> Result<(), ConfigError> {
        RewardRunConfig::validate(self)
    }
    fn docs() -> Vec<(String, &'static str)> {
        let mut d = keys("", REWARD_TOP);
        d.extend(pair_data_docs("data."));
        d.extend(keys("train.", TRAIN));
        d.extend(keys("loss.", REWARD_LOSS));
        d
    }
}

impl RunConfig for DpoRunConfig {
    const NAME: &'static str = "dpo";
    fn validate(&self) -> Result<(), ConfigError> {
        DpoRunConfig::validate(self)
    }
    fn docs() -> Vec<(String, &'static str)> {
        let mut d = keys("", DPO_TOP);
        d.extend(pair_data_docs("data."));
        d.extend(keys("train.", TRAIN));
        d.extend(keys("loss.", DPO_LOSS));
        d
    }
}

/// `docs` with `prefix` before each key.
pub(crate) fn keys(prefix: &str, docs: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
    docs.iter()
        .map(|(k, d)| (format!("{prefix}{k}"), *d))
        .collect()
}

const SFT_TOP: &[(&str, &str)] = &[
    (
        "out",
        "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/sft\")",
    ),
    (
        "model",
        "model to fine-tune: Hugging Face folder, .gguf file or a folder of this project; unset: tokenizer and model trained from scratch as [scratch] says (default unset)",
    ),
];

const SCRATCH: &[(&str, &str)] = &[
    (
        "vocab_size",
        "byte-level BPE vocabulary size, ≥ 259; the model's vocabulary is the tokenizer's (default 4096)",
    ),
    ("d_model", "model width (default 256)"),
    ("layers", "decoder blocks (default 4)"),
    ("heads", "attention heads (default 4)"),
    (
        "kv_heads",
        "key/value heads, grouped-query attention (default 2)",
    ),
    ("d_ff", "SwiGLU hidden width (default 768)"),
    (
        "max_seq_len",
        "longest sequence the model supports, ≥ data.max_len (default 1024)",
    ),
];

const SFT_DATA: &[(&str, &str)] = &[
    (
        "path",
        "JSONL file, plain or gzip; relative to the current directory (required)",
    ),
    (
        "format",
        "\"prompt_completion\" (TRL's prompt/completion, strings or conversations) or \"hh\" (HH-RLHF: prompt → chosen reply) (default \"prompt_completion\")",
    ),
    (
        "strict",
        "fail on the first invalid record instead of skipping and counting it (default false)",
    ),
    (
        "valid_fraction",
        "share of prompts held out for validation perplexity, in [0, 1) (default 0.1)",
    ),
    (
        "max_records",
        "use at most this many records; 0: all (default 0)",
    ),
    (
        "max_len",
        "longest sequence in tokens: prompt cut from the left, completion from the right (default 1024, TRL's max_length)",
    ),
    (
        "completion_only_loss",
        "loss on completion tokens only (default true, TRL's completion_only_loss)",
    ),
];

/// The `[data]` keys of a pair file.
pub(crate) fn pair_data_docs(prefix: &str) -> Vec<(String, &'static str)> {
    let mut d = keys(prefix, PAIR_FILE);
    d.extend(keys(prefix, DATA_SHARED));
    d
}

const PAIR_FILE: &[(&str, &str)] = &[
    (
        "path",
        "preference JSONL file, plain or gzip; relative to the current directory (required)",
    ),
    (
        "format",
        "\"pairwise\" (TRL: prompt, chosen, rejected, margin), \"soft_pairwise\" (prompt, a, b, p_a) or \"hh\" (HH-RLHF dialogues) (default \"pairwise\")",
    ),
    (
        "max_completion_len",
        "longest completion in tokens, EOS included; longer ones keep their start (default 512)",
    ),
];

/// The keys a pair file and a prompt file share.
pub(crate) const DATA_SHARED: &[(&str, &str)] = &[
    (
        "strict",
        "fail on the first invalid record instead of skipping and counting it (default false)",
    ),
    (
        "valid_fraction",
        "share of prompts held out for evaluation, in [0, 1) (default 0.1)",
    ),
    (
        "max_records",
        "use at most this many records; 0: all (default 0)",
    ),
    (
        "max_prompt_len",
        "longest prompt in tokens, BOS included; longer prompts keep their end (default 512, TRL's max_prompt_length)",
    ),
];

const TRAIN: &[(&str, &str)] = &[
    (
        "steps",
        "optimizer steps in total, warmup included; the data is cycled in a seeded order (default 100)",
    ),
    (
        "batch_size",
        "examples or pairs per micro-batch (default 8, TRL's per_device_train_batch_size)",
    ),
    (
        "grad_accum",
        "micro-batches per optimizer step (default 1, TRL's gradient_accumulation_steps)",
    ),
    (
        "learning_rate",
        "peak learning rate; unset: the method's TRL default — SFT 2e-5, reward 1e-4, DPO 1e-6 (default unset)",
    ),
    (
        "lr_scheduler",
        "\"linear\", \"cosine\" or \"constant\" after warmup (default \"linear\", TRL's lr_scheduler_type)",
    ),
    (
        "warmup_steps",
        "linear warmup steps from 0 to the peak (default 0, TRL's)",
    ),
    (
        "min_lr_ratio",
        "final learning rate of linear/cosine as a fraction of the peak, in [0, 1] (default 0)",
    ),
    ("adamw.beta1", "AdamW β₁ (default 0.9, PyTorch/TRL)"),
    ("adamw.beta2", "AdamW β₂ (default 0.999, PyTorch/TRL)"),
    (
        "adamw.epsilon",
        "AdamW ε (default 1e-8, PyTorch/TRL; burn's own default is 1e-5)",
    ),
    (
        "adamw.weight_decay",
        "decoupled weight decay (default 0, TRL's; burn's own default is 1e-4)",
    ),
    (
        "max_grad_norm",
        "clip the global gradient norm to this; 0: no clipping (default 1.0, TRL's)",
    ),
    (
        "eval_every",
        "evaluate on the held-out split every this many steps; 0: only before and after, in the report (default 0, TRL's eval_strategy \"no\")",
    ),
    (
        "eval_batches",
        "held-out batches per evaluation; 0: all (default 0)",
    ),
    (
        "save_every",
        "checkpoint every this many steps and at the end; 0: only at the end (default 500, TRL's save_steps)",
    ),
    (
        "keep_checkpoints",
        "keep the newest this many checkpoints (default 2)",
    ),
    (
        "log_every",
        "write training metrics every this many steps (default 10, TRL's logging_steps)",
    ),
    (
        "seed",
        "seed of the split, the data order and fresh weights (default 42, TRL's)",
    ),
];

const REWARD_TOP: &[(&str, &str)] = &[
    (
        "out",
        "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/reward\")",
    ),
    (
        "model",
        "backbone: Hugging Face folder or a folder of this project, Llama/Qwen/Mistral/GPT-2 families (required)",
    ),
    (
        "freeze_layers",
        "freeze the embeddings and this many lowest blocks (default 0: train all, as TRL)",
    ),
    (
        "calibration_bins",
        "bins of the held-out calibration (ECE) in the report (default 10)",
    ),
    (
        "lora",
        "train LoRA adapters instead of the backbone's weights (TRL's peft_config): a table with rank, alpha, targets = [\"q_proj\", ...], dropout, init, use_rslora, layers, seed; the saved model holds the merged weights (default unset)",
    ),
];

const REWARD_LOSS: &[(&str, &str)] = &[
    (
        "kind",
        "\"BradleyTerry\" (hard labels) or \"SoftLabel\" (cross-entropy against p_chosen) (default \"BradleyTerry\")",
    ),
    (
        "use_margin",
        "subtract each pair's margin inside the sigmoid, Llama 2 (Touvron et al. 2023); Bradley-Terry only (default true)",
    ),
    (
        "center_rewards_coefficient",
        "reward centering, Eisenstein et al. 2023; TRL suggests 0.01 (default 0: off)",
    ),
];

const DPO_TOP: &[(&str, &str)] = &[
    (
        "out",
        "run folder: checkpoints/, metrics.jsonl, curves.png, report.json, model/; rerun to resume (default \"runs/dpo\")",
    ),
    (
        "model",
        "starting policy and reference: Hugging Face folder, .gguf file or a folder of this project (required)",
    ),
    (
        "reference",
        "\"frozen\" (a frozen copy scored every step; TRL's default) or \"cached\" (log-probs computed once into <out>/ref_logps_*.json; TRL's precompute_ref_log_probs) (default \"frozen\")",
    ),
    (
        "kl_prompts",
        "held-out prompts the trained policy samples to estimate its KL to the reference (k3) for the report; 0: none (default 32)",
    ),
];

const DPO_LOSS: &[(&str, &str)] = &[
    (
        "beta",
        "β: DPO temperature, IPO's τ, SimPO's β, ORPO's λ (default 0.1, TRL's; Rafailov et al. 2023)",
    ),
    (
        "loss_types",
        "TRL's loss_type names, combined as Σ w·ℓ: sigmoid, hinge, ipo, robust, exo_pair, nca_pair, bco_pair, sppo_hard, aot, aot_unpaired, apo_zero, apo_down, discopop, sigmoid_norm, sft, simpo, orpo (default [\"sigmoid\"])",
    ),
    (
        "loss_weights",
        "one weight ≥ 0 per loss type (default unset: 1 each)",
    ),
    (
        "label_smoothing",
        "ε of cDPO/robust/EXO/AOT/SimPO smoothing; must be 0 when no selected loss reads it (default 0)",
    ),
    (
        "simpo_gamma",
        "SimPO's target margin γ (default 0.5, TRL's CPOConfig)",
    ),
    ("discopop_tau", "DiscoPOP's τ (default 0.05, TRL's)"),
];

const LORA: &[(&str, &str)] = &[
    ("rank", "adapter rank r (required in a [lora] table)"),
    ("alpha", "scaling α: the update is (α/r)·A·B (required)"),
    (
        "targets",
        "projections to adapt: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (required)",
    ),
    (
        "dropout",
        "dropout on the adapter input while training (default 0)",
    ),
    (
        "init",
        "\"KaimingUniform\" (PEFT's default, B = 0), \"Gaussian\" or \"Random\"",
    ),
    ("use_rslora", "scale by α/√r, rsLoRA (default false)"),
    ("layers", "adapt only these layer indices (default all)"),
    ("seed", "seed of the adapters' initialisation (default 0)"),
];
