//! Fuzzy match: rapidfuzz's `fuzz.ratio`, the normalised Indel similarity.

use super::lcs_len;

/// rapidfuzz's `fuzz.ratio(a, b) / 100`: `1 − d / (|a| + |b|)` where `d = |a| + |b| −
/// 2·LCS(a, b)` is the Indel distance (insertions and deletions only) over Unicode code
/// points; 1 when both strings are empty. No preprocessing (rapidfuzz 3's default).
pub fn fuzzy_ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let distance = total - 2 * lcs_len(&a, &b);
    1.0 - distance as f64 / total as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_values() {
        // rapidfuzz's documentation: ratio("this is a test", "this is a test!") = 96.55…
        assert!((fuzzy_ratio("this is a test", "this is a test!") - 28.0 / 29.0).abs() < 1e-12);
        assert_eq!(fuzzy_ratio("", ""), 1.0);
        assert_eq!(fuzzy_ratio("abc", ""), 0.0);
        assert_eq!(fuzzy_ratio("abc", "abc"), 1.0);
    }
}
