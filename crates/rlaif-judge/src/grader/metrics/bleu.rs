//! BLEU (Papineni et al. 2002), sentence level, as NLTK's `sentence_bleu` computes it.

use super::{ngram_counts, words};

/// Sentence BLEU of `hypothesis` against one `reference`, as NLTK's
/// `sentence_bleu([reference.split()], hypothesis.split())`: uniform weights over 1- to
/// 4-gram modified precisions `p_n = Σ min(count_hyp, count_ref) / max(1, Σ count_hyp)`,
/// brevity penalty `BP = 1` if `c > r`, `0` if `c = 0`, else `exp(1 − r/c)` (`c`, `r` the
/// hypothesis and reference lengths), and
///
/// ```text
/// BLEU = BP · exp(Σ_n ¼ · ln p_n)
/// ```
///
/// with NLTK's default "no smoothing": 0 when no unigram matches, and a zero higher-order
/// precision replaced by the smallest normal `f64` (so the score is ~1e-77, i.e. 0).
pub fn bleu(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    let mut precisions = [0.0f64; 4];
    let mut first_numerator = 0;
    for n in 1..=4 {
        let hyp = ngram_counts(&h, n);
        let refc = ngram_counts(&r, n);
        let numerator: usize = hyp
            .iter()
            .map(|(g, &c)| c.min(refc.get(g).copied().unwrap_or(0)))
            .sum();
        let denominator = hyp.values().sum::<usize>().max(1);
        if n == 1 {
            first_numerator = numerator;
        }
        precisions[n - 1] = if numerator == 0 {
            f64::MIN_POSITIVE
        } else {
            numerator as f64 / denominator as f64
        };
    }
    let (c, rl) = (h.len(), r.len());
    let bp = if c > rl {
        1.0
    } else if c == 0 {
        0.0
    } else {
        (1.0 - rl as f64 / c as f64).exp()
    };
    if first_numerator == 0 {
        return 0.0;
    }
    let s: f64 = precisions.iter().map(|p| 0.25 * p.ln()).sum();
    bp * s.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        assert_eq!(
            bleu("the cat sat on the mat", "the cat sat on the mat"),
            1.0
        );
        assert_eq!(bleu("a b c d", "e f g h"), 0.0);
        assert_eq!(bleu("a b c d", ""), 0.0);
        // "the cat sat on a mat" vs "the cat sat on the mat":
        // p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3, BP = 1.
        let expected = (0.25f64
            * ((5.0f64 / 6.0).ln() + 0.6f64.ln() + 0.5f64.ln() + (1.0f64 / 3.0).ln()))
        .exp();
        assert!((bleu("the cat sat on the mat", "the cat sat on a mat") - expected).abs() < 1e-12);
    }
}
