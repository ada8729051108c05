//! [`TokenizeReport`]: what tokenisation cut and dropped.

use std::fmt;

/// Counts of a tokenisation run. `records = kept + dropped`; truncation counts are over
/// kept records; every dropped record is counted under exactly one reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenizeReport {
    /// Records seen.
    pub records: usize,
    /// Records kept.
    pub kept: usize,
    /// Kept records with anything truncated (prompt or a completion).
    pub truncated: usize,
    /// Kept records whose prompt lost tokens from its start.
    pub truncated_prompt: usize,
    /// Kept records with at least one completion that lost tokens from its end.
    pub truncated_completion: usize,
    /// Records dropped, all reasons.
    pub dropped: usize,
    /// Dropped: the prompt has no token (empty text and no BOS).
    pub dropped_empty_prompt: usize,
    /// Dropped: a completion has no token (empty text and no EOS).
    pub dropped_empty_completion: usize,
    /// Dropped: a ranking with fewer than two completions.
    pub dropped_too_few_completions: usize,
}

/// Why a record was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    EmptyPrompt,
    EmptyCompletion,
    TooFewCompletions,
}

impl TokenizeReport {
    /// Counts a kept record and what was truncated in it.
    pub(crate) fn keep(&mut self, prompt_cut: bool, completion_cut: bool) {
        self.records += 1;
        self.kept += 1;
        self.truncated += usize::from(prompt_cut || completion_cut);
        self.truncated_prompt += usize::from(prompt_cut);
        self.truncated_completion += usize::from(completion_cut);
    }

    /// Counts a dropped record.
    pub(crate) fn drop_record(&mut self, reason: DropReason) {
        self.records += 1;
        self.dropped += 1;
        match reason {
            DropReason::EmptyPrompt => self.dropped_empty_prompt += 1,
            DropReason::EmptyCompletion => self.dropped_empty_completion += 1,
            DropReason::TooFewCompletions => self.dropped_too_few_completions += 1,
        }
    }

    /// Adds another report's counts (e.g. of the next chunk of a stream).
    pub fn merge(&mut self, other: &TokenizeReport) {
        self.records += other.records;
        self.kept += other.kept;
        self.truncated += other.truncated;
        self.truncated_prompt += other.truncated_prompt;
        self.truncated_completion += other.truncated_completion;
        self.dropped += other.dropped;
        self.dropped_empty_prompt += other.dropped_empty_prompt;
        self.dropped_empty_completion += other.dropped_empty_completion;
        self.dropped_too_few_completions += other.dropped_too_few_completions;
    }
}

impl fmt::Display for TokenizeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records: {} kept ({} truncated: {} prompt, {} completion), {} dropped",
            self.records,
            self.kept,
            self.truncated,
            self.truncated_prompt,
            self.truncated_completion,
            self.dropped
        )?;
        if self.dropped > 0 {
            let reasons: Vec<String> = [
                (self.dropped_empty_prompt, "empty prompt"),
                (self.dropped_empty_completion, "empty completion"),
                (self.dropped_too_few_completions, "fewer than 2 completions"),
            ]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, why)| format!("{n} {why}"))
            .collect();
            write!(f, " ({})", reasons.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_merge() {
        let mut r = TokenizeReport::default();
        r.keep(true, false);
        r.keep(false, false);
        r.drop_record(DropReason::EmptyCompletion);
        let mut total = r.clone();
        total.merge(&r);
        assert_eq!(
            total.to_string(),
            "6 records: 4 kept (2 truncated: 2 prompt, 0 completion), 2 dropped (2 empty completion)"
        );
    }
}
