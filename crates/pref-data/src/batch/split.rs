//! Splits of records whose prompt is a [`Text`].

use crate::record::Text;
use crate::split::{SplitFractions, Splits, split_by_prompt};
use crate::template::prompt_key;

/// [`split_by_prompt`] for records whose prompt is a [`Text`] (plain or conversational):
/// records with equal prompts always land in the same split. Conversations are keyed by
/// their messages ([`prompt_key`]).
pub fn split_by_prompt_text<T, F>(
    items: Vec<T>,
    prompt: F,
    fractions: SplitFractions,
    seed: u64,
) -> Splits<T>
where
    F: Fn(&T) -> &Text,
{
    let keyed: Vec<(String, T)> = items
        .into_iter()
        .map(|t| (prompt_key(prompt(&t)).into_owned(), t))
        .collect();
    let s = split_by_prompt(keyed, |(k, _)| k.as_str(), fractions, seed);
    let strip = |v: Vec<(String, T)>| v.into_iter().map(|(_, t)| t).collect();
    Splits {
        train: strip(s.train),
        valid: strip(s.valid),
        test: strip(s.test),
    }
}
