//! # rlaif-judge — feedback from graders and models instead of people
//!
//! The sources of reward for RLHF that are not human labels: AI feedback steered by a
//! constitution (RLAIF: Bai et al. 2022, "Constitutional AI"; Lee et al. 2023, "RLAIF"),
//! and graders.
//!
//! - [`constitution`]: [`Constitution`]s as data (TOML/JSON): principles phrased for
//!   critique, revision and multiple-choice comparison; the harmlessness principles of
//!   Constitutional AI built in;
//! - [`judge`]: the [`PairwiseJudge`] trait and the [`MultipleChoiceJudge`] of
//!   Constitutional AI (`p(A)` from the log-probs of `A`/`B`; both orders averaged; a
//!   seeded principle per comparison or an ensemble), and the [`ScoreJudge`] of d-RLAIF, an
//!   [`rlhf_core::Reward`] for PPO/GRPO;
//! - [`critique`]: critique → revision (SL-CAI) with every round recorded, written as SFT
//!   data;
//! - [`feedback`]: AI-feedback datasets — two responses per prompt, judged, written as
//!   soft-labelled pairs, with label statistics and agreement with human labels;
//! - [`http`]: [`HttpModel`](http::HttpModel), a [`TextModel`] on any OpenAI-compatible
//!   server (timeouts, retries, bounded concurrency, on-disk cache);
//! - [`grader`]: OpenAI-style reinforcement fine-tuning (RFT) graders — `string_check`,
//!   `text_similarity` (fuzzy match, BLEU, GLEU, METEOR, ROUGE), `score_model`,
//!   `label_model`, `multi` (a formula over sub-graders), a `program` grader in place of
//!   OpenAI's `python` grader — plus numeric, regex, JSON-field, multiple-choice and
//!   closure graders, configured from TOML or JSON;
//! - [`GraderReward`]: any grader as an [`rlhf_core::Reward`], so that online trainers
//!   (GRPO, RLOO, PPO) optimise its scores;
//! - [`backend`]: the [`TextModel`] trait that model graders (and AI judges) run on, and
//!   [`LocalModel`], any [`lm::CausalLm`] with its tokenizer.
//!
//! ```
//! use rlaif_judge::grader::{BuildContext, ConfigFormat, parse_graders};
//! use rlaif_judge::GraderReward;
//! use rlhf_core::{Reward, RewardInput, Sample};
//! use serde_json::json;
//!
//! let config = r#"
//! type = "multi"
//! name = "answer"
//! calculate_output = "0.8 * exact + 0.2 * close"
//!
//! [graders.exact]
//! type = "string_check"
//! input = "{{ sample.output_text }}"
//! reference = "{{ item.reference_answer }}"
//! operation = "ilike"
//!
//! [graders.close]
//! type = "text_similarity"
//! input = "{{ sample.output_text }}"
//! reference = "{{ item.reference_answer }}"
//! evaluation_metric = "fuzzy_match"
//! "#;
//! let configs = parse_graders(config, ConfigFormat::Toml, "<example>")?;
//! let grader = configs[0].build(&BuildContext::new(), "<example>")?;
//! let mut reward = GraderReward::from_boxed(grader);
//!
//! let item = json!({"reference_answer": "Paris"}).as_object().unwrap().clone();
//! let samples = vec![
//!     Sample::from_text("Capital of France?", "paris").with_item(item.clone()),
//!     Sample::from_text("Capital of France?", "Lyon").with_item(item),
//! ];
//! let scores = reward.score(&RewardInput::new(&samples))?;
//! // "paris": `ilike` passes (1), fuzzy ratio to "Paris" is 8/10: 0.8 · 1 + 0.2 · 0.8.
//! assert!((scores.sequence[0] - 0.96).abs() < 1e-6);
//! assert_eq!(scores.sequence[1], 0.0); // "Lyon" shares no letter with "Paris"
//! assert!(scores.reasons[0].starts_with("0.8 * exact + 0.2 * close = "));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod constitution;
pub mod critique;
pub mod feedback;
pub mod grader;
pub mod http;
pub mod judge;
mod reward;
pub mod run;

pub use backend::{BackendError, GenerateOptions, LocalModel, TextModel};
pub use constitution::{Constitution, ConstitutionError, Principle};
pub use critique::{CritiqueConfig, RevisionRecord, critique_and_revise};
pub use feedback::{AiFeedback, FeedbackReport, HumanAgreement, label_pairs};
pub use grader::{
    BuildContext, ConfigError, Failure, GradeResult, Grader, GraderConfig, GraderSample, Item,
};
pub use judge::{
    Comparison, JudgeConfig, JudgeError, Judgement, MultipleChoiceJudge, PairwiseJudge, ScoreJudge,
};
pub use reward::GraderReward;
pub use run::{
    FeedbackRunConfig, FeedbackRunReport, JudgeModelSource, JudgeRunError, PairSource,
    PolicyComparison, SlCaiReport, SlCaiRunConfig, compare_policies, run_feedback, run_sl_cai,
};
