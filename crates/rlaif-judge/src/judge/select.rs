//! [`PrincipleSelection`]: which principle(s) a comparison is judged under.

use rlhf_core::ConfigError;
use std::hash::Hasher;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::{Comparison, JudgeError};
use crate::constitution::Constitution;

/// Which principle(s) of the constitution a comparison is asked under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipleSelection {
    /// Always the principle of this name.
    Fixed(String),
    /// One principle per comparison, drawn uniformly by a `StdRng` seeded with `seed` mixed
    /// with a hash of the comparison (its conversation and the unordered pair of responses):
    /// reproducible, independent of batching and order, and the same for a comparison and
    /// its swap (Bai et al. 2022 sample one principle per comparison).
    Sampled {
        /// The seed.
        seed: u64,
    },
    /// Every named principle (all of them when the list is empty); `p(a)` is the mean.
    Ensemble(Vec<String>),
}

impl PrincipleSelection {
    /// Checks that every named principle exists.
    pub(crate) fn check(&self, constitution: &Constitution) -> Result<(), JudgeError> {
        let unknown = |name: &str| {
            JudgeError::Config(ConfigError::new(
                "principles",
                format_args!(
                    "principles of constitution `{}` ({})",
                    constitution.name,
                    constitution.names().join(", ")
                ),
                format_args!("`{name}`, which it has no principle named"),
            ))
        };
        match self {
            PrincipleSelection::Fixed(name) => constitution
                .index_of(name)
                .map(|_| ())
                .ok_or_else(|| unknown(name)),
            PrincipleSelection::Sampled { .. } => Ok(()),
            PrincipleSelection::Ensemble(names) => names.iter().try_for_each(|n| {
                constitution
                    .index_of(n)
                    .map(|_| ())
                    .ok_or_else(|| unknown(n))
            }),
        }
    }

    /// The indices of the principles `comparison` is asked under.
    pub(crate) fn choose(
        &self,
        constitution: &Constitution,
        comparison: &Comparison,
    ) -> Vec<usize> {
        match self {
            PrincipleSelection::Fixed(name) => vec![constitution.index_of(name).unwrap_or(0)],
            PrincipleSelection::Sampled { seed } => {
                let key = seed ^ comparison_hash(comparison);
                let mut rng = StdRng::seed_from_u64(key);
                vec![rng.random_range(0..constitution.principles.len())]
            }
            PrincipleSelection::Ensemble(names) if names.is_empty() => {
                (0..constitution.principles.len()).collect()
            }
            PrincipleSelection::Ensemble(names) => names
                .iter()
                .filter_map(|n| constitution.index_of(n))
                .collect(),
        }
    }
}

/// FNV-1a (64-bit) over the conversation and the two responses in sorted order: a stable
/// hash (unlike `std`'s `DefaultHasher`, fixed across Rust versions) that is symmetric in
/// the responses.
fn comparison_hash(c: &Comparison) -> u64 {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 ^= b as u64;
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    let conversation = serde_json::to_string(&c.conversation).unwrap_or_default();
    let (x, y) = if c.a <= c.b {
        (&c.a, &c.b)
    } else {
        (&c.b, &c.a)
    };
    for part in [conversation.as_str(), x, y] {
        h.write(part.as_bytes());
        h.write(&[0xff]);
    }
    h.finish()
}
