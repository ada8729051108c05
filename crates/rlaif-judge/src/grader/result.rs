//! What a grader returns: [`GradeResult`], and the kinds of [`Failure`] it may record.

use std::fmt;

/// Why a sample scored 0 without being judged on its merits. A failed grade's
/// [`GradeResult::reason`] starts with the failure's [`prefix`](Failure::prefix), so that
/// logs can be searched and [`GraderReward`](crate::GraderReward) can count failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// A template could not be rendered (an undefined variable such as a missing item
    /// field).
    Template,
    /// The model output is not what the grader reads (empty, not JSON, no number, no
    /// choice letter, no field at the path).
    MalformedOutput,
    /// A grading model failed or gave an answer outside what was asked (not a number, a
    /// label outside `labels`).
    Model,
    /// A program grader failed (did not start, timed out, exited non-zero, printed no
    /// finite number).
    Program,
    /// A `multi` grader's formula could not be evaluated (division by zero, a non-finite
    /// result).
    Formula,
}

impl Failure {
    /// Every kind, in order.
    pub const ALL: [Failure; 5] = [
        Failure::Template,
        Failure::MalformedOutput,
        Failure::Model,
        Failure::Program,
        Failure::Formula,
    ];

    /// The prefix of the reason of a grade that failed this way (`"template error"`,
    /// `"malformed output"`, `"model error"`, `"program error"`, `"formula error"`).
    pub fn prefix(self) -> &'static str {
        match self {
            Failure::Template => "template error",
            Failure::MalformedOutput => "malformed output",
            Failure::Model => "model error",
            Failure::Program => "program error",
            Failure::Formula => "formula error",
        }
    }

    /// The metric key under which [`GraderReward`](crate::GraderReward) counts it
    /// (`failures/template`, `failures/malformed_output`, ...).
    pub fn metric_key(self) -> &'static str {
        match self {
            Failure::Template => "failures/template",
            Failure::MalformedOutput => "failures/malformed_output",
            Failure::Model => "failures/model",
            Failure::Program => "failures/program",
            Failure::Formula => "failures/formula",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.prefix())
    }
}

/// The grade of one sample: a score, why, and (for a grade that failed) the kind of
/// failure.
#[derive(Clone, Debug, PartialEq)]
pub struct GradeResult {
    /// The score (0 for a failure). Finite.
    pub score: f64,
    /// A short explanation: what was compared, the metric value, the model's answer, or
    /// what failed (then starting with [`Failure::prefix`]).
    pub reason: String,
    /// Set when the sample could not be graded on its merits.
    pub failure: Option<Failure>,
    /// The scores of the sub-graders of a `multi` grader, by name (empty otherwise).
    pub sub_scores: Vec<(String, f64)>,
}

impl GradeResult {
    /// A successful grade. A non-finite `score` becomes 0, a [`Failure::MalformedOutput`]
    /// with the reason saying so (graders never return NaN).
    pub fn new(score: f64, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        if !score.is_finite() {
            return Self::fail(
                Failure::MalformedOutput,
                format!("the grader computed a non-finite score {score} ({reason})"),
            );
        }
        Self {
            score,
            reason,
            failure: None,
            sub_scores: Vec::new(),
        }
    }

    /// A pass (1) or fail (0) grade.
    pub fn pass(passed: bool, reason: impl Into<String>) -> Self {
        Self::new(if passed { 1.0 } else { 0.0 }, reason)
    }

    /// A failed grade: score 0, the reason `"{prefix}: {detail}"`.
    pub fn fail(kind: Failure, detail: impl fmt::Display) -> Self {
        Self {
            score: 0.0,
            reason: format!("{}: {detail}", kind.prefix()),
            failure: Some(kind),
            sub_scores: Vec::new(),
        }
    }

    /// Whether the grade failed.
    pub fn is_failure(&self) -> bool {
        self.failure.is_some()
    }
}
