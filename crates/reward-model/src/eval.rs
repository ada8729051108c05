//! Evaluation of a reward model on preference pairs: pairwise accuracy, mean margin,
//! calibration (expected calibration error of `σ(Δr)`), and reward distribution statistics,
//! written as a JSON report.

use std::path::Path;

use burn::tensor::Device;
use pref_data::{BatchSource, PairBatch};
use serde::{Deserialize, Serialize};

use crate::error::{RmError, RmResult};
use crate::model::RewardModel;

/// Rewards of evaluated pairs, in pair order: the first completion (`chosen`, the `a` of a
/// soft pair), the second (`rejected`), and the label `p_chosen` (1 for hard labels).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PairScores {
    /// Reward of the first completion of each pair.
    pub chosen: Vec<f32>,
    /// Reward of the second completion.
    pub rejected: Vec<f32>,
    /// Probability that the first completion is preferred.
    pub p_chosen: Vec<f32>,
}

impl PairScores {
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.chosen.len()
    }

    /// Whether there is no pair.
    pub fn is_empty(&self) -> bool {
        self.chosen.is_empty()
    }

    /// Checks that the three columns have the same length and hold finite values, and that
    /// labels lie in `[0, 1]`.
    pub fn validate(&self) -> RmResult<()> {
        let n = self.chosen.len();
        for (what, len) in [
            ("rejected", self.rejected.len()),
            ("p_chosen", self.p_chosen.len()),
        ] {
            if len != n {
                return Err(RmError::Shape {
                    what,
                    expected: format!("{n} values (one per pair)"),
                    got: format!("{len}"),
                });
            }
        }
        let columns = [
            ("chosen", &self.chosen),
            ("rejected", &self.rejected),
            ("p_chosen", &self.p_chosen),
        ];
        for (what, column) in columns {
            if let Some(i) = column.iter().position(|v| !v.is_finite()) {
                return Err(RmError::Data {
                    what,
                    message: format!("pair {i}: non-finite value {}", column[i]),
                });
            }
        }
        if let Some(i) = self.p_chosen.iter().position(|p| !(0.0..=1.0).contains(p)) {
            return Err(RmError::Data {
                what: "p_chosen",
                message: format!(
                    "pair {i}: expected a probability in [0, 1], got {}",
                    self.p_chosen[i]
                ),
            });
        }
        Ok(())
    }
}

/// Scores every pair of `data` with `model` (use a `model.valid()` copy: inputs are placed
/// on `device` without autodiff), in the pairs' original order ([`PairBatch::indices`]).
pub fn score_pairs<M: RewardModel + ?Sized>(
    model: &M,
    data: &dyn BatchSource<Batch = PairBatch>,
    device: &Device,
) -> PairScores {
    let device = device.clone().without_autodiff();
    let mut rows: Vec<(usize, f32, f32, f32)> = Vec::new();
    for i in 0..data.len() {
        let batch = data.batch(i, &device);
        let b = batch.num_pairs();
        let r: Vec<f32> = model
            .score(batch.ids, batch.attention_mask)
            .try_into_vec_as()
            .unwrap_or_default();
        let p: Vec<f32> = batch.p_chosen.try_into_vec_as().unwrap_or_default();
        for (j, &index) in batch.indices.iter().enumerate() {
            let at = |v: &[f32], k: usize| v.get(k).copied().unwrap_or(f32::NAN);
            rows.push((index, at(&r, j), at(&r, b + j), at(&p, j)));
        }
    }
    rows.sort_by_key(|row| row.0);
    PairScores {
        chosen: rows.iter().map(|r| r.1).collect(),
        rejected: rows.iter().map(|r| r.2).collect(),
        p_chosen: rows.iter().map(|r| r.3).collect(),
    }
}

/// Summary statistics of a set of values (quantiles interpolate linearly, as NumPy's default).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RewardStats {
    /// Number of values.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Standard deviation (population, `1/n`).
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// 5th percentile.
    pub p05: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub median: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
    /// Largest value.
    pub max: f64,
}

impl RewardStats {
    /// Statistics of `values` (NaN fields when empty).
    pub fn of(values: &[f32]) -> Self {
        let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let q = |p: f64| quantile(&v, p);
        Self {
            count: n,
            mean,
            std: var.sqrt(),
            min: v.first().copied().unwrap_or(f64::NAN),
            p05: q(0.05),
            p25: q(0.25),
            median: q(0.5),
            p75: q(0.75),
            p95: q(0.95),
            max: v.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// Linear-interpolation quantile of sorted values.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n => {
            let x = p * (n - 1) as f64;
            let (i, f) = (x.floor() as usize, x - x.floor());
            if i + 1 < n {
                sorted[i] + f * (sorted[i + 1] - sorted[i])
            } else {
                sorted[n - 1]
            }
        }
    }
}

/// One bin of a reliability diagram.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of the predicted probability.
    pub lo: f64,
    /// Upper edge.
    pub hi: f64,
    /// Predictions in the bin.
    pub count: usize,
    /// Mean predicted probability in the bin (NaN when empty).
    pub mean_predicted: f64,
    /// Mean target (empirical frequency) in the bin (NaN when empty).
    pub empirical: f64,
}

/// Expected calibration error of the Bradley-Terry preference probabilities, and its bins.
///
/// Each pair gives the prediction `q = σ(r_a − r_b)` that `a` is preferred, with target
/// `p` (its label), and the mirrored prediction `1 − q` with target `1 − p`, so the result
/// does not depend on which completion is listed first. With `M` equal-width bins over
/// `[0, 1]` (the last one closed):
///
/// ```text
/// ECE = Σ_m (|B_m| / 2N) · | mean_{B_m}(target) − mean_{B_m}(prediction) |
/// ```
///
/// (Naeini et al. 2015; Guo et al. 2017, eq. 3). For hard labels and even `M` this equals the
/// usual confidence form — bins of `max(q, 1 − q)` over `[0.5, 1]`, accuracy vs confidence —
/// since the two halves mirror each other.
pub fn calibration(scores: &PairScores, bins: usize) -> (f64, Vec<CalibrationBin>) {
    let bins = bins.max(1);
    let mut sum_q = vec![0.0f64; bins];
    let mut sum_y = vec![0.0f64; bins];
    let mut count = vec![0usize; bins];
    let mut put = |q: f64, y: f64| {
        let b = ((q * bins as f64) as usize).min(bins - 1);
        sum_q[b] += q;
        sum_y[b] += y;
        count[b] += 1;
    };
    for i in 0..scores.len() {
        let delta = (scores.chosen[i] - scores.rejected[i]) as f64;
        // σ(|Δ|) and 1 − σ(|Δ|): the same two predictions whichever completion is first.
        let hi = sigmoid(delta.abs());
        let (q, p) = (hi, scores.p_chosen[i] as f64);
        let (p_hi, p_lo) = if delta >= 0.0 {
            (p, 1.0 - p)
        } else {
            (1.0 - p, p)
        };
        put(q, p_hi);
        put(1.0 - q, p_lo);
    }
    let total: usize = count.iter().sum();
    let mut ece = 0.0;
    let table = (0..bins)
        .map(|b| {
            let n = count[b];
            let (mq, my) = if n > 0 {
                (sum_q[b] / n as f64, sum_y[b] / n as f64)
            } else {
                (f64::NAN, f64::NAN)
            };
            if n > 0 {
                ece += n as f64 / total as f64 * (my - mq).abs();
            }
            CalibrationBin {
                lo: b as f64 / bins as f64,
                hi: (b + 1) as f64 / bins as f64,
                count: n,
                mean_predicted: mq,
                empirical: my,
            }
        })
        .collect();
    (if total == 0 { f64::NAN } else { ece }, table)
}

/// `σ(x)` for `x ≥ 0`.
fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Wilson score interval for a proportion `k / n` at `z` standard errors.
pub fn wilson_interval(k: f64, n: f64, z: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let p = k / n;
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// What [`evaluate_scores`] reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Pairs evaluated.
    pub pairs: usize,
    /// Pairs with a preferred side (`p_chosen ≠ 0.5`): the accuracy's denominator.
    pub decided: usize,
    /// Fraction of decided pairs whose higher reward goes to the preferred completion; a tie
    /// (equal rewards) counts one half.
    pub accuracy: f64,
    /// 95 % Wilson interval of the accuracy.
    pub accuracy_ci95: (f64, f64),
    /// Pairs with exactly equal rewards.
    pub ties: usize,
    /// Mean of `r_chosen − r_rejected` over all pairs.
    pub mean_margin: f64,
    /// Mean soft-label cross-entropy `−[p log σ(Δ) + (1−p) log σ(−Δ)]` (the Bradley-Terry
    /// loss for hard labels).
    pub log_loss: f64,
    /// Expected calibration error of `σ(Δ)` (see [`calibration`]).
    pub ece: f64,
    /// The reliability diagram behind `ece`.
    pub calibration_bins: Vec<CalibrationBin>,
    /// Rewards of the first completions.
    pub chosen: RewardStats,
    /// Rewards of the second completions.
    pub rejected: RewardStats,
    /// All rewards.
    pub all: RewardStats,
    /// Differences `r_chosen − r_rejected`.
    pub margin: RewardStats,
}

/// Pairwise accuracy, mean margin, log-loss, calibration (`bins` bins) and reward statistics
/// of `scores`. Errors on mismatched columns, non-finite rewards or labels outside `[0, 1]`.
pub fn evaluate_scores(scores: &PairScores, bins: usize) -> RmResult<EvalReport> {
    scores.validate()?;
    let n = scores.len();
    let (mut decided, mut correct, mut ties) = (0usize, 0.0f64, 0usize);
    let mut log_loss = 0.0f64;
    let margins: Vec<f32> = (0..n)
        .map(|i| scores.chosen[i] - scores.rejected[i])
        .collect();
    for (&d, &p) in margins.iter().zip(&scores.p_chosen) {
        let (d, p) = (d as f64, p as f64);
        if d == 0.0 {
            ties += 1;
        }
        if p != 0.5 {
            decided += 1;
            let oriented = if p > 0.5 { d } else { -d };
            correct += if oriented > 0.0 {
                1.0
            } else if oriented == 0.0 {
                0.5
            } else {
                0.0
            };
        }
        // −log σ(x) = softplus(−x), computed stably.
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        log_loss += p * softplus(-d) + (1.0 - p) * softplus(d);
    }
    let (ece, calibration_bins) = calibration(scores, bins);
    let all: Vec<f32> = scores
        .chosen
        .iter()
        .chain(&scores.rejected)
        .copied()
        .collect();
    let accuracy = if decided > 0 {
        correct / decided as f64
    } else {
        f64::NAN
    };
    Ok(EvalReport {
        pairs: n,
        decided,
        accuracy,
        accuracy_ci95: wilson_interval(correct, decided as f64, 1.96),
        ties,
        mean_margin: RewardStats::of(&margins).mean,
        log_loss: log_loss / n as f64,
        ece,
        calibration_bins,
        chosen: RewardStats::of(&scores.chosen),
        rejected: RewardStats::of(&scores.rejected),
        all: RewardStats::of(&all),
        margin: RewardStats::of(&margins),
    })
}

impl EvalReport {
    /// Writes the report as pretty JSON to `path` (atomically; NaN become `null`).
    pub fn write_json(&self, path: &Path) -> RmResult<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| RmError::json(path, e))?;
        lm::checkpoint::write_atomic(path, &bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    fn hard(chosen: &[f32], rejected: &[f32]) -> PairScores {
        PairScores {
            chosen: chosen.to_vec(),
            rejected: rejected.to_vec(),
            p_chosen: vec![1.0; chosen.len()],
        }
    }

    #[test]
    fn hand_computed_report() {
        // Δ = 2, −1, 0, 1: correct, wrong, tie (½), correct → 2.5 / 4.
        let s = hard(&[3.0, 0.0, 1.0, 2.0], &[1.0, 1.0, 1.0, 1.0]);
        let r = evaluate_scores(&s, 10).unwrap();
        assert_eq!((r.pairs, r.decided, r.ties), (4, 4, 1));
        assert_relative_eq!(r.accuracy, 0.625);
        assert_relative_eq!(r.mean_margin, 0.5);
        let sp = |x: f64| (1.0 + (-x).exp()).ln();
        let want = (sp(2.0) + sp(-1.0) + sp(0.0) + sp(1.0)) / 4.0;
        assert_relative_eq!(r.log_loss, want, epsilon = 1e-9);
        assert_relative_eq!(r.chosen.median, 1.5);
        assert_relative_eq!(r.all.max, 3.0);
        assert_eq!(r.margin.count, 4);
    }

    #[test]
    fn hand_computed_ece() {
        // One pair with σ(Δ) = 0.75 (Δ = ln 3), label 1: predictions 0.75 → 1 and
        // 0.25 → 0, each off by 0.25 → ECE 0.25.
        let s = hard(&[3f32.ln()], &[0.0]);
        let (ece, bins) = calibration(&s, 10);
        assert_relative_eq!(ece, 0.25, epsilon = 1e-6);
        assert_eq!((bins[7].count, bins[2].count), (1, 1));
        assert_relative_eq!(bins[7].empirical, 1.0);
        // Soft label equal to the prediction: perfectly calibrated.
        let s = PairScores {
            p_chosen: vec![0.75],
            ..s
        };
        assert!(calibration(&s, 10).0 < 1e-6);
    }

    #[test]
    fn soft_labels_at_one_half_are_not_decided() {
        let s = PairScores {
            chosen: vec![1.0, 1.0, 0.0],
            rejected: vec![0.0, 0.0, 1.0],
            p_chosen: vec![0.5, 0.2, 0.1],
        };
        let r = evaluate_scores(&s, 10).unwrap();
        assert_eq!(r.decided, 2);
        assert_relative_eq!(r.accuracy, 0.5); // pair 1 wrong, pair 2 right
    }

    #[test]
    fn bad_scores_are_errors_naming_the_column() {
        let mut s = hard(&[1.0, 2.0], &[0.0]);
        assert!(
            evaluate_scores(&s, 10)
                .unwrap_err()
                .to_string()
                .contains("rejected")
        );
        s.rejected.push(f32::NAN);
        assert!(
            evaluate_scores(&s, 10)
                .unwrap_err()
                .to_string()
                .contains("pair 1")
        );
        s.rejected[1] = 0.0;
        s.p_chosen[0] = 1.5;
        assert!(
            evaluate_scores(&s, 10)
                .unwrap_err()
                .to_string()
                .contains("p_chosen")
        );
    }

    #[test]
    fn wilson_interval_known_value() {
        // 60 / 100 at z = 1.96 → (0.5020, 0.6906)
        let (lo, hi) = wilson_interval(60.0, 100.0, 1.96);
        assert_relative_eq!(lo, 0.50200, epsilon = 1e-4);
        assert_relative_eq!(hi, 0.69062, epsilon = 1e-4);
    }

    #[test]
    fn report_json_round_trips() {
        let r = evaluate_scores(&hard(&[1.0, 2.0], &[0.0, 3.0]), 4).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        r.write_json(&path).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["pairs"], 2);
        assert_eq!(v["accuracy"], 0.5);
    }

    proptest! {
        #[test]
        fn ece_lies_in_unit_interval_and_accuracy_is_order_free(
            rows in prop::collection::vec((-5.0f32..5.0, -5.0f32..5.0, 0.0f32..=1.0), 1..40),
        ) {
            let s = PairScores {
                chosen: rows.iter().map(|r| r.0).collect(),
                rejected: rows.iter().map(|r| r.1).collect(),
                p_chosen: rows.iter().map(|r| r.2).collect(),
            };
            let r = evaluate_scores(&s, 10).unwrap();
            prop_assert!((0.0..=1.0).contains(&r.ece));
            // Swapping both completions and the label leaves accuracy and ECE unchanged.
            let swapped = PairScores {
                chosen: s.rejected.clone(),
                rejected: s.chosen.clone(),
                p_chosen: s.p_chosen.iter().map(|p| 1.0 - p).collect(),
            };
            let w = evaluate_scores(&swapped, 10).unwrap();
            prop_assert_eq!(r.decided, w.decided);
            if r.decided > 0 {
                prop_assert!((r.accuracy - w.accuracy).abs() < 1e-12);
            }
            prop_assert!((r.ece - w.ece).abs() < 1e-6);
        }
    }
}
