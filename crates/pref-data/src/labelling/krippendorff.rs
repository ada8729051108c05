//! Krippendorff's alpha: agreement among any number of annotators, with missing labels.
//!
//! Krippendorff, K. (2011), "Computing Krippendorff's Alpha-Reliability", Annenberg School
//! for Communication, University of Pennsylvania (section C for many observers with
//! missing values; section E for the difference functions). The input is a reliability
//! matrix: one row per annotator ("observer", "coder"), one column per item ("unit"),
//! `None` where an annotator did not label an item. With `m_u` the number of values in unit
//! `u` (units with `m_u < 2` are not pairable and are left out) and `n_uc` the number of
//! values `c` in unit `u`:
//!
//! ```text
//! coincidences  o_ck = Σ_u n_uc (n_uk − [c = k]) / (m_u − 1)
//! marginals     n_c  = Σ_k o_ck,      n = Σ_c n_c   (the number of pairable values)
//! D_o           = (1/n) Σ_{c,k} o_ck δ²_ck
//! D_e           = 1/(n(n − 1)) Σ_{c,k} n_c n_k δ²_ck
//! α             = 1 − D_o / D_e
//!
//! δ²_ck  nominal   [c ≠ k]
//!        ordinal   (Σ_{g=c..k} n_g − (n_c + n_k)/2)²      (c ≤ k, values in sorted order)
//!        interval  (c − k)²
//!        ratio     ((c − k)/(c + k))²
//! ```
//!
//! Values are compared as numbers: the distinct values that occur form the value domain
//! (as in the `krippendorff` PyPI package). α is undefined when no unit is pairable, or
//! when `D_e = 0` (all pairable values are equal); both are errors.

use serde::{Deserialize, Serialize};

use super::{Annotations, LabellingError};

/// Level of measurement, which sets the difference function `δ²`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    /// Categories without order.
    Nominal,
    /// Ordered categories; differences depend on how many values lie between.
    Ordinal,
    /// Numbers with meaningful differences.
    Interval,
    /// Non-negative numbers with a meaningful zero.
    Ratio,
}

/// Krippendorff's alpha with its parts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct KrippendorffAlpha {
    /// α.
    pub alpha: f64,
    /// `D_o`, the observed disagreement.
    pub observed_disagreement: f64,
    /// `D_e`, the disagreement expected by chance.
    pub expected_disagreement: f64,
    /// `n`, the number of pairable values.
    pub pairable_values: f64,
    /// Units with at least two values.
    pub pairable_units: usize,
}

/// Krippendorff's alpha of a reliability matrix `data[annotator][unit]` (`None` = missing).
///
/// Errors: no annotator or unit, rows of different lengths, fewer than 2 annotators, a
/// non-finite value (or a negative one at the ratio level), no pairable unit, or `D_e = 0`.
pub fn krippendorff_alpha(
    data: &[Vec<Option<f64>>],
    level: Level,
) -> Result<KrippendorffAlpha, LabellingError> {
    const METHOD: &str = "Krippendorff's alpha";
    if data.len() < 2 {
        return Err(LabellingError::TooFewAnnotators {
            method: METHOD,
            expected: "at least 2",
            got: data.len(),
        });
    }
    let n_units = data[0].len();
    if n_units == 0 {
        return Err(LabellingError::Empty {
            what: "Krippendorff's alpha units",
            expected: "at least one unit",
        });
    }
    for row in data {
        if row.len() != n_units {
            return Err(LabellingError::LengthMismatch {
                what: "Krippendorff's alpha reliability matrix rows",
                left: n_units,
                right: row.len(),
            });
        }
    }
    for (index, v) in data.iter().flatten().flatten().enumerate() {
        let ok = v.is_finite() && (level != Level::Ratio || *v >= 0.0);
        if !ok {
            return Err(LabellingError::InvalidValue {
                what: "Krippendorff's alpha value (row-major, missing values skipped)",
                index,
                expected: if level == Level::Ratio {
                    "a finite number ≥ 0 at the ratio level"
                } else {
                    "a finite number"
                },
                got: *v,
            });
        }
    }

    // Value domain: the distinct values, sorted.
    let mut domain: Vec<f64> = data.iter().flatten().flatten().copied().collect();
    domain.sort_by(f64::total_cmp);
    domain.dedup();
    let v = domain.len();
    let index_of = |x: f64| domain.partition_point(|d| d.total_cmp(&x).is_lt());

    // Coincidence matrix.
    let mut o = vec![vec![0.0f64; v]; v];
    let mut pairable_units = 0;
    let mut counts = vec![0usize; v];
    for u in 0..n_units {
        counts.fill(0);
        let mut m_u = 0usize;
        for row in data {
            if let Some(x) = row[u] {
                counts[index_of(x)] += 1;
                m_u += 1;
            }
        }
        if m_u < 2 {
            continue;
        }
        pairable_units += 1;
        let present: Vec<usize> = (0..v).filter(|&c| counts[c] > 0).collect();
        let w = 1.0 / (m_u - 1) as f64;
        for &c in &present {
            for &k in &present {
                let pairs = counts[c] * (counts[k] - usize::from(c == k));
                o[c][k] += pairs as f64 * w;
            }
        }
    }
    if pairable_units == 0 {
        return Err(LabellingError::Undefined {
            statistic: METHOD,
            reason: "no unit has values from two or more annotators (no pairable values)".into(),
        });
    }
    let n_c: Vec<f64> = o.iter().map(|r| r.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();

    let delta2 = |c: usize, k: usize| -> f64 {
        if c == k {
            return 0.0;
        }
        match level {
            Level::Nominal => 1.0,
            Level::Ordinal => {
                let (lo, hi) = (c.min(k), c.max(k));
                let s: f64 = n_c[lo..=hi].iter().sum::<f64>() - (n_c[c] + n_c[k]) / 2.0;
                s * s
            }
            Level::Interval => (domain[c] - domain[k]).powi(2),
            Level::Ratio => ((domain[c] - domain[k]) / (domain[c] + domain[k])).powi(2),
        }
    };
    let (mut d_o, mut d_e) = (0.0, 0.0);
    for c in 0..v {
        for k in 0..v {
            let d = delta2(c, k);
            if d != 0.0 {
                d_o += o[c][k] * d;
                d_e += n_c[c] * n_c[k] * d;
            }
        }
    }
    d_o /= n;
    d_e /= n * (n - 1.0);
    if d_e <= 0.0 {
        return Err(LabellingError::Undefined {
            statistic: METHOD,
            reason: format!(
                "every one of the {n} pairable values is the same, so no disagreement is \
                 expected by chance"
            ),
        });
    }
    Ok(KrippendorffAlpha {
        alpha: 1.0 - d_o / d_e,
        observed_disagreement: d_o,
        expected_disagreement: d_e,
        pairable_values: n,
        pairable_units,
    })
}

/// Krippendorff's alpha of annotations, each label `c` taken as the number `c` (so the
/// ordinal, interval and ratio levels assume labels are ordered, and equally spaced for
/// interval and ratio).
///
/// Errors: as [`krippendorff_alpha`], and a repeated label of one annotator on one item.
pub fn krippendorff_alpha_annotations(
    annotations: &Annotations,
    level: Level,
) -> Result<KrippendorffAlpha, LabellingError> {
    let matrix = annotations.label_matrix("Krippendorff's alpha")?;
    let data: Vec<Vec<Option<f64>>> = matrix
        .into_iter()
        .map(|row| row.into_iter().map(|l| l.map(|l| l as f64)).collect())
        .collect();
    krippendorff_alpha(&data, level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelling::Annotation;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    /// Krippendorff (2011), section C: 4 observers, 12 units, values 1..5, missing values.
    fn krippendorff_2011_c() -> Vec<Vec<Option<f64>>> {
        let rows: [[i32; 12]; 4] = [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, 0, 0, 0],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, 0, 3],
            [0, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 0],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, 0],
        ];
        rows.iter()
            .map(|r| r.iter().map(|&x| (x > 0).then_some(x as f64)).collect())
            .collect()
    }

    #[test]
    fn krippendorff_2011_worked_example() {
        // The paper's figures: nominal α = 0.743 (section C), and for the same data ordinal
        // 0.815, interval 0.849, ratio 0.797 (section E); n = 40 pairable values in 11 units.
        let d = krippendorff_2011_c();
        let a = krippendorff_alpha(&d, Level::Nominal).unwrap();
        assert!((a.alpha - 0.743).abs() < 5e-4, "{}", a.alpha);
        assert_eq!((a.pairable_values, a.pairable_units), (40.0, 11));
        for (level, want) in [
            (Level::Ordinal, 0.815),
            (Level::Interval, 0.849),
            (Level::Ratio, 0.797),
        ] {
            let a = krippendorff_alpha(&d, level).unwrap();
            assert!((a.alpha - want).abs() < 5e-4, "{level:?}: {}", a.alpha);
        }
    }

    #[test]
    fn krippendorff_2011_binary_two_observers() {
        // Krippendorff (2011), section A: 2 observers, 10 units, binary data, α = 0.095.
        let a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0];
        let b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0];
        let d: Vec<Vec<Option<f64>>> = [a, b]
            .iter()
            .map(|r| r.iter().map(|&x| Some(x as f64)).collect())
            .collect();
        let alpha = krippendorff_alpha(&d, Level::Nominal).unwrap().alpha;
        assert!((alpha - 0.095).abs() < 5e-4, "{alpha}");
    }

    #[test]
    fn matches_krippendorff_package() {
        // Fixtures from scripts/labelling_reference.py (`krippendorff` 0.9 on PyPI).
        let fx: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/labelling/reference.json")).unwrap();
        let cases = fx["krippendorff_alpha"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let data: Vec<Vec<Option<f64>>> = case["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64()).collect())
                .collect();
            for (name, level) in [
                ("nominal", Level::Nominal),
                ("ordinal", Level::Ordinal),
                ("interval", Level::Interval),
                ("ratio", Level::Ratio),
            ] {
                let got = krippendorff_alpha(&data, level).unwrap().alpha;
                let want = case["alpha"][name].as_f64().unwrap();
                assert_relative_eq!(got, want, epsilon = 1e-10);
            }
        }
    }

    #[test]
    fn from_annotations_and_errors() {
        let a = Annotations::new(
            3,
            2,
            3,
            vec![
                Annotation::new(0, 0, 0),
                Annotation::new(0, 1, 0),
                Annotation::new(1, 0, 2),
                Annotation::new(1, 1, 2),
                Annotation::new(2, 0, 1),
            ],
        )
        .unwrap();
        let alpha = krippendorff_alpha_annotations(&a, Level::Nominal).unwrap();
        assert_eq!((alpha.alpha, alpha.pairable_units), (1.0, 2));

        let no_pairs = vec![vec![Some(1.0), None], vec![None, Some(2.0)]];
        assert!(matches!(
            krippendorff_alpha(&no_pairs, Level::Nominal),
            Err(LabellingError::Undefined { .. })
        ));
        let constant = vec![vec![Some(1.0), Some(1.0)], vec![Some(1.0), None]];
        assert!(matches!(
            krippendorff_alpha(&constant, Level::Interval),
            Err(LabellingError::Undefined { .. })
        ));
        assert!(matches!(
            krippendorff_alpha(&[vec![Some(1.0)]], Level::Nominal),
            Err(LabellingError::TooFewAnnotators { got: 1, .. })
        ));
        assert!(matches!(
            krippendorff_alpha(&[vec![Some(1.0)], vec![]], Level::Nominal),
            Err(LabellingError::LengthMismatch { .. })
        ));
        assert!(matches!(
            krippendorff_alpha(&[vec![Some(f64::NAN)], vec![Some(1.0)]], Level::Nominal),
            Err(LabellingError::InvalidValue { .. })
        ));
        assert!(matches!(
            krippendorff_alpha(&[vec![Some(-1.0)], vec![Some(1.0)]], Level::Ratio),
            Err(LabellingError::InvalidValue { .. })
        ));
    }

    fn matrix() -> impl Strategy<Value = Vec<Vec<Option<f64>>>> {
        (2usize..6, 2usize..12).prop_flat_map(|(coders, units)| {
            prop::collection::vec(
                prop::collection::vec(prop::option::weighted(0.7, 0u8..4), units),
                coders,
            )
            .prop_map(|m| {
                m.into_iter()
                    .map(|r| r.into_iter().map(|x| x.map(f64::from)).collect())
                    .collect()
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn symmetric_in_annotator_and_unit_order(data in matrix(), rot in 0usize..6) {
            let mut coders = data.clone();
            coders.reverse();
            let r = rot % coders.len();
            coders.rotate_left(r);
            let units: Vec<Vec<Option<f64>>> = data.iter().map(|row| row.iter().rev().copied().collect()).collect();
            for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
                let a = krippendorff_alpha(&data, level);
                for other in [krippendorff_alpha(&coders, level), krippendorff_alpha(&units, level)] {
                    match (&a, other) {
                        (Ok(x), Ok(y)) => prop_assert!((x.alpha - y.alpha).abs() < 1e-10),
                        (Err(_), Err(_)) => {}
                        (x, y) => prop_assert!(false, "{x:?} vs {y:?}"),
                    }
                }
            }
        }

        #[test]
        fn perfect_agreement_gives_one(values in prop::collection::vec(0u8..4, 2..12), coders in 2usize..5) {
            prop_assume!(values.iter().any(|&x| x != values[0]));
            let row: Vec<Option<f64>> = values.iter().map(|&x| Some(f64::from(x))).collect();
            let data = vec![row; coders];
            for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
                prop_assert!((krippendorff_alpha(&data, level).unwrap().alpha - 1.0).abs() < 1e-12);
            }
        }
    }
}
