//! Preference-model pre-training (PMP) pairs from Stack Exchange questions and their scored
//! answers.
//!
//! Askell et al. (2021), "A General Language Assistant as a Laboratory for Alignment"
//! (arXiv:2112.00861), section 4.1, whose PMP data the Constitutional AI paper (Bai et al.
//! 2022) reuses. Each answer gets a discrete preference score:
//!
//! ```text
//! "score = log2(1 + upvotes) rounded to the nearest integer, plus 1 if the answer was
//!  accepted by the questioner (we assign a score of −1 if the number of upvotes is
//!  negative)."
//!
//! base(v)   = round(log2(1 + v))   if v ≥ 0
//!           = −1                   if v < 0
//! score     = base(v) + [accepted]
//! ```
//!
//! Precisely: the −1 replaces the logarithm (which is −∞ or undefined for `v < 0`), and the
//! accepted bonus applies on top, so an accepted answer with negative votes scores 0. The
//! rounding is computed exactly in integers: `round(log2(x))` is the `k` with
//! `2^(k − 1/2) ≤ x < 2^(k + 1/2)`, i.e. `2^(2k−1) ≤ x² < 2^(2k+1)` (no integer `x` sits on a
//! boundary, since `2^(k ± 1/2)` is irrational). So votes 0 → 0, 1 → 1, 2 → 2 (log2 3 =
//! 1.585), 3 → 2, 4 → 2 (log2 5 = 2.32), 5 → 3 (log2 6 = 2.585).
//!
//! Pairs: for each question, every two answers with different scores, the higher-scored
//! answer as `chosen` (answers with equal scores make no pair). The question text is the
//! prompt.

use serde::{Deserialize, Serialize};

use super::LabellingError;
use crate::record::{PreferencePair, RankedExample, Text};

/// One answer to a Stack Exchange question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackAnswer {
    /// The answer text.
    pub text: String,
    /// Net votes (up minus down), may be negative.
    pub votes: i64,
    /// Whether the questioner accepted this answer.
    #[serde(default)]
    pub accepted: bool,
}

/// A Stack Exchange question with its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackQuestion {
    /// The question text (the prompt of every pair).
    pub question: String,
    /// The answers.
    pub answers: Vec<StackAnswer>,
}

/// Settings of PMP pair building.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmpConfig {
    /// Set each pair's `margin` to the score difference (≥ 1); default `false` (no margin).
    pub margin: bool,
}

impl PmpConfig {
    /// The default: no margin.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`margin`](Self::margin).
    pub fn with_margin(mut self, margin: bool) -> Self {
        self.margin = margin;
        self
    }
}

/// What PMP pair building did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PmpReport {
    /// Questions read.
    pub questions: usize,
    /// Answers read.
    pub answers: usize,
    /// Pairs made.
    pub pairs: usize,
    /// Answer pairs left out because the two scores were equal.
    pub tied_pairs: usize,
    /// Questions that gave no pair (fewer than two answers, or all scores equal).
    pub questions_without_pairs: usize,
}

impl std::fmt::Display for PmpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} questions, {} answers -> {} pairs; {} equal-score answer pairs left out; {} \
             questions gave no pair",
            self.questions, self.answers, self.pairs, self.tied_pairs, self.questions_without_pairs
        )
    }
}

/// The PMP score of an answer with `votes` net votes (see the [module docs](self)).
pub fn pmp_score(votes: i64, accepted: bool) -> i64 {
    let base = if votes < 0 {
        -1
    } else {
        // x = 1 + votes ≥ 1; find k with x² < 2^(2k+1), smallest such k.
        let x = 1u128 + votes as u128;
        let x2 = x * x; // < 2^128 since x ≤ 2^63
        let mut k = 0i64;
        while k < 63 && x2 >= 1u128 << (2 * k + 1) {
            k += 1;
        }
        k
    };
    base + i64::from(accepted)
}

/// A question as a [`RankedExample`] whose scores are the answers' PMP scores.
///
/// Errors: blank question or answer text, or more than one accepted answer (`index` is the
/// question's position, used in messages).
pub fn pmp_ranked(question: &StackQuestion, index: usize) -> Result<RankedExample, LabellingError> {
    if question.question.trim().is_empty() {
        return Err(LabellingError::BlankText {
            question: index,
            answer: None,
        });
    }
    if let Some(a) = question
        .answers
        .iter()
        .position(|a| a.text.trim().is_empty())
    {
        return Err(LabellingError::BlankText {
            question: index,
            answer: Some(a),
        });
    }
    let accepted: Vec<usize> = (0..question.answers.len())
        .filter(|&a| question.answers[a].accepted)
        .collect();
    if accepted.len() > 1 {
        return Err(LabellingError::MultipleAccepted {
            question: index,
            answers: accepted,
        });
    }
    Ok(RankedExample {
        prompt: Text::Plain(question.question.clone()),
        completions: question
            .answers
            .iter()
            .map(|a| Text::Plain(a.text.clone()))
            .collect(),
        scores: Some(
            question
                .answers
                .iter()
                .map(|a| pmp_score(a.votes, a.accepted) as f64)
                .collect(),
        ),
    })
}

/// PMP pairs of every question: for each two answers with different scores, the better one
/// as `chosen`, `p_chosen = 1`. Pairs come question by question, best-scored answers first.
///
/// Errors: as [`pmp_ranked`]; the first bad question stops the run.
pub fn pmp_pairs(
    questions: &[StackQuestion],
    config: PmpConfig,
) -> Result<(Vec<PreferencePair>, PmpReport), LabellingError> {
    let mut pairs = Vec::new();
    let mut report = PmpReport::default();
    for (q, question) in questions.iter().enumerate() {
        let ranked = pmp_ranked(question, q)?;
        let k = ranked.completions.len();
        report.questions += 1;
        report.answers += k;
        let implied = ranked.implied_pairs();
        report.tied_pairs += k * k.saturating_sub(1) / 2 - implied.len();
        if implied.is_empty() {
            report.questions_without_pairs += 1;
        }
        let scores = ranked.scores.as_deref().unwrap_or_default();
        for (better, worse) in implied {
            let mut pair = PreferencePair::new(
                ranked.prompt.clone(),
                ranked.completions[better].clone(),
                ranked.completions[worse].clone(),
            );
            if config.margin {
                pair.margin = Some(scores[better] - scores[worse]);
            }
            pairs.push(pair);
        }
    }
    report.pairs = pairs.len();
    Ok((pairs, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_computed_scores() {
        // (votes, accepted, score): round(log2(1 + v)), −1 for v < 0, +1 if accepted.
        for (v, acc, want) in [
            (0, false, 0),
            (1, false, 1),
            (2, false, 2),     // log2 3 = 1.585
            (3, false, 2),     // log2 4 = 2
            (4, false, 2),     // log2 5 = 2.32
            (5, false, 3),     // log2 6 = 2.585
            (10, false, 3),    // log2 11 = 3.46
            (11, false, 4),    // log2 12 = 3.585
            (1000, false, 10), // log2 1001 = 9.97
            (0, true, 1),
            (3, true, 3),
            (-1, false, -1),
            (-7, false, -1),
            (-1, true, 0),
            (i64::MAX, false, 63),
            (i64::MIN, false, -1),
        ] {
            assert_eq!(pmp_score(v, acc), want, "votes {v}, accepted {acc}");
        }
    }

    fn answer(text: &str, votes: i64, accepted: bool) -> StackAnswer {
        StackAnswer {
            text: text.into(),
            votes,
            accepted,
        }
    }

    #[test]
    fn hand_computed_pair_set() {
        // Scores: a 3 votes → 2; b accepted, 0 votes → 1; c 1 vote → 1; d −2 votes → −1.
        // Pairs between different scores: a>b, a>c, a>d, b>d, c>d (b and c tie: left out).
        let q = StackQuestion {
            question: "How?".into(),
            answers: vec![
                answer("a", 3, false),
                answer("b", 0, true),
                answer("c", 1, false),
                answer("d", -2, false),
            ],
        };
        let single = StackQuestion {
            question: "Why?".into(),
            answers: vec![answer("only", 5, true)],
        };
        let (pairs, report) = pmp_pairs(&[q, single], PmpConfig::new().with_margin(true)).unwrap();
        let got: Vec<(String, String, f64)> = pairs
            .iter()
            .map(|p| match (&p.chosen, &p.rejected) {
                (Text::Plain(c), Text::Plain(r)) => (c.clone(), r.clone(), p.margin.unwrap()),
                _ => unreachable!(),
            })
            .collect();
        let want = [
            ("a", "b", 1.0),
            ("a", "c", 1.0),
            ("a", "d", 3.0),
            ("b", "d", 2.0),
            ("c", "d", 2.0),
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!((g.0.as_str(), g.1.as_str(), g.2), w);
        }
        assert!(
            pairs
                .iter()
                .all(|p| p.prompt == Text::Plain("How?".into()) && p.p_chosen == 1.0)
        );
        assert_eq!(
            report,
            PmpReport {
                questions: 2,
                answers: 5,
                pairs: 5,
                tied_pairs: 1,
                questions_without_pairs: 1
            }
        );
        let (no_margin, _) = pmp_pairs(&pmp_example(), PmpConfig::new()).unwrap();
        assert!(no_margin.iter().all(|p| p.margin.is_none()));
    }

    fn pmp_example() -> Vec<StackQuestion> {
        vec![StackQuestion {
            question: "q".into(),
            answers: vec![answer("x", 1, false), answer("y", 0, false)],
        }]
    }

    #[test]
    fn bad_questions_are_errors() {
        let mut q = pmp_example();
        q[0].answers[1].accepted = true;
        q[0].answers[0].accepted = true;
        assert_eq!(
            pmp_pairs(&q, PmpConfig::new()).unwrap_err(),
            LabellingError::MultipleAccepted {
                question: 0,
                answers: vec![0, 1]
            }
        );
        let mut q = pmp_example();
        q[0].answers[1].text = " ".into();
        assert_eq!(
            pmp_pairs(&q, PmpConfig::new()).unwrap_err(),
            LabellingError::BlankText {
                question: 0,
                answer: Some(1)
            }
        );
        let mut q = pmp_example();
        q[0].question = String::new();
        assert!(matches!(
            pmp_pairs(&q, PmpConfig::new()),
            Err(LabellingError::BlankText { answer: None, .. })
        ));
    }

    #[test]
    fn reads_json_with_accepted_defaulting_to_false() {
        let q: StackQuestion = serde_json::from_str(
            r#"{"question": "q", "answers": [{"text": "a", "votes": -3}, {"text": "b", "votes": 2, "accepted": true}]}"#,
        )
        .unwrap();
        assert!(!q.answers[0].accepted && q.answers[1].accepted);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn score_matches_float_formula_and_is_monotone(v in -1000i64..1_000_000) {
            let want = if v < 0 { -1 } else { ((1.0 + v as f64).log2()).round() as i64 };
            prop_assert_eq!(pmp_score(v, false), want);
            prop_assert_eq!(pmp_score(v, true), want + 1);
            prop_assert!(pmp_score(v + 1, false) >= pmp_score(v, false));
        }

        #[test]
        fn pairs_always_prefer_the_higher_score(
            answers in prop::collection::vec((-5i64..40, any::<bool>()), 0..8),
        ) {
            // At most one accepted answer.
            let mut seen = false;
            let answers: Vec<StackAnswer> = answers
                .into_iter()
                .enumerate()
                .map(|(i, (v, acc))| {
                    let acc = acc && !seen;
                    seen |= acc;
                    answer(&format!("{i}"), v, acc)
                })
                .collect();
            let scores: Vec<i64> = answers.iter().map(|a| pmp_score(a.votes, a.accepted)).collect();
            let q = StackQuestion { question: "q".into(), answers };
            let (pairs, report) = pmp_pairs(std::slice::from_ref(&q), PmpConfig::new()).unwrap();
            let score_of = |t: &Text| match t {
                Text::Plain(s) => scores[s.parse::<usize>().unwrap()],
                _ => unreachable!(),
            };
            for p in &pairs {
                prop_assert!(score_of(&p.chosen) > score_of(&p.rejected));
            }
            let distinct_pairs = (0..scores.len())
                .flat_map(|i| (i + 1..scores.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| scores[i] != scores[j])
                .count();
            prop_assert_eq!(pairs.len(), distinct_pairs);
            let k = scores.len();
            prop_assert_eq!(report.pairs + report.tied_pairs, k * k.saturating_sub(1) / 2);
        }
    }
}
