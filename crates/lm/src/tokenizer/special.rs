//! The special tokens (BOS, EOS, padding) and their roles.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::TokenizerError;

/// The role a special token plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpecialTokenRole {
    /// Beginning of sequence.
    Bos,
    /// End of sequence.
    Eos,
    /// Padding.
    Pad,
}

impl SpecialTokenRole {
    /// All roles, in the order `bos`, `eos`, `pad`.
    pub const ALL: [SpecialTokenRole; 3] = [Self::Bos, Self::Eos, Self::Pad];

    /// Lower-case name of the role: `"bos"`, `"eos"` or `"pad"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bos => "bos",
            Self::Eos => "eos",
            Self::Pad => "pad",
        }
    }
}

impl fmt::Display for SpecialTokenRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text of the special tokens a [`Tokenizer`](super::Tokenizer) needs.
///
/// Two roles may share one token (e.g. GPT-2 uses `<|endoftext|>` for all
/// three); attention masks are built from lengths, never by comparing ids with
/// [`Tokenizer::pad_id`](super::Tokenizer::pad_id), so that is safe. No token may be empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct SpecialTokens {
    /// Beginning-of-sequence token, default [`SpecialTokens::DEFAULT_BOS`].
    pub bos: String,
    /// End-of-sequence token, default [`SpecialTokens::DEFAULT_EOS`].
    pub eos: String,
    /// Padding token, default [`SpecialTokens::DEFAULT_PAD`].
    pub pad: String,
}

impl SpecialTokens {
    /// Default beginning-of-sequence token.
    pub const DEFAULT_BOS: &'static str = "<|bos|>";
    /// Default end-of-sequence token.
    pub const DEFAULT_EOS: &'static str = "<|eos|>";
    /// Default padding token.
    pub const DEFAULT_PAD: &'static str = "<|pad|>";

    /// The token playing `role`.
    pub fn get(&self, role: SpecialTokenRole) -> &str {
        match role {
            SpecialTokenRole::Bos => &self.bos,
            SpecialTokenRole::Eos => &self.eos,
            SpecialTokenRole::Pad => &self.pad,
        }
    }

    /// `(role, token)` pairs in the order `bos`, `eos`, `pad`.
    pub fn iter(&self) -> impl Iterator<Item = (SpecialTokenRole, &str)> {
        SpecialTokenRole::ALL
            .into_iter()
            .map(|role| (role, self.get(role)))
    }

    /// The distinct tokens, in the order `bos`, `eos`, `pad`.
    pub(super) fn distinct(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(3);
        for (_, token) in self.iter() {
            if !out.contains(&token) {
                out.push(token);
            }
        }
        out
    }

    /// Errors if any token is empty; `origin` names the tokenizer in the error.
    pub(super) fn validate(&self, origin: &Path) -> Result<(), TokenizerError> {
        match self.iter().find(|(_, token)| token.is_empty()) {
            Some((role, _)) => Err(TokenizerError::InvalidSpecialToken {
                path: origin.to_path_buf(),
                role,
                message: "the token is empty".to_owned(),
            }),
            None => Ok(()),
        }
    }
}

impl Default for SpecialTokens {
    fn default() -> Self {
        Self {
            bos: Self::DEFAULT_BOS.to_owned(),
            eos: Self::DEFAULT_EOS.to_owned(),
            pad: Self::DEFAULT_PAD.to_owned(),
        }
    }
}
