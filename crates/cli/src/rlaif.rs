//! The RLAIF subcommands — `rlaif` (AI labels on a policy's sampled pairs), `judge` (AI
//! labels on a preference file) and `sl-cai` (critique → revision) — and their documentation.

use rlaif_judge::{FeedbackRunConfig, JudgeModelSource, JudgeRunError, PairSource, SlCaiRunConfig};
use serde::{Deserialize, Serialize};
use train::ConfigError;

use crate::method::{RunConfig, keys, pair_data_docs};
use crate::online::{FORMAT, prompt_docs};

/// A judge-crate error as a configuration error.
fn config_error(e: JudgeRunError) -> ConfigError {
    match e {
        JudgeRunError::Config(e) => e,
        other => ConfigError::new("config", "a valid configuration", other),
    }
}

/// `rlhf rlaif`: two responses per prompt sampled from a policy, labelled by the judge.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RlaifCommand(pub FeedbackRunConfig);

impl Default for RlaifCommand {
    fn default() -> Self {
        let generation = rlaif_judge::GenerateOptions {
            max_new_tokens: 64,
            temperature: 1.0,
            ..Default::default()
        };
        Self(FeedbackRunConfig {
            out: "runs/rlaif".into(),
            source: PairSource::Sample {
                policy: JudgeModelSource::default(),
                prompts: pref_data::PromptDataConfig::default(),
                first_prompt: 0,
                max_prompts: 256,
                max_prompt_chars: 0,
                generation,
            },
            ..FeedbackRunConfig::default()
        })
    }
}

/// `rlhf judge`: the pairs of a preference file relabelled by the judge.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JudgeCommand(pub FeedbackRunConfig);

/// `rlhf sl-cai`: critique → revision, written as SFT data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SlCaiCommand(pub SlCaiRunConfig);

impl RunConfig for RlaifCommand {
    const NAME: &'static str = "rlaif";
    fn validate(&self) -> Result<(), ConfigError> {
        self.0.validate().map_err(config_error)
    }
    fn docs() -> Vec<(String, &'static str)> {
        let mut d = keys("", &[OUT_RLAIF]);
        d.extend(feedback_docs());
        d.push(("source.kind".into(), "\"sample\" (two responses per prompt from a policy) or \"file\" (a preference file's pairs) (default \"sample\")"));
        d.extend(keys("source.", SAMPLE));
        d.extend(keys("source.policy.", MODEL_LOCAL));
        d.extend(prompt_docs("source.prompts."));
        d.push(("source.prompts.format".into(), FORMAT));
        d.extend(keys("source.generation.", GENERATION));
        d
    }
}

impl RunConfig for JudgeCommand {
    const NAME: &'static str = "judge";
    fn validate(&self) -> Result<(), ConfigError> {
        self.0.validate().map_err(config_error)
    }
    fn docs() -> Vec<(String, &'static str)> {
        let mut d = keys("", &[OUT_JUDGE]);
        d.extend(feedback_docs());
        d.push(("source.kind".into(), "\"file\" (a preference file's pairs) or \"sample\" (two responses per prompt from a policy) (default \"file\")"));
        d.extend(pair_data_docs("source.data."));
        d
    }
}

impl RunConfig for SlCaiCommand {
    const NAME: &'static str = "sl-cai";
    fn validate(&self) -> Result<(), ConfigError> {
        let c = &self.0;
        c.model.validate("model").map_err(config_error)?;
        c.prompts.validate().map_err(|e| e.within("prompts"))?;
        if !(0.0..=1.0).contains(&c.min_distinct_ratio) {
            return Err(ConfigError::new(
                "min_distinct_ratio",
                "a number in [0, 1]",
                c.min_distinct_ratio,
            ));
        }
        Ok(())
    }
    fn docs() -> Vec<(String, &'static str)> {
        let mut d = keys("", SL_CAI_TOP);
        d.extend(keys("model.", MODEL_LOCAL));
        d.extend(prompt_docs("prompts."));
        d.push(("prompts.format".into(), FORMAT));
        d.extend(keys("critique.", CRITIQUE));
        d.extend(keys("critique.response.", RESPONSE));
        d.extend(keys("critique.critique.", GREEDY));
        d.extend(keys("critique.revision.", GREEDY));
        d
    }
}

fn feedback_docs() -> Vec<(String, &'static str)> {
    let mut d = keys("", FEEDBACK_TOP);
    d.extend(keys("judge.", MODEL_LOCAL));
    d.extend(keys("judge_config.", JUDGE_CONFIG));
    d
}

const OUT_RLAIF: (&str, &str) = (
    "out",
    "run folder: ai_pairs.jsonl (soft pairs: prompt, a, b, p_a) and report.json (default \"runs/rlaif\")",
);
const OUT_JUDGE: (&str, &str) = (
    "out",
    "run folder: ai_pairs.jsonl (soft pairs: prompt, a, b, p_a) and report.json (default \"runs/feedback\")",
);

const FEEDBACK_TOP: &[(&str, &str)] = &[
    (
        "constitution",
        "constitution file, TOML or JSON; unset: Constitutional AI's harmlessness principles (default unset)",
    ),
    (
        "human_pairs",
        "a preference table (path, format, ...) whose human labels the judge is checked against (default unset)",
    ),
    ("batch_size", "pairs per judge call (default 16)"),
    (
        "seed",
        "seed of the prompt split and of the human-pair check (default 0)",
    ),
];

const MODEL_LOCAL: &[(&str, &str)] = &[
    (
        "kind",
        "\"local\" (a model folder or Gemma 3 .gguf file run in-process) or \"http\" (an OpenAI-compatible server: url, model, api_key_env, timeout_s, max_retries, concurrency, cache_dir) (default \"local\")",
    ),
    ("path", "the model folder or .gguf file (required)"),
];

const JUDGE_CONFIG: &[(&str, &str)] = &[
    (
        "principles.sampled.seed",
        "one principle drawn per comparison with this seed, Bai et al. 2022; or principles = { fixed = \"name\" } or { ensemble = [...] } (default 0)",
    ),
    (
        "both_orders",
        "ask in both orders and average p(a), removing position bias (default true)",
    ),
    (
        "form",
        "\"plain\" (base models: the prompt ends `The answer is: (`) or \"chat\" (one user message) (default \"plain\")",
    ),
    (
        "answer_tokens",
        "most tokens of a generated answer when the model gives no log-probs (default 8)",
    ),
    ("batch_size", "questions per model call (default 32)"),
];

const SAMPLE: &[(&str, &str)] = &[
    (
        "first_prompt",
        "skip this many training prompts first, to keep the prompts of stages disjoint (default 0)",
    ),
    ("max_prompts", "prompts to sample (default 256)"),
    (
        "max_prompt_chars",
        "skip prompts longer than this many characters; 0: none (default 0)",
    ),
];

const GENERATION: &[(&str, &str)] = &[
    ("max_new_tokens", "most tokens per response (default 64)"),
    (
        "temperature",
        "sampling temperature; above 0 so that the two responses differ (default 1.0)",
    ),
    ("top_p", "nucleus sampling mass (default 1.0)"),
    ("seed", "seed of the sampler (default 0)"),
    (
        "stop",
        "strings that end a response, not included (default [])",
    ),
];

const SL_CAI_TOP: &[(&str, &str)] = &[
    (
        "out",
        "run folder: revisions.jsonl (every round), sft.jsonl (prompt → final revision) and report.json (default \"runs/sl-cai\")",
    ),
    (
        "constitution",
        "constitution file, TOML or JSON; unset: the harmlessness principles (default unset)",
    ),
    (
        "first_prompt",
        "skip this many training prompts first (default 0)",
    ),
    ("max_prompts", "prompts to revise (default 64)"),
    (
        "max_prompt_chars",
        "skip prompts longer than this many characters; 0: none (default 0)",
    ),
    (
        "min_distinct_ratio",
        "leave out of the SFT data revisions whose share of distinct words is below this, degenerate loops (default 0.5)",
    ),
];

const CRITIQUE: &[(&str, &str)] = &[
    (
        "rounds",
        "critique → revision rounds per prompt (default 1; Bai et al. 2022 use up to 4)",
    ),
    (
        "seed",
        "seed of the principle drawn per prompt and round, and of the prompt split (default 0)",
    ),
    (
        "few_shot",
        "text put before every plain prompt: few-shot critique/revision examples (default \"\")",
    ),
    ("batch_size", "prompts per generation call (default 32)"),
];

const RESPONSE: &[(&str, &str)] = &[
    ("max_new_tokens", "most tokens (default 64)"),
    ("temperature", "sampling temperature (default 0.7)"),
    ("top_p", "nucleus sampling mass (default 1.0)"),
    ("seed", "seed of the sampler (default 0)"),
    (
        "stop",
        "strings that end the text: the next turn or request (default [\"\\n\\nHuman:\", \"\\nHuman:\", \"\\n\\nCritiqueRequest:\"])",
    ),
];

const GREEDY: &[(&str, &str)] = &[
    ("max_new_tokens", "most tokens (default 64)"),
    ("temperature", "0 is greedy decoding (default 0.0)"),
    ("top_p", "nucleus sampling mass (default 1.0)"),
    ("seed", "seed of the sampler (default 0)"),
    (
        "stop",
        "strings that end the text: the next request or Human turn (default the three of `rlhf sl-cai --print-config`)",
    ),
];
