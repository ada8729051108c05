//! ROUGE-N and ROUGE-L (Lin 2004), F-measures as Google's `rouge-score` computes them.

use super::{lcs_len, ngram_counts};

/// `rouge-score`'s tokenizer (without stemming): lowercase, every run of characters
/// other than `a-z0-9` is a separator (so non-ASCII letters are dropped).
pub fn rouge_tokenize(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit()))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn f_measure(overlap: usize, pred_total: usize, target_total: usize) -> f64 {
    let precision = overlap as f64 / pred_total.max(1) as f64;
    let recall = overlap as f64 / target_total.max(1) as f64;
    if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    }
}

/// ROUGE-N F-measure of `prediction` against `target`, as
/// `rouge_scorer.RougeScorer(["rougeN"]).score(target, prediction).fmeasure`: with
/// clipped n-gram overlap `o`, `P = o / #pred n-grams`, `R = o / #target n-grams` (each
/// denominator at least 1), `F = 2PR / (P + R)` (0 when `P + R = 0`).
pub fn rouge_n(target: &str, prediction: &str, n: usize) -> f64 {
    let t = rouge_tokenize(target);
    let p = rouge_tokenize(prediction);
    let tc = ngram_counts(&t, n);
    let pc = ngram_counts(&p, n);
    let overlap: usize = tc
        .iter()
        .map(|(g, &c)| c.min(pc.get(g).copied().unwrap_or(0)))
        .sum();
    f_measure(overlap, pc.values().sum(), tc.values().sum())
}

/// ROUGE-L F-measure, as `RougeScorer(["rougeL"])`: `P = LCS/|pred|`, `R = LCS/|target|`
/// over tokens, `F = 2PR / (P + R)`; 0 when either text has no token.
pub fn rouge_l(target: &str, prediction: &str) -> f64 {
    let t = rouge_tokenize(target);
    let p = rouge_tokenize(prediction);
    if t.is_empty() || p.is_empty() {
        return 0.0;
    }
    f_measure(lcs_len(&t, &p), p.len(), t.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        assert_eq!(
            rouge_tokenize("Hello, World! 42x"),
            vec!["hello", "world", "42x"]
        );
        // target "a b c", prediction "a b d": unigram overlap 2 of 3 → F = 2/3.
        assert!((rouge_n("a b c", "a b d", 1) - 2.0 / 3.0).abs() < 1e-12);
        assert!((rouge_n("a b c", "a b d", 2) - 0.5).abs() < 1e-12);
        assert!((rouge_l("a b c d", "a c d") - 2.0 * 0.75 / 1.75).abs() < 1e-12);
        assert_eq!(rouge_n("", "", 1), 0.0);
    }
}
