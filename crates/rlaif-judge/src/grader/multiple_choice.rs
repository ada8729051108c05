//! `multiple_choice`: the letter the answer chose equals the reference letter.

use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::template::Template;
use super::{Failure, FieldError, GradeResult, Grader, GraderSample, Item, quote, render};

fn default_input() -> String {
    "{{ sample.output_text }}".to_string()
}

fn default_letters() -> String {
    "ABCD".to_string()
}

/// Configuration of a [`MultipleChoice`] grader (`type = "multiple_choice"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipleChoiceConfig {
    /// The grader's name.
    #[serde(default)]
    pub name: String,
    /// Template of the answer text (default `{{ sample.output_text }}`).
    #[serde(default = "default_input")]
    pub input: String,
    /// Template of the correct letter, e.g. `{{ item.answer }}`.
    pub reference: String,
    /// The choice letters, uppercase ASCII (default `"ABCD"`).
    #[serde(default = "default_letters")]
    pub letters: String,
}

/// Multiple-choice check: 1 if the letter extracted from the answer
/// ([`extract_choice`]) is the reference letter, else 0. An answer with no recognisable
/// choice is a [`Failure::MalformedOutput`]; a reference that is not one of the letters
/// is a [`Failure::Template`] problem of the dataset row.
#[derive(Clone, Debug)]
pub struct MultipleChoice {
    name: String,
    input: Template,
    reference: Template,
    letters: Vec<char>,
}

impl MultipleChoice {
    /// The grader for `config`.
    pub fn new(config: &MultipleChoiceConfig) -> Result<Self, FieldError> {
        let letters: Vec<char> = config.letters.chars().collect();
        if letters.len() < 2 || letters.iter().any(|c| !c.is_ascii_uppercase()) {
            return Err(FieldError::new(
                "letters",
                format!(
                    "expected at least two uppercase ASCII letters, got {:?}",
                    config.letters
                ),
            ));
        }
        if (1..letters.len()).any(|i| letters[..i].contains(&letters[i])) {
            return Err(FieldError::new(
                "letters",
                format!("duplicate letter in {:?}", config.letters),
            ));
        }
        Ok(Self {
            name: config.name.clone(),
            input: super::compile(&config.input, "input")?,
            reference: super::compile(&config.reference, "reference")?,
            letters,
        })
    }
}

/// The choice letter an answer gives, among `letters`, from the common formats, in this
/// order of trust: `\boxed{C}`; `answer is (C)` / `Answer: C` (the last such phrase, any
/// case); the whole answer being the letter (`C`, `(C)`, `C.`, `**C**`); the answer
/// starting with `C.`, `C)` or `(C)`; the last `(C)` in the text. `None` if none applies.
pub fn extract_choice(text: &str, letters: &[char]) -> Option<char> {
    static RES: OnceLock<[Regex; 5]> = OnceLock::new();
    let res = RES.get_or_init(|| {
        [
            Regex::new(r"\\boxed\{\s*(?:\\text\{)?\(?([A-Za-z])\)?\}?\s*\}").expect("valid"),
            Regex::new(r"(?i)\banswer\s*(?:is|:)\s*[:\-]?\s*(?:\*\*)?\s*\(?([A-Z])\)?(?:\*\*)?(?:[.,;:!)\s]|$)").expect("valid"),
            Regex::new(r"^\s*(?:\*\*)?\(?([A-Za-z])\)?[.:]?(?:\*\*)?\s*$").expect("valid"),
            Regex::new(r"^\s*(?:\*\*)?\(?([A-Z])(?:\)|\.|:)(?:\s|$)").expect("valid"),
            Regex::new(r"\(([A-Z])\)").expect("valid"),
        ]
    });
    let pick = |c: char| {
        let u = c.to_ascii_uppercase();
        letters.contains(&u).then_some(u)
    };
    for re in res.iter() {
        if let Some(c) = re
            .captures_iter(text)
            .filter_map(|cap| cap.get(1).and_then(|m| m.as_str().chars().next()))
            .filter_map(pick)
            .last()
        {
            return Some(c);
        }
    }
    None
}

impl Grader for MultipleChoice {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "multiple_choice"
    }

    fn grade(&mut self, sample: &GraderSample, item: &Item) -> GradeResult {
        let reference = match render(&self.reference, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let r = reference.trim();
        let Some(correct) = r
            .chars()
            .next()
            .filter(|_| r.chars().count() == 1)
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| self.letters.contains(c))
        else {
            return GradeResult::fail(
                Failure::Template,
                format!(
                    "the reference {} is not one of the letters {}",
                    quote(&reference),
                    self.letters.iter().collect::<String>()
                ),
            );
        };
        let text = match render(&self.input, sample, item) {
            Ok(s) => s,
            Err(e) => return e,
        };
        let Some(chosen) = extract_choice(&text, &self.letters) else {
            return GradeResult::fail(
                Failure::MalformedOutput,
                format!(
                    "no choice among {} found in {}",
                    self.letters.iter().collect::<String>(),
                    quote(&text)
                ),
            );
        };
        GradeResult::pass(
            chosen == correct,
            format!("chose {chosen}, correct is {correct}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::extract_choice;

    #[test]
    fn common_answer_formats() {
        let l = ['A', 'B', 'C', 'D'];
        for (text, want) in [
            ("B", Some('B')),
            ("(c)", Some('C')),
            ("D.", Some('D')),
            ("**A**", Some('A')),
            ("The answer is (B).", Some('B')),
            ("Answer: c", Some('C')),
            ("I think A is wrong. The answer is D", Some('D')),
            ("Final: \\boxed{C}", Some('C')),
            ("B) because it is larger", Some('B')),
            ("Options (A) and (C) look plausible; I pick (C)", Some('C')),
            ("I am not sure.", None),
            ("", None),
            ("E", None),
        ] {
            assert_eq!(extract_choice(text, &l), want, "{text:?}");
        }
    }
}
