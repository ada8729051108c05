//! Text-similarity metrics, each written to give the values of the Python library that
//! defines it in practice (checked against reference values in the crate's tests):
//!
//! | metric | function | reference implementation |
//! |---|---|---|
//! | fuzzy match | [`fuzzy_ratio`] | rapidfuzz `fuzz.ratio / 100` |
//! | BLEU (Papineni et al. 2002) | [`bleu`] | NLTK `sentence_bleu` (4-gram, uniform weights, no smoothing) |
//! | GLEU (Wu et al. 2016) | [`gleu`] | NLTK `sentence_gleu` (1- to 4-grams) |
//! | METEOR (Banerjee & Lavie 2005) | [`meteor`] | NLTK `meteor_score` (α 0.9, β 3, γ 0.5) |
//! | ROUGE-N, ROUGE-L (Lin 2004) | [`rouge_n`], [`rouge_l`] | Google's `rouge-score` F-measure, no stemming |
//!
//! BLEU, GLEU and METEOR read whitespace-separated words (Python's `str.split()`);
//! ROUGE tokenises as `rouge-score` does (lowercase, runs of characters other than
//! `a-z0-9` are separators).

mod bleu;
mod fuzzy;
mod gleu;
mod lcs;
mod meteor;
pub mod porter;
mod rouge;

pub use bleu::bleu;
pub use fuzzy::fuzzy_ratio;
pub use gleu::gleu;
pub use lcs::lcs_len;
pub use meteor::{NoSynonyms, Synonyms, meteor, meteor_with};
pub use rouge::{rouge_l, rouge_n, rouge_tokenize};

use std::collections::HashMap;
use std::hash::Hash;

/// Whitespace-separated words, as Python's `str.split()`.
pub fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// Counts of the `n`-grams of `tokens` (none when `tokens` is shorter than `n`).
pub(crate) fn ngram_counts<T: Eq + Hash>(tokens: &[T], n: usize) -> HashMap<&[T], usize> {
    let mut counts = HashMap::new();
    if n == 0 || tokens.len() < n {
        return counts;
    }
    for g in tokens.windows(n) {
        *counts.entry(g).or_insert(0) += 1;
    }
    counts
}
