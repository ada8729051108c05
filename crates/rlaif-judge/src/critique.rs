//! Critique → revision: the supervised stage of Constitutional AI (SL-CAI, Bai et al.
//! 2022, §3).
//!
//! For each prompt the model responds; then, for `rounds` rounds, a principle is drawn, the
//! model is asked for a critique of its last response under the principle's critique
//! request, and then for a revision under its revision request. Every round is recorded
//! ([`RevisionRecord`]); the final revisions, paired with their prompts, are the SFT data
//! of SL-CAI ([`write_sft_dataset`], `pref-data`'s prompt/completion format).
//!
//! With a plain prompt (the HH-RLHF layout, `\n\nHuman: …\n\nAssistant:`) the context
//! grows as in the paper's appendix:
//!
//! ```text
//! <few-shot examples>
//! Human: …
//!
//! Assistant: <response>
//!
//! CritiqueRequest: <principle's critique request>
//! Critique: <generated critique>
//!
//! RevisionRequest: <principle's revision request>
//! Revision: <generated revision>
//! ```
//!
//! and a further round appends another `CritiqueRequest:` after the revision. With a chat
//! prompt the same happens in messages: the response and the revision are `assistant`
//! turns, the requests `user` turns, the critique an `assistant` turn.
//!
//! Every step is one batched [`TextModel::generate`] call over the prompts, so it runs on a
//! [`LocalModel`](crate::LocalModel) or an [`HttpModel`](crate::http::HttpModel) alike.

use rlhf_core::ConfigError;
use std::path::Path;

use pref_data::{CompletionExample, DataError, Message, Text};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::backend::{BackendError, GenerateOptions, TextModel, cut_at_stop};
use crate::constitution::Constitution;

/// Settings of [`critique_and_revise`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CritiqueConfig {
    /// Critique → revision rounds per prompt (default 1; Bai et al. use up to 4).
    pub rounds: usize,
    /// Seed of the principle drawn for each (prompt, round).
    pub seed: u64,
    /// Generation of the initial response (default: 64 tokens at temperature 0.7, stopping
    /// at the next `Human:` turn).
    pub response: GenerateOptions,
    /// Generation of a critique (default: 64 greedy tokens, stopping at
    /// `RevisionRequest:`).
    pub critique: GenerateOptions,
    /// Generation of a revision (default: 64 greedy tokens, stopping at the next request or
    /// `Human:` turn).
    pub revision: GenerateOptions,
    /// Text put before every plain prompt (few-shot critique/revision examples, as Bai et
    /// al. use); default empty. Not used with chat prompts.
    pub few_shot: String,
    /// Prompts per generation call (default 32).
    pub batch_size: usize,
}

impl Default for CritiqueConfig {
    fn default() -> Self {
        let stops = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Self {
            rounds: 1,
            seed: 0,
            response: GenerateOptions {
                max_new_tokens: 64,
                temperature: 0.7,
                stop: stops(&["\n\nHuman:", "\nHuman:", "\n\nCritiqueRequest:"]),
                ..GenerateOptions::default()
            },
            critique: GenerateOptions {
                max_new_tokens: 64,
                stop: stops(&["\n\nRevisionRequest:", "\nRevisionRequest:", "\n\nHuman:"]),
                ..GenerateOptions::default()
            },
            revision: GenerateOptions {
                max_new_tokens: 64,
                stop: stops(&[
                    "\n\nCritiqueRequest:",
                    "\nCritiqueRequest:",
                    "\n\nHuman:",
                    "\nHuman:",
                ]),
                ..GenerateOptions::default()
            },
            few_shot: String::new(),
            batch_size: 32,
        }
    }
}

/// One critique → revision round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRound {
    /// The principle's name.
    pub principle: String,
    /// The generated critique (trimmed).
    pub critique: String,
    /// The generated revision (trimmed; may be empty if the model produced nothing).
    pub revision: String,
}

/// A prompt, the model's response, and every round of critique and revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRecord {
    /// The prompt.
    pub prompt: Text,
    /// The initial response (trimmed).
    pub response: String,
    /// The rounds, in order.
    pub rounds: Vec<RevisionRound>,
}

impl RevisionRecord {
    /// The last non-blank revision, else the initial response.
    pub fn final_response(&self) -> &str {
        self.rounds
            .iter()
            .rev()
            .map(|r| r.revision.as_str())
            .find(|r| !r.trim().is_empty())
            .unwrap_or(&self.response)
    }
}

/// Why critique → revision stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CritiqueError {
    /// The model failed at a step.
    #[error("critique → revision, {step}: {source}")]
    Model {
        /// `response`, `critique (round k)` or `revision (round k)`.
        step: String,
        /// The model's error.
        #[source]
        source: BackendError,
    },
    /// The settings cannot work.
    #[error("critique → revision: {0}")]
    Config(#[from] ConfigError),
}

/// The growing context of one prompt.
enum Context {
    Plain(String),
    Chat(Vec<Message>),
}

impl Context {
    fn as_text(&self, suffix: &str) -> Text {
        match self {
            Context::Plain(s) => Text::Plain(format!("{s}{suffix}")),
            Context::Chat(m) => Text::Chat(m.clone()),
        }
    }

    fn add_turn(&mut self, plain: String, role: &str, content: &str) {
        match self {
            Context::Plain(s) => s.push_str(&plain),
            Context::Chat(m) => m.push(Message::new(role, content)),
        }
    }
}

/// Runs SL-CAI's data generation on `prompts` with `model` and `constitution`: a response
/// per prompt, then `config.rounds` rounds of critique and revision, each under a principle
/// drawn per (prompt, round) with a `StdRng` seeded by `config.seed`. See the
/// [module docs](self).
pub fn critique_and_revise<M: TextModel + ?Sized>(
    model: &M,
    constitution: &Constitution,
    prompts: &[Text],
    config: &CritiqueConfig,
) -> Result<Vec<RevisionRecord>, CritiqueError> {
    if config.batch_size == 0 {
        return Err(ConfigError::new("batch_size", "at least 1", 0).into());
    }
    let mut rng = StdRng::seed_from_u64(config.seed);
    let draws: Vec<Vec<usize>> = prompts
        .iter()
        .map(|_| {
            (0..config.rounds)
                .map(|_| rng.random_range(0..constitution.principles.len()))
                .collect()
        })
        .collect();
    let generate = |texts: Vec<Text>, options: &GenerateOptions, step: String| {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(config.batch_size) {
            let got = model
                .generate(chunk, options)
                .map_err(|source| CritiqueError::Model {
                    step: step.clone(),
                    source,
                })?;
            // Stop strings are applied again, for models that ignore them.
            out.extend(
                got.iter()
                    .map(|t| cut_at_stop(t, &options.stop).trim().to_string()),
            );
        }
        Ok::<_, CritiqueError>(out)
    };
    let responses = generate(prompts.to_vec(), &config.response, "response".into())?;
    let mut contexts: Vec<Context> = prompts
        .iter()
        .zip(&responses)
        .map(|(p, r)| match p {
            Text::Plain(s) => Context::Plain(format!("{}{} {r}", config.few_shot, s.trim_end())),
            Text::Chat(m) => {
                let mut m = m.clone();
                m.push(Message::new("assistant", r.as_str()));
                Context::Chat(m)
            }
        })
        .collect();
    let mut records: Vec<RevisionRecord> = prompts
        .iter()
        .zip(&responses)
        .map(|(p, r)| RevisionRecord {
            prompt: p.clone(),
            response: r.clone(),
            rounds: Vec::new(),
        })
        .collect();
    for round in 0..config.rounds {
        let principles: Vec<&crate::Principle> = draws
            .iter()
            .map(|d| &constitution.principles[d[round]])
            .collect();
        let asks: Vec<Text> = contexts
            .iter_mut()
            .zip(&principles)
            .map(|(c, p)| {
                let req = p.critique_request.trim();
                c.add_turn(format!("\n\nCritiqueRequest: {req}"), "user", req);
                c.as_text("\nCritique:")
            })
            .collect();
        let critiques = generate(
            asks,
            &config.critique,
            format!("critique (round {})", round + 1),
        )?;
        let asks: Vec<Text> = contexts
            .iter_mut()
            .zip(&principles)
            .zip(&critiques)
            .map(|((c, p), critique)| {
                let req = p.revision_request.trim();
                c.add_turn(format!("\nCritique: {critique}"), "assistant", critique);
                c.add_turn(format!("\n\nRevisionRequest: {req}"), "user", req);
                c.as_text("\nRevision:")
            })
            .collect();
        let revisions = generate(
            asks,
            &config.revision,
            format!("revision (round {})", round + 1),
        )?;
        for (((c, rec), p), (critique, revision)) in contexts
            .iter_mut()
            .zip(&mut records)
            .zip(&principles)
            .zip(critiques.into_iter().zip(revisions))
        {
            c.add_turn(format!("\nRevision: {revision}"), "assistant", &revision);
            rec.rounds.push(RevisionRound {
                principle: p.name.clone(),
                critique,
                revision,
            });
        }
    }
    Ok(records)
}

/// The fraction of distinct words among the words of `text` (1 for no repetition, near 0
/// for a degenerate loop such as `"a a a a"`); 0 for a text without words. Small models
/// decoding their own critiques and revisions fall into such loops; filtering them out
/// before SL-CAI keeps the fine-tune from learning them.
pub fn distinct_word_ratio(text: &str) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return 0.0;
    }
    let distinct: std::collections::HashSet<&str> = words.iter().copied().collect();
    distinct.len() as f64 / words.len() as f64
}

/// The SL-CAI supervised data: `(prompt, final revision)` of every record whose final
/// response is not blank.
pub fn sft_examples(records: &[RevisionRecord]) -> Vec<CompletionExample> {
    records
        .iter()
        .filter(|r| !r.final_response().trim().is_empty())
        .map(|r| CompletionExample {
            prompt: r.prompt.clone(),
            completion: completion_like(&r.prompt, r.final_response()),
        })
        .collect()
}

/// A completion in the prompt's form: plain text (with a leading space after an HH
/// `Assistant:`), or one assistant message.
pub(crate) fn completion_like(prompt: &Text, text: &str) -> Text {
    match prompt {
        Text::Plain(_) => Text::Plain(format!(" {}", text.trim())),
        Text::Chat(_) => Text::Chat(vec![Message::new("assistant", text.trim())]),
    }
}

/// Writes [`sft_examples`] of `records` to `path` in `pref-data`'s prompt/completion
/// format (JSON Lines, gzip for `.gz`); returns the number written.
pub fn write_sft_dataset(
    path: impl AsRef<Path>,
    records: &[RevisionRecord],
) -> Result<usize, DataError> {
    pref_data::write_completions(path, &sft_examples(records))
}

/// Writes every record (prompt, response, rounds) as JSON Lines, the full trace of the
/// critique → revision stage; returns the number written.
pub fn write_revision_log(
    path: impl AsRef<Path>,
    records: &[RevisionRecord],
) -> Result<usize, DataError> {
    pref_data::write_jsonl(path.as_ref(), records.iter())
}
