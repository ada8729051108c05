//! GLEU (Wu et al. 2016, Google's neural MT system), as NLTK's `sentence_gleu`.

use super::{ngram_counts, words};

/// Sentence GLEU of `hypothesis` against one `reference`, as NLTK's
/// `sentence_gleu([reference.split()], hypothesis.split())`: over all 1- to 4-grams of
/// both texts,
///
/// ```text
/// GLEU = Σ_n Σ_g min(count_hyp(g), count_ref(g)) / max(Σ count_hyp, Σ count_ref)
/// ```
///
/// i.e. the minimum of n-gram precision and recall, 0 when both texts are empty.
pub fn gleu(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    let (mut tp, mut tpfp, mut tpfn) = (0usize, 0usize, 0usize);
    for n in 1..=4 {
        let hyp = ngram_counts(&h, n);
        let refc = ngram_counts(&r, n);
        tpfp += hyp.values().sum::<usize>();
        tpfn += refc.values().sum::<usize>();
        tp += hyp
            .iter()
            .map(|(g, &c)| c.min(refc.get(g).copied().unwrap_or(0)))
            .sum::<usize>();
    }
    let all = tpfp.max(tpfn);
    if all == 0 {
        0.0
    } else {
        tp as f64 / all as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        assert_eq!(gleu("a b", "a b"), 1.0);
        // "a b c" vs "a b d": hyp grams a b d, ab bd, abd (6); matches a, b, ab (3).
        assert_eq!(gleu("a b c", "a b d"), 0.5);
        assert_eq!(gleu("", ""), 0.0);
    }
}
