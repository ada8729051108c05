//! `lexicon`: the balance of positive and negative words in the answer.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::template::Template;
use super::{FieldError, GradeResult, Grader, GraderSample, Item, render};

fn default_input() -> String {
    "{{ sample.output_text }}".to_string()
}

/// Configuration of a [`Lexicon`] grader (`type = "lexicon"`).
///
/// ```toml
/// [[graders]]
/// type = "lexicon"
/// name = "friendly"
/// positive = ["thank", "glad", "help"]
/// negative = ["hate", "kill", "steal"]
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexiconConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Template of the text scored (default `{{ sample.output_text }}`).
    #[serde(default = "default_input")]
    pub input: String,
    /// Words that count +1 (matched whole and case-insensitively; an entry holding spaces
    /// is split into several words).
    pub positive: Vec<String>,
    /// Words that count −1.
    pub negative: Vec<String>,
}

/// A word-list score in \[−1, 1\]: with the rendered `input` split into words (maximal runs
/// of alphabetic characters, lower-cased),
///
/// ```text
/// score = (#positive words − #negative words) / max(1, #words)
/// ```
///
/// Every occurrence counts. This is the lexicon-based sentiment score of classic toy RLHF
/// set-ups, a known, cheap "true reward": it serves as the oracle of the reward–KL frontier
/// (DPO paper, Rafailov et al. 2023, Fig. 2, with a word list in place of the sentiment
/// classifier). A word in both lists is rejected when the grader is built.
#[derive(Clone, Debug)]
pub struct Lexicon {
    name: String,
    input: Template,
    positive: HashSet<String>,
    negative: HashSet<String>,
}

fn words(list: &[String]) -> HashSet<String> {
    list.iter()
        .flat_map(|w| w.split_whitespace())
        .map(str::to_lowercase)
        .collect()
}

impl Lexicon {
    /// The grader for `config`.
    pub fn new(config: &LexiconConfig) -> Result<Self, FieldError> {
        let (positive, negative) = (words(&config.positive), words(&config.negative));
        for (field, set) in [("positive", &positive), ("negative", &negative)] {
            if let Some(bad) = set.iter().find(|w| !w.chars().all(char::is_alphabetic)) {
                return Err(FieldError::new(
                    field,
                    format!("expected words of letters only, got {bad:?}"),
                ));
            }
        }
        if positive.is_empty() && negative.is_empty() {
            return Err(FieldError::new(
                "positive",
                "expected at least one word in `positive` or `negative`, got none",
            ));
        }
        let mut both: Vec<&String> = positive.intersection(&negative).collect();
        if !both.is_empty() {
            both.sort();
            return Err(FieldError::new(
                "negative",
                format!("expected words not in `positive`, got {both:?} in both"),
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            input: super::compile(&config.input, "input")?,
            positive,
            negative,
        })
    }

    /// The score of `text` (see the type's docs) with the positive and negative counts.
    pub fn score(&self, text: &str) -> (f64, usize, usize) {
        let (mut n, mut pos, mut neg) = (0usize, 0usize, 0usize);
        for word in text
            .split(|c: char| !c.is_alphabetic())
            .filter(|w| !w.is_empty())
        {
            n += 1;
            let word = word.to_lowercase();
            pos += usize::from(self.positive.contains(&word));
            neg += usize::from(self.negative.contains(&word));
        }
        ((pos as f64 - neg as f64) / n.max(1) as f64, pos, neg)
    }
}

impl Grader for Lexicon {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "lexicon"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let text = match render(&self.input, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let (score, pos, neg) = self.score(&text);
        GradeResult::new(score, format!("{pos} positive, {neg} negative words"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon(pos: &[&str], neg: &[&str]) -> Result<Lexicon, FieldError> {
        Lexicon::new(&LexiconConfig {
            name: "l".into(),
            input: default_input(),
            positive: pos.iter().map(|s| s.to_string()).collect(),
            negative: neg.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn counts_whole_words_case_insensitively() {
        let l = lexicon(&["glad help", "Thank"], &["hate"]).unwrap();
        // 9 words: glad and help×2 count +3 ("thanks" is not "thank"), HATE −1.
        let (score, pos, neg) = l.score("Glad to help, thanks! I HATE to help-less...");
        assert_eq!((pos, neg), (3, 1));
        assert!((score - 2.0 / 9.0).abs() < 1e-12, "{score}");
        assert_eq!(l.score("").0, 0.0);
        assert_eq!(l.score("12 34 !!").0, 0.0);
    }

    #[test]
    fn grades_the_rendered_output() {
        let mut l = lexicon(&["kind"], &["mean"]).unwrap();
        let r = l.grade(
            &GraderSample::from_text("so kind, not mean, kind"),
            &Item::default(),
        );
        assert!((r.score - 0.2).abs() < 1e-12, "{r:?}");
        assert!(r.reason.contains("2 positive, 1 negative"), "{r:?}");
    }

    #[test]
    fn bad_lists_are_rejected_naming_the_field() {
        let e = lexicon(&["good"], &["bad", "good"]).unwrap_err();
        assert_eq!(e.field, "negative");
        assert!(e.message.contains("\"good\""), "{e:?}");
        assert_eq!(lexicon(&[], &[]).unwrap_err().field, "positive");
        assert_eq!(lexicon(&["can't"], &[]).unwrap_err().field, "positive");
    }
}
