//! [`FnGrader`]: a grader from a Rust closure.

use super::{GradeResult, Grader, GraderSample, Item};

type GradeFn<'f> = Box<dyn FnMut(&GraderSample, &Item) -> GradeResult + 'f>;

/// A grader computed by a closure, for checks no configuration expresses (a unit test run
/// in-process, a domain parser). The closure should not panic; a non-finite score is
/// turned into a failure like any other grader's (build results with
/// [`GradeResult::new`]/[`GradeResult::pass`]/[`GradeResult::fail`]).
pub struct FnGrader<'f> {
    name: String,
    f: GradeFn<'f>,
}

impl<'f> FnGrader<'f> {
    /// A grader named `name` computing `f(sample, item)`.
    pub fn new(
        name: impl Into<String>,
        f: impl FnMut(&GraderSample, &Item) -> GradeResult + 'f,
    ) -> Self {
        Self {
            name: name.into(),
            f: Box::new(f),
        }
    }
}

impl Grader for FnGrader<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "closure"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let r = (self.f)(sample, item);
        if r.score.is_finite() {
            r
        } else {
            GradeResult::new(r.score, r.reason)
        }
    }
}

impl std::fmt::Debug for FnGrader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnGrader")
            .field("name", &self.name)
            .finish()
    }
}
