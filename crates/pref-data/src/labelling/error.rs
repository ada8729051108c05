//! [`LabellingError`]: bad input to the labelling and aggregation functions.
//!
//! Every message names what was being checked, what was expected and what was found, so
//! that a caller can find the offending annotation, item or answer.

use rlhf_core::ConfigError;

/// Errors raised by vote aggregation, agreement statistics and preference-pair building.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LabellingError {
    /// An input that must not be empty is empty.
    #[error("{what}: expected {expected}, got none")]
    Empty {
        /// The input concerned, e.g. `"annotations"`.
        what: &'static str,
        /// What is needed, e.g. `"at least one annotation"`.
        expected: &'static str,
    },

    /// An index in a record is outside the declared range.
    #[error("{what} #{index}: field `{field}`: expected a value below {bound}, got {got}")]
    OutOfRange {
        /// The kind of record, e.g. `"annotation"`, `"comparison"`.
        what: &'static str,
        /// 0-based position of the record in the input.
        index: usize,
        /// The offending field, e.g. `"label"`.
        field: &'static str,
        /// The value found.
        got: usize,
        /// The exclusive upper bound (number of items, annotators or classes).
        bound: usize,
    },

    /// An annotator labelled the same item twice where a statistic needs at most one label.
    #[error(
        "{method}: annotator {annotator} labelled item {item} twice (annotations #{first} and \
         #{second}); expected at most one label per annotator and item"
    )]
    DuplicateLabel {
        /// The statistic that cannot use repeated labels.
        method: &'static str,
        /// The item.
        item: usize,
        /// The annotator.
        annotator: usize,
        /// 0-based position of the first of the two annotations.
        first: usize,
        /// 0-based position of the second.
        second: usize,
    },

    /// Two inputs that must have the same length do not.
    #[error("{what}: expected equal lengths, got {left} and {right}")]
    LengthMismatch {
        /// The inputs concerned.
        what: &'static str,
        /// Length of the first.
        left: usize,
        /// Length of the second.
        right: usize,
    },

    /// Fewer annotators than the method needs.
    #[error("{method}: expected {expected} annotators, got {got}")]
    TooFewAnnotators {
        /// The method.
        method: &'static str,
        /// What it needs, in words (e.g. `"2 distinct"`).
        expected: &'static str,
        /// How many were given.
        got: usize,
    },

    /// A statistic is undefined for this input (e.g. kappa when both annotators use one
    /// single category, alpha when every pairable value is the same).
    #[error("{statistic} is undefined: {reason}")]
    Undefined {
        /// The statistic.
        statistic: &'static str,
        /// Why, with the figures that make it so.
        reason: String,
    },

    /// A configuration value is invalid.
    #[error("{config}: {source}")]
    Config {
        /// The configuration type, e.g. `BradleyTerryConfig`.
        config: &'static str,
        /// The field, what is allowed and what was given.
        #[source]
        source: ConfigError,
    },

    /// A numeric input is NaN, infinite, or otherwise outside its domain.
    #[error("{what} #{index}: expected {expected}, got {got}")]
    InvalidValue {
        /// The kind of input, e.g. `"comparison weight"`.
        what: &'static str,
        /// 0-based position of the value.
        index: usize,
        /// What is allowed.
        expected: &'static str,
        /// What was given.
        got: f64,
    },

    /// A comparison of an item with itself.
    #[error(
        "comparison #{index}: item {item} is compared with itself; expected two different items"
    )]
    SelfComparison {
        /// 0-based position of the comparison.
        index: usize,
        /// The item.
        item: usize,
    },

    /// The Bradley-Terry maximum-likelihood estimate does not exist (some scores would be
    /// infinite): the "beats" graph is not strongly connected (Zermelo 1929; Ford 1957;
    /// Hunter 2004, Assumption 1).
    #[error(
        "Bradley-Terry: no finite maximum-likelihood scores: the items fall into {} groups \
         that are not linked both ways by wins (expected: for every split of the items into \
         two groups, some item of each group beats some item of the other); groups: {}; \
         add comparisons or set `prior_games` > 0",
        components.len(),
        describe_components(components)
    )]
    NoFiniteMle {
        /// The strongly connected components of the "beats" graph, each a sorted list of items.
        components: Vec<Vec<usize>>,
    },

    /// A Stack Exchange question has more than one accepted answer.
    #[error(
        "question #{question}: answers {answers:?} are all marked accepted; expected at most one"
    )]
    MultipleAccepted {
        /// 0-based position of the question.
        question: usize,
        /// 0-based positions of the accepted answers.
        answers: Vec<usize>,
    },

    /// A question or answer text is empty or whitespace.
    #[error("question #{question}{}: expected non-blank text, got blank text", answer.map(|a| format!(", answer #{a}")).unwrap_or_default())]
    BlankText {
        /// 0-based position of the question.
        question: usize,
        /// 0-based position of the answer, or `None` for the question text itself.
        answer: Option<usize>,
    },
}

fn describe_components(components: &[Vec<usize>]) -> String {
    const SHOWN: usize = 5;
    let mut parts: Vec<String> = components
        .iter()
        .take(SHOWN)
        .map(|c| {
            if c.len() <= 8 {
                format!("{c:?}")
            } else {
                format!("[{} items from {}]", c.len(), c[0])
            }
        })
        .collect();
    if components.len() > SHOWN {
        parts.push(format!("and {} more", components.len() - SHOWN));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_record_field_expected_and_got() {
        let e = LabellingError::OutOfRange {
            what: "annotation",
            index: 4,
            field: "label",
            got: 3,
            bound: 3,
        };
        assert_eq!(
            e.to_string(),
            "annotation #4: field `label`: expected a value below 3, got 3"
        );
        let e = LabellingError::BlankText {
            question: 2,
            answer: Some(1),
        };
        assert_eq!(
            e.to_string(),
            "question #2, answer #1: expected non-blank text, got blank text"
        );
        let e = LabellingError::NoFiniteMle {
            components: vec![vec![0, 1], vec![2]],
        };
        let s = e.to_string();
        assert!(s.contains("2 groups") && s.contains("[0, 1], [2]"), "{s}");
    }
}
