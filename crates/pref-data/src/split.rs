//! Train / validation / test splits that never put the same prompt in two splits.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// Fractions of the data for validation and test; the rest is training data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitFractions {
    /// Share of prompts in the validation split.
    pub valid: f64,
    /// Share of prompts in the test split.
    pub test: f64,
}

/// The three splits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Splits<T> {
    /// Training items.
    pub train: Vec<T>,
    /// Validation items.
    pub valid: Vec<T>,
    /// Test items.
    pub test: Vec<T>,
}

/// Assigns each item to a split by a seeded hash of its prompt, so every item with the same
/// prompt lands in the same split and the assignment does not depend on the file's order.
pub fn split_by_prompt<T, F>(
    items: Vec<T>,
    prompt: F,
    fractions: SplitFractions,
    seed: u64,
) -> Splits<T>
where
    F: Fn(&T) -> &str,
{
    let mut splits = Splits {
        train: Vec::new(),
        valid: Vec::new(),
        test: Vec::new(),
    };
    for item in items {
        let mut h = DefaultHasher::new();
        seed.hash(&mut h);
        prompt(&item).hash(&mut h);
        let u = (h.finish() >> 11) as f64 / (1u64 << 53) as f64;
        if u < fractions.valid {
            splits.valid.push(item);
        } else if u < fractions.valid + fractions.test {
            splits.test.push(item);
        } else {
            splits.train.push(item);
        }
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn splits_are_disjoint_by_prompt_and_complete(
            prompts in prop::collection::vec(0u8..40, 0..200),
            seed in 0u64..100,
        ) {
            let items: Vec<(String, usize)> = prompts.iter().enumerate().map(|(i, p)| (format!("p{p}"), i)).collect();
            let s = split_by_prompt(items.clone(), |x| x.0.as_str(), SplitFractions { valid: 0.2, test: 0.1 }, seed);
            prop_assert_eq!(s.train.len() + s.valid.len() + s.test.len(), items.len());
            let keys = |v: &Vec<(String, usize)>| v.iter().map(|x| x.0.clone()).collect::<HashSet<_>>();
            let (a, b, c) = (keys(&s.train), keys(&s.valid), keys(&s.test));
            prop_assert!(a.is_disjoint(&b) && a.is_disjoint(&c) && b.is_disjoint(&c));
        }
    }

    #[test]
    fn fractions_are_roughly_respected() {
        let items: Vec<String> = (0..10_000).map(|i| format!("prompt {i}")).collect();
        let s = split_by_prompt(
            items,
            String::as_str,
            SplitFractions {
                valid: 0.1,
                test: 0.05,
            },
            1,
        );
        assert!((900..1100).contains(&s.valid.len()), "{}", s.valid.len());
        assert!((400..600).contains(&s.test.len()), "{}", s.test.len());
    }
}
