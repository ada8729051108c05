//! Cohen's kappa: chance-corrected agreement between two annotators.
//!
//! Cohen, J. (1960), "A coefficient of agreement for nominal scales", *Educational and
//! Psychological Measurement* 20(1), 37–46; weighted form: Cohen, J. (1968), "Weighted
//! kappa", *Psychological Bulletin* 70(4), 213–220. Over the `n` items both annotators
//! labelled, with `O[a][b]` the share of items labelled `a` by the first and `b` by the
//! second, and `r_a`, `c_b` the two annotators' label shares:
//!
//! ```text
//! E[a][b]   = r_a · c_b                            (agreement expected by chance)
//! D_o       = Σ_{a,b} w_ab O[a][b]                 (observed disagreement)
//! D_e       = Σ_{a,b} w_ab E[a][b]                 (chance disagreement)
//! κ         = 1 − D_o / D_e
//! weights   unweighted w_ab = [a ≠ b]   →   κ = (p_o − p_e) / (1 − p_e),
//!                                           p_o = 1 − D_o, p_e = 1 − D_e
//!           linear     w_ab = |a − b|
//!           quadratic  w_ab = (a − b)²
//! ```
//!
//! These are the definitions of `sklearn.metrics.cohen_kappa_score` (weights `None`,
//! `"linear"`, `"quadratic"`). κ is undefined when `D_e = 0`, i.e. when both annotators
//! used one and the same single label for every item; that is an error here (sklearn
//! returns NaN).

use serde::{Deserialize, Serialize};

use super::{Annotations, LabellingError};

/// Disagreement weights of Cohen's kappa.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum KappaWeights {
    /// Every disagreement counts 1 (Cohen 1960).
    Unweighted,
    /// Disagreement `|a − b|` between ordered labels.
    Linear,
    /// Disagreement `(a − b)²` between ordered labels.
    Quadratic,
}

impl KappaWeights {
    fn weight(self, a: usize, b: usize) -> f64 {
        let d = a.abs_diff(b) as f64;
        match self {
            KappaWeights::Unweighted => f64::from(u8::from(a != b)),
            KappaWeights::Linear => d,
            KappaWeights::Quadratic => d * d,
        }
    }
}

/// Cohen's kappa with its parts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CohenKappa {
    /// κ.
    pub kappa: f64,
    /// `D_o`, the observed (weighted) disagreement; `1 − p_o` when unweighted.
    pub observed_disagreement: f64,
    /// `D_e`, the disagreement expected by chance; `1 − p_e` when unweighted.
    pub expected_disagreement: f64,
    /// Number of items both annotators labelled.
    pub items: usize,
}

/// Cohen's kappa between two label sequences over the same items (`first[i]` and
/// `second[i]` label item `i`), labels in `0..n_classes`.
///
/// Errors: different lengths, no item, a label out of range, or κ undefined.
pub fn cohen_kappa(
    first: &[usize],
    second: &[usize],
    n_classes: usize,
    weights: KappaWeights,
) -> Result<CohenKappa, LabellingError> {
    if first.len() != second.len() {
        return Err(LabellingError::LengthMismatch {
            what: "Cohen's kappa label sequences",
            left: first.len(),
            right: second.len(),
        });
    }
    if first.is_empty() {
        return Err(LabellingError::Empty {
            what: "Cohen's kappa items",
            expected: "at least one item labelled by both annotators",
        });
    }
    let n = first.len() as f64;
    let mut observed = vec![vec![0.0; n_classes]; n_classes];
    for (index, (&a, &b)) in first.iter().zip(second).enumerate() {
        for (field, got) in [("first", a), ("second", b)] {
            if got >= n_classes {
                return Err(LabellingError::OutOfRange {
                    what: "Cohen's kappa item",
                    index,
                    field,
                    got,
                    bound: n_classes,
                });
            }
        }
        observed[a][b] += 1.0 / n;
    }
    let rows: Vec<f64> = observed.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<f64> = (0..n_classes)
        .map(|b| observed.iter().map(|r| r[b]).sum())
        .collect();
    let (mut d_o, mut d_e) = (0.0, 0.0);
    for a in 0..n_classes {
        for b in 0..n_classes {
            let w = weights.weight(a, b);
            d_o += w * observed[a][b];
            d_e += w * rows[a] * cols[b];
        }
    }
    if d_e <= 0.0 {
        return Err(LabellingError::Undefined {
            statistic: "Cohen's kappa",
            reason: format!(
                "no disagreement is expected by chance (both annotators gave every one of the \
                 {} items the same single label)",
                first.len()
            ),
        });
    }
    Ok(CohenKappa {
        kappa: 1.0 - d_o / d_e,
        observed_disagreement: d_o,
        expected_disagreement: d_e,
        items: first.len(),
    })
}

/// Cohen's kappa between annotators `first` and `second` of `annotations`, over the items
/// both labelled.
///
/// Errors: fewer than 2 annotators, `first == second`, an annotator out of range, a
/// repeated label, no common item, or κ undefined.
pub fn cohen_kappa_annotators(
    annotations: &Annotations,
    first: usize,
    second: usize,
    weights: KappaWeights,
) -> Result<CohenKappa, LabellingError> {
    const METHOD: &str = "Cohen's kappa";
    if annotations.n_annotators() < 2 {
        return Err(LabellingError::TooFewAnnotators {
            method: METHOD,
            expected: "2",
            got: annotations.n_annotators(),
        });
    }
    if first == second {
        return Err(LabellingError::TooFewAnnotators {
            method: METHOD,
            expected: "2 distinct",
            got: 1,
        });
    }
    for (field, got) in [("first", first), ("second", second)] {
        if got >= annotations.n_annotators() {
            return Err(LabellingError::OutOfRange {
                what: "Cohen's kappa annotator",
                index: 0,
                field,
                got,
                bound: annotations.n_annotators(),
            });
        }
    }
    let matrix = annotations.label_matrix(METHOD)?;
    let (a, b): (Vec<usize>, Vec<usize>) = matrix[first]
        .iter()
        .zip(&matrix[second])
        .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
        .unzip();
    cohen_kappa(&a, &b, annotations.n_classes(), weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelling::Annotation;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// Wikipedia, "Cohen's kappa", first worked example: 50 proposals read by A and B;
    /// both Yes 20, A Yes / B No 5, A No / B Yes 10, both No 15:
    /// p_o = 35/50 = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, κ = (0.7 − 0.5)/(1 − 0.5) = 0.4.
    #[test]
    fn wikipedia_fifty_proposals() {
        let (yes, no) = (0, 1);
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (la, lb, n) in [(yes, yes, 20), (yes, no, 5), (no, yes, 10), (no, no, 15)] {
            a.extend(std::iter::repeat_n(la, n));
            b.extend(std::iter::repeat_n(lb, n));
        }
        let k = cohen_kappa(&a, &b, 2, KappaWeights::Unweighted).unwrap();
        assert_relative_eq!(k.kappa, 0.4, epsilon = 1e-12);
        assert_relative_eq!(1.0 - k.observed_disagreement, 0.7, epsilon = 1e-12);
        assert_relative_eq!(1.0 - k.expected_disagreement, 0.5, epsilon = 1e-12);
        assert_eq!(k.items, 50);
    }

    /// Wikipedia, "Cohen's kappa", the two tables with equal agreement (60 of 100) but
    /// different marginals: κ = 0.1304 (45/15/25/15) and κ = 0.2593 (25/35/5/35).
    #[test]
    fn wikipedia_same_agreement_different_marginals() {
        for (cells, want) in [([45, 15, 25, 15], 0.1304), ([25, 35, 5, 35], 0.2593)] {
            let mut a = Vec::new();
            let mut b = Vec::new();
            for ((la, lb), n) in [(0, 0), (0, 1), (1, 0), (1, 1)].into_iter().zip(cells) {
                a.extend(std::iter::repeat_n(la, n));
                b.extend(std::iter::repeat_n(lb, n));
            }
            let k = cohen_kappa(&a, &b, 2, KappaWeights::Unweighted).unwrap();
            assert!((k.kappa - want).abs() < 5e-5, "{} vs {want}", k.kappa);
        }
    }

    #[test]
    fn matches_sklearn_reference() {
        // Fixtures from scripts/labelling_reference.py (sklearn.metrics.cohen_kappa_score).
        let fx: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/labelling/reference.json")).unwrap();
        let cases = fx["cohen_kappa"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let labels = |k: &str| -> Vec<usize> {
                case[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect()
            };
            let n_classes = case["n_classes"].as_u64().unwrap() as usize;
            let weights = match case["weights"].as_str() {
                None => KappaWeights::Unweighted,
                Some("linear") => KappaWeights::Linear,
                Some("quadratic") => KappaWeights::Quadratic,
                Some(w) => panic!("unknown weights {w}"),
            };
            let k = cohen_kappa(&labels("first"), &labels("second"), n_classes, weights).unwrap();
            assert_relative_eq!(k.kappa, case["kappa"].as_f64().unwrap(), epsilon = 1e-12);
        }
    }

    #[test]
    fn from_annotations_uses_common_items_only() {
        // Annotator 2 labels only items 0 and 1; item 2 lacks annotator 1.
        let a = Annotations::new(
            3,
            3,
            2,
            vec![
                Annotation::new(0, 0, 0),
                Annotation::new(0, 1, 0),
                Annotation::new(1, 0, 1),
                Annotation::new(1, 1, 1),
                Annotation::new(2, 0, 1),
                Annotation::new(0, 2, 1),
                Annotation::new(1, 2, 1),
            ],
        )
        .unwrap();
        let k = cohen_kappa_annotators(&a, 0, 1, KappaWeights::Unweighted).unwrap();
        assert_eq!((k.items, k.kappa), (2, 1.0));
        // Annotators 0 and 2 on items 0, 1: labels (0,1), (1,1): p_o = 1/2,
        // p_e = (1/2)(0) + (1/2)(1) = 1/2 → κ = 0.
        let k = cohen_kappa_annotators(&a, 0, 2, KappaWeights::Unweighted).unwrap();
        assert_relative_eq!(k.kappa, 0.0);
        assert!(matches!(
            cohen_kappa_annotators(&a, 1, 1, KappaWeights::Unweighted),
            Err(LabellingError::TooFewAnnotators { .. })
        ));
        let one = Annotations::new(1, 1, 2, vec![Annotation::new(0, 0, 0)]).unwrap();
        assert!(matches!(
            cohen_kappa_annotators(&one, 0, 1, KappaWeights::Unweighted),
            Err(LabellingError::TooFewAnnotators { got: 1, .. })
        ));
    }

    #[test]
    fn undefined_and_malformed_input_are_errors() {
        assert!(matches!(
            cohen_kappa(&[1, 1, 1], &[1, 1, 1], 2, KappaWeights::Unweighted),
            Err(LabellingError::Undefined { .. })
        ));
        assert!(matches!(
            cohen_kappa(&[0, 1], &[0], 2, KappaWeights::Unweighted),
            Err(LabellingError::LengthMismatch { .. })
        ));
        assert!(matches!(
            cohen_kappa(&[], &[], 2, KappaWeights::Unweighted),
            Err(LabellingError::Empty { .. })
        ));
        assert!(matches!(
            cohen_kappa(&[0, 2], &[0, 1], 2, KappaWeights::Unweighted),
            Err(LabellingError::OutOfRange {
                index: 1,
                field: "first",
                ..
            })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn identical_ratings_give_one_and_kappa_is_symmetric(
            pairs in prop::collection::vec((0usize..4, 0usize..4), 2..60),
        ) {
            let (a, b): (Vec<usize>, Vec<usize>) = pairs.into_iter().unzip();
            for w in [KappaWeights::Unweighted, KappaWeights::Linear, KappaWeights::Quadratic] {
                if a.iter().any(|&x| x != a[0]) {
                    prop_assert!((cohen_kappa(&a, &a, 4, w).unwrap().kappa - 1.0).abs() < 1e-12);
                }
                match (cohen_kappa(&a, &b, 4, w), cohen_kappa(&b, &a, 4, w)) {
                    (Ok(x), Ok(y)) => {
                        prop_assert!((x.kappa - y.kappa).abs() < 1e-12);
                        prop_assert!(x.kappa <= 1.0 + 1e-12);
                    }
                    (Err(_), Err(_)) => {}
                    (x, y) => prop_assert!(false, "{x:?} vs {y:?}"),
                }
            }
        }
    }
}
