//! AI-feedback datasets (RLAIF; Bai et al. 2022 §4, Lee et al. 2023): two responses per
//! prompt from a policy, judged by an AI judge, written as soft-labelled pairs.
//!
//! - [`sample_response_pairs`]: two sampled responses per prompt from any [`TextModel`]
//!   (identical or blank pairs are dropped and counted);
//! - [`label_pairs`]: a [`PairwiseJudge`]'s `p(a)` for every pair, as soft-labelled
//!   [`PreferencePair`]s (`chosen = a`, `rejected = b`, `p_chosen = p(a)`: the soft target
//!   the reward model is trained on, Bai et al. §4.1) and a [`FeedbackReport`]: the label
//!   distribution, how often the two orders agree, principles used, fallbacks;
//! - [`write_soft_pairs`]: the pairs in `pref-data`'s soft-pair format
//!   (`{"prompt", "a", "b", "p_a"}`);
//! - [`human_agreement`]: how often the judge prefers the response people preferred, on
//!   human-labelled pairs such as HH-RLHF's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use pref_data::{DataError, PreferencePair, Text};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rlhf_core::Sample;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendError, GenerateOptions, TextModel};
use crate::critique::completion_like;
use crate::judge::{Comparison, JudgeError, Judgement, PairwiseJudge};

/// Two responses to one prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponsePair {
    /// The prompt.
    pub prompt: Text,
    /// The first response.
    pub a: String,
    /// The second response.
    pub b: String,
}

/// What [`sample_response_pairs`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSampling {
    /// Pairs of distinct, non-blank responses.
    pub pairs: Vec<ResponsePair>,
    /// Prompts dropped because both responses were the same (after trimming).
    pub identical: usize,
    /// Prompts dropped because a response was blank.
    pub blank: usize,
}

/// Samples two responses per prompt from `policy` with `options` (use a temperature above
/// 0: the two rows of a prompt differ only by sampling), `batch_size` prompts per call.
/// Responses are trimmed; pairs whose responses are equal or blank are dropped and counted.
pub fn sample_response_pairs<M: TextModel + ?Sized>(
    policy: &M,
    prompts: &[Text],
    options: &GenerateOptions,
    batch_size: usize,
) -> Result<PairSampling, BackendError> {
    let mut out = PairSampling::default();
    for chunk in prompts.chunks(batch_size.max(1)) {
        let doubled: Vec<Text> = chunk.iter().flat_map(|p| [p.clone(), p.clone()]).collect();
        let texts = policy.generate(&doubled, options)?;
        for (p, two) in chunk.iter().zip(texts.chunks(2)) {
            let (a, b) = (two[0].trim(), two.get(1).map_or("", |s| s.trim()));
            if a.is_empty() || b.is_empty() {
                out.blank += 1;
            } else if a == b {
                out.identical += 1;
            } else {
                out.pairs.push(ResponsePair {
                    prompt: p.clone(),
                    a: a.to_string(),
                    b: b.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// Statistics of a set of AI labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackReport {
    /// Pairs labelled.
    pub pairs: usize,
    /// Counts of `p(a)` in ten bins `[0, 0.1), [0.1, 0.2), …, [0.9, 1]`.
    pub histogram: [usize; 10],
    /// Mean `p(a)`.
    pub mean_p_a: f64,
    /// Mean confidence `|2 p(a) − 1|` (0: a coin flip, 1: certain).
    pub mean_confidence: f64,
    /// Pairs with `p(a) ≠ ½` by more than 0.01.
    pub decided: usize,
    /// With both orders: the fraction of pairs whose two orders prefer the same response.
    pub order_agreement: Option<f64>,
    /// How many pairs each principle was asked for.
    pub principles: BTreeMap<String, usize>,
    /// Questions answered by parsing generated text (no log-probs).
    pub parsed: usize,
    /// Questions whose answer named neither option.
    pub undecided: usize,
}

impl FeedbackReport {
    /// The report of `judgements`.
    pub fn of(judgements: &[Judgement]) -> Self {
        let n = judgements.len();
        let mut r = FeedbackReport {
            pairs: n,
            ..Self::default()
        };
        let mut agree = (0usize, 0usize);
        for j in judgements {
            r.histogram[((j.p_a * 10.0).floor() as usize).min(9)] += 1;
            r.mean_p_a += j.p_a;
            r.mean_confidence += (2.0 * j.p_a - 1.0).abs();
            r.decided += usize::from((j.p_a - 0.5).abs() > 0.01);
            if let Some(a) = j.orders_agree() {
                agree.0 += usize::from(a);
                agree.1 += 1;
            }
            for p in &j.principles {
                *r.principles.entry(p.clone()).or_default() += 1;
            }
            r.parsed += j.parsed;
            r.undecided += j.undecided;
        }
        if n > 0 {
            r.mean_p_a /= n as f64;
            r.mean_confidence /= n as f64;
        }
        r.order_agreement = (agree.1 > 0).then(|| agree.0 as f64 / agree.1 as f64);
        r
    }
}

impl fmt::Display for FeedbackReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} pairs: mean p(a) {:.3}, mean confidence |2p−1| {:.3}, decided {}",
            self.pairs, self.mean_p_a, self.mean_confidence, self.decided
        )?;
        let bars: Vec<String> = self.histogram.iter().map(|c| c.to_string()).collect();
        writeln!(f, "p(a) histogram (0.1 bins): [{}]", bars.join(" "))?;
        if let Some(a) = self.order_agreement {
            writeln!(f, "both orders agree on {:.1}% of pairs", 100.0 * a)?;
        }
        write!(
            f,
            "answers parsed from text: {}, undecided: {}",
            self.parsed, self.undecided
        )
    }
}

/// AI-labelled pairs with their judgements and report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AiFeedback {
    /// Soft-labelled pairs: `chosen = a`, `rejected = b`, `p_chosen = p(a)`.
    pub pairs: Vec<PreferencePair>,
    /// The judge's verdicts, one per pair.
    pub judgements: Vec<Judgement>,
    /// Their statistics.
    pub report: FeedbackReport,
}

/// Judges every pair with `judge`, `batch_size` pairs per call. See the
/// [module docs](self).
pub fn label_pairs<J: PairwiseJudge + ?Sized>(
    judge: &J,
    pairs: &[ResponsePair],
    batch_size: usize,
) -> Result<AiFeedback, JudgeError> {
    let mut judgements = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(batch_size.max(1)) {
        let comparisons: Vec<Comparison> = chunk
            .iter()
            .map(|p| Comparison::new(p.prompt.clone(), p.a.clone(), p.b.clone()))
            .collect();
        judgements.extend(judge.judge(&comparisons)?);
    }
    let soft = pairs
        .iter()
        .zip(&judgements)
        .map(|(p, j)| PreferencePair {
            prompt: p.prompt.clone(),
            chosen: completion_like(&p.prompt, &p.a),
            rejected: completion_like(&p.prompt, &p.b),
            p_chosen: j.p_a,
            margin: None,
        })
        .collect();
    let report = FeedbackReport::of(&judgements);
    Ok(AiFeedback {
        pairs: soft,
        judgements,
        report,
    })
}

/// Writes the soft-labelled pairs in `pref-data`'s soft-pair format; returns the number
/// written.
pub fn write_soft_pairs(path: impl AsRef<Path>, feedback: &AiFeedback) -> Result<usize, DataError> {
    pref_data::write_soft_pairs(path, &feedback.pairs)
}

/// How well a judge agrees with human labels.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HumanAgreement {
    /// Pairs judged.
    pub pairs: usize,
    /// Pairs where the judge prefers the human-chosen response (`p(chosen) > ½`).
    pub agree: usize,
    /// Pairs where it prefers the other (`p(chosen) < ½`).
    pub disagree: usize,
    /// Pairs at exactly ½.
    pub ties: usize,
    /// `agree / pairs` (ties count as half: `(agree + ties/2) / pairs`), the accuracy a
    /// reward model would be credited with.
    pub rate: f64,
    /// Mean `p(chosen)`.
    pub mean_p_chosen: f64,
    /// With both orders: fraction of pairs whose two orders agree.
    pub order_agreement: Option<f64>,
}

impl fmt::Display for HumanAgreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "agreement with human labels {:.1}% on {} pairs ({} agree, {} disagree, {} ties), mean p(chosen) {:.3}",
            100.0 * self.rate,
            self.pairs,
            self.agree,
            self.disagree,
            self.ties,
            self.mean_p_chosen
        )?;
        if let Some(a) = self.order_agreement {
            write!(f, ", orders agree {:.1}%", 100.0 * a)?;
        }
        Ok(())
    }
}

/// Judges human-labelled `pairs` and counts agreement with the humans' choice. The
/// chosen response is shown as a or b by a seeded coin per pair (so that a judge asked in
/// one order only is not credited for a position bias). `p_chosen` of the pairs is read as
/// the human label (above ½: `chosen` preferred; pairs at exactly ½ are skipped).
pub fn human_agreement<J: PairwiseJudge + ?Sized>(
    judge: &J,
    pairs: &[PreferencePair],
    seed: u64,
    batch_size: usize,
) -> Result<HumanAgreement, JudgeError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut comparisons = Vec::new();
    let mut chosen_is_a = Vec::new();
    for p in pairs.iter().filter(|p| p.p_chosen != 0.5) {
        let (better, worse) = if p.p_chosen > 0.5 {
            (&p.chosen, &p.rejected)
        } else {
            (&p.rejected, &p.chosen)
        };
        let (better, worse) = (text_content(better), text_content(worse));
        let a_first: bool = rng.random();
        let (a, b) = if a_first {
            (better, worse)
        } else {
            (worse, better)
        };
        comparisons.push(Comparison::new(p.prompt.clone(), a, b));
        chosen_is_a.push(a_first);
    }
    let mut judgements = Vec::with_capacity(comparisons.len());
    for chunk in comparisons.chunks(batch_size.max(1)) {
        judgements.extend(judge.judge(chunk)?);
    }
    let mut h = HumanAgreement {
        pairs: judgements.len(),
        ..HumanAgreement::default()
    };
    for (j, &a) in judgements.iter().zip(&chosen_is_a) {
        let p = if a { j.p_a } else { 1.0 - j.p_a };
        h.mean_p_chosen += p;
        if p > 0.5 {
            h.agree += 1;
        } else if p < 0.5 {
            h.disagree += 1;
        } else {
            h.ties += 1;
        }
    }
    if h.pairs > 0 {
        h.mean_p_chosen /= h.pairs as f64;
        h.rate = (h.agree as f64 + 0.5 * h.ties as f64) / h.pairs as f64;
    }
    h.order_agreement = FeedbackReport::of(&judgements).order_agreement;
    Ok(h)
}

/// The text of a completion: a plain string, or its messages' contents joined by blank
/// lines.
pub fn text_content(t: &Text) -> String {
    match t {
        Text::Plain(s) => s.trim().to_string(),
        Text::Chat(m) => m
            .iter()
            .map(|m| m.content.trim())
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

/// How often a judge prefers the `a` responses to the `b` responses of the same prompts
/// (e.g. a trained policy's samples against its starting point's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WinRate {
    /// Pairs judged.
    pub pairs: usize,
    /// Pairs with `p(a) > ½`.
    pub wins: usize,
    /// Pairs with `p(a) < ½`.
    pub losses: usize,
    /// Pairs with `p(a) = ½` (identical responses, or a judge without an opinion).
    pub ties: usize,
    /// `(wins + ties / 2) / pairs`.
    pub rate: f64,
    /// Mean `p(a)`.
    pub mean_p_a: f64,
}

impl fmt::Display for WinRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "win rate {:.1}% ({} wins, {} losses, {} ties of {}), mean p {:.3}",
            100.0 * self.rate,
            self.wins,
            self.losses,
            self.ties,
            self.pairs,
            self.mean_p_a
        )
    }
}

/// Pairs of rollout samples of the same prompts, `a` from `new` and `b` from `old` (matched
/// by position: both sampled from the same prompts in the same order, as two
/// `evaluate_policy` runs on the same prompts are), for [`win_rate`].
pub fn sample_duels(new: &[Sample], old: &[Sample]) -> Vec<ResponsePair> {
    new.iter()
        .zip(old)
        .map(|(n, o)| ResponsePair {
            prompt: Text::Plain(o.prompt.clone()),
            a: n.completion.trim().to_string(),
            b: o.completion.trim().to_string(),
        })
        .collect()
}

/// The judge's [`WinRate`] of each pair's `a` over its `b`.
pub fn win_rate<J: PairwiseJudge + ?Sized>(
    judge: &J,
    pairs: &[ResponsePair],
    batch_size: usize,
) -> Result<WinRate, JudgeError> {
    let fb = label_pairs(judge, pairs, batch_size)?;
    let mut w = WinRate {
        pairs: pairs.len(),
        ..WinRate::default()
    };
    for j in &fb.judgements {
        w.mean_p_a += j.p_a;
        if j.p_a > 0.5 {
            w.wins += 1;
        } else if j.p_a < 0.5 {
            w.losses += 1;
        } else {
            w.ties += 1;
        }
    }
    if w.pairs > 0 {
        w.mean_p_a /= w.pairs as f64;
        w.rate = (w.wins as f64 + 0.5 * w.ties as f64) / w.pairs as f64;
    }
    Ok(w)
}
