//! Constitutions: the written principles that steer AI feedback (Bai et al. 2022,
//! "Constitutional AI: Harmlessness from AI Feedback").
//!
//! A [`Constitution`] is data — a TOML or JSON file — holding [`Principle`]s. Each principle
//! is phrased three ways, one per use:
//!
//! - `critique_request`: asked after a response in the supervised stage (SL-CAI), to get a
//!   critique of it ([`crate::critique`]);
//! - `revision_request`: asked after the critique, to get a revised response;
//! - `comparison`: the question of the multiple-choice comparison of two responses in the
//!   RL stage (RL-CAI; [`crate::judge`]).
//!
//! ```toml
//! name = "harmlessness"
//! description = "optional"
//!
//! [[principles]]
//! name = "harmful-content"
//! critique_request = "Point out every way in which the assistant's last reply is harmful ..."
//! revision_request = "Rewrite the assistant's reply so that nothing harmful ... is left in it."
//! comparison = "Which of these replies from the assistant is less harmful? ..."
//! ```
//!
//! The JSON form has the same fields (`{"name": ..., "principles": [{...}]}`).
//! [`Constitution::harmlessness`] is the built-in constitution: the harmlessness principles
//! of the Constitutional AI paper (its appendix C) in this project's own words
//! (`constitutions/harmlessness.toml` in the crate).
//!
//! Loading validates: known fields only, every text non-blank, principle names unique, at
//! least one principle. Errors name the file, the principle and the field
//! ([`ConstitutionError`]):
//!
//! ```text
//! mine.toml: principle `respect` (#5): field `comparison`: missing field `comparison`
//! ```

mod load;

pub use load::{ConstitutionError, ConstitutionFormat};

use serde::{Deserialize, Serialize};

/// The built-in harmlessness constitution, as TOML.
pub const HARMLESSNESS_TOML: &str = include_str!("../../constitutions/harmlessness.toml");

/// One principle of a [`Constitution`], phrased for critique, revision and comparison.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Principle {
    /// A short, unique name (recorded with every judgement and revision).
    pub name: String,
    /// The request for a critique of the assistant's last response (SL-CAI), e.g.
    /// "Point out every way in which the assistant's last reply is harmful ...".
    pub critique_request: String,
    /// The request for a revision after the critique (SL-CAI), e.g. "Rewrite the
    /// assistant's reply so that nothing harmful ... is left in it.".
    pub revision_request: String,
    /// The question of the multiple-choice comparison (RL-CAI), e.g. "Which of these
    /// replies from the assistant is less harmful?".
    pub comparison: String,
}

/// A set of principles that steers AI feedback. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constitution {
    /// The constitution's name.
    pub name: String,
    /// What it is for (optional).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The principles, at least one, names unique.
    pub principles: Vec<Principle>,
}

impl Constitution {
    /// The built-in harmlessness constitution (12 principles after Bai et al. 2022,
    /// appendix C, in this project's words).
    pub fn harmlessness() -> Self {
        Self::parse(
            HARMLESSNESS_TOML,
            ConstitutionFormat::Toml,
            "<built-in harmlessness>",
        )
        .expect("the built-in constitution is valid (tested)")
    }

    /// The principle named `name`.
    pub fn principle(&self, name: &str) -> Option<&Principle> {
        self.principles.iter().find(|p| p.name == name)
    }

    /// The index of the principle named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.principles.iter().position(|p| p.name == name)
    }

    /// The principles' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.principles.iter().map(|p| p.name.as_str()).collect()
    }

    /// Checks what loading checks (see the [module docs](self)); `origin` names the
    /// constitution in errors.
    pub fn validate(&self, origin: &str) -> Result<(), ConstitutionError> {
        let invalid = |principle: String, field: &str, message: String| {
            Err(ConstitutionError::Invalid {
                origin: origin.to_string(),
                principle,
                field: field.to_string(),
                message,
            })
        };
        if self.name.trim().is_empty() {
            return invalid(load::TOP.into(), "name", "expected a non-blank name".into());
        }
        if self.principles.is_empty() {
            return invalid(
                load::TOP.into(),
                "principles",
                "expected at least one principle".into(),
            );
        }
        for (i, p) in self.principles.iter().enumerate() {
            let who = load::principle_label(Some(&p.name), i);
            let fields = [
                ("name", &p.name),
                ("critique_request", &p.critique_request),
                ("revision_request", &p.revision_request),
                ("comparison", &p.comparison),
            ];
            for (field, text) in fields {
                if text.trim().is_empty() {
                    return invalid(who, field, "expected a non-blank text".into());
                }
            }
            if let Some(j) = self.principles[..i].iter().position(|q| q.name == p.name) {
                return invalid(
                    who,
                    "name",
                    format!("duplicate principle name (also principle #{})", j + 1),
                );
            }
        }
        Ok(())
    }
}
