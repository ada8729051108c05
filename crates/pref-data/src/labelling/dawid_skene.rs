//! Dawid-Skene: the true label of each item and each annotator's confusion matrix, by EM.
//!
//! Dawid, A. P. and Skene, A. M. (1979), "Maximum Likelihood Estimation of Observer
//! Error-Rates Using the EM Algorithm", *Applied Statistics* 28(1), 20–28. With items `i`,
//! annotators `j`, true class `k`, given label `l`, and `n_ijl` the number of times annotator
//! `j` gave label `l` to item `i`:
//!
//! ```text
//! model       P(item i has class k) = p_k
//!             P(annotator j says l | class k) = π_j[k][l]
//! likelihood  L(p, π) = Π_i Σ_k p_k Π_j Π_l π_j[k][l]^n_ijl                         (DS eq. 2.5)
//!
//! E-step      T_ik = p_k Π_j Π_l π_j[k][l]^n_ijl / Σ_q p_q Π_j Π_l π_j[q][l]^n_ijl  (DS eq. 2.5)
//! M-step      π_j[k][l] = (α + Σ_i T_ik n_ijl) / (Kα + Σ_l' Σ_i T_ik n_ijl')          (DS eq. 2.3)
//!             p_k       = (α + Σ_i T_ik) / (Kα + I)                                    (DS eq. 2.4)
//! start       T_ik = n_ik / n_i, the share of item i's labels that are k (soft majority
//!             vote, DS §3.1)
//! ```
//!
//! `α` is [`DawidSkeneConfig::smoothing`]: 0 gives the maximum-likelihood EM of the paper;
//! `α > 0` (Laplace smoothing) is the MAP EM under symmetric Dirichlet(1 + α) priors on every
//! row of π and on p, and keeps rates of never-seen confusions away from exactly 0. EM never
//! decreases the objective it climbs, `log L` plus, when `α > 0`,
//! `α (Σ_{j,k,l} log π_j[k][l] + Σ_k log p_k)`; [`DawidSkeneFit::log_likelihood`] records it
//! after every iteration (tested non-decreasing). Items with no label play no part (`I` counts
//! labelled items only) and get the prior `p` as posterior.
//!
//! One iteration is one M-step (from the current `T`) followed by one E-step, so the fit's
//! posteriors are those of its returned parameters.

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use super::{Annotations, LabellingError};

/// Settings of the Dawid-Skene EM.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DawidSkeneConfig {
    /// Most EM iterations (≥ 1). Default 100.
    pub max_iterations: usize,
    /// Stop when an iteration raises the objective by at most `tolerance · max(1, |objective|)`
    /// (≥ 0). Default 1e-10.
    pub tolerance: f64,
    /// Laplace smoothing `α ≥ 0` added to every confusion count and class count. Default 0
    /// (maximum likelihood, as in the paper).
    pub smoothing: f64,
}

impl Default for DawidSkeneConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl DawidSkeneConfig {
    /// The defaults: 100 iterations, tolerance 1e-10, no smoothing.
    pub fn new() -> Self {
        Self {
            max_iterations: 100,
            tolerance: 1e-10,
            smoothing: 0.0,
        }
    }

    /// Sets [`max_iterations`](Self::max_iterations).
    pub fn with_max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }

    /// Sets [`tolerance`](Self::tolerance).
    pub fn with_tolerance(mut self, tolerance: f64) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets [`smoothing`](Self::smoothing).
    pub fn with_smoothing(mut self, smoothing: f64) -> Self {
        self.smoothing = smoothing;
        self
    }

    /// Validates the settings.
    pub fn init(&self) -> Result<DawidSkene, LabellingError> {
        let bad = |field: &str, expected: &str, got: String| LabellingError::Config {
            config: "DawidSkeneConfig",
            source: ConfigError::new(field, expected, got),
        };
        if self.max_iterations == 0 {
            return Err(bad("max_iterations", "at least 1", "0".into()));
        }
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(bad(
                "tolerance",
                "a finite number ≥ 0",
                self.tolerance.to_string(),
            ));
        }
        if !(self.smoothing.is_finite() && self.smoothing >= 0.0) {
            return Err(bad(
                "smoothing",
                "a finite number ≥ 0",
                self.smoothing.to_string(),
            ));
        }
        Ok(DawidSkene { config: *self })
    }
}

/// A validated Dawid-Skene estimator; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DawidSkene {
    config: DawidSkeneConfig,
}

/// The fitted model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DawidSkeneFit {
    /// `posteriors[i][k] = T_ik`, the probability that item `i` has class `k`.
    pub posteriors: Vec<Vec<f64>>,
    /// `confusion[j][k][l] = π_j[k][l]`, the probability that annotator `j` says `l` when the
    /// class is `k`. Rows of an annotator with no label (or of a class with no mass, when
    /// unsmoothed) are uniform.
    pub confusion: Vec<Vec<Vec<f64>>>,
    /// `priors[k] = p_k`.
    pub priors: Vec<f64>,
    /// The objective after each iteration: the log-likelihood, plus the log-prior term when
    /// smoothing is on. Never decreases (up to rounding).
    pub log_likelihood: Vec<f64>,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the tolerance was met before `max_iterations`.
    pub converged: bool,
}

impl DawidSkeneFit {
    /// Most probable class of each item (lowest class on an exact tie).
    pub fn labels(&self) -> Vec<usize> {
        self.posteriors
            .iter()
            .map(|t| {
                let mut best = 0;
                for (k, &v) in t.iter().enumerate() {
                    if v > t[best] {
                        best = k;
                    }
                }
                best
            })
            .collect()
    }

    /// Annotator `j`'s estimated accuracy `Σ_k p_k π_j[k][k]`.
    pub fn accuracy(&self, annotator: usize) -> f64 {
        self.priors
            .iter()
            .enumerate()
            .map(|(k, p)| p * self.confusion[annotator][k][k])
            .sum()
    }
}

impl DawidSkene {
    /// The settings.
    pub fn config(&self) -> &DawidSkeneConfig {
        &self.config
    }

    /// Runs EM from the soft majority vote.
    ///
    /// Errors: fewer than 2 classes.
    pub fn fit(&self, annotations: &Annotations) -> Result<DawidSkeneFit, LabellingError> {
        let k_classes = annotations.n_classes();
        if k_classes < 2 {
            return Err(LabellingError::Config {
                config: "Annotations",
                source: ConfigError::new(
                    "n_classes",
                    "at least 2 classes for Dawid-Skene",
                    k_classes,
                ),
            });
        }
        let n_items = annotations.n_items();
        let n_annotators = annotations.n_annotators();
        let alpha = self.config.smoothing;

        // Observations per item, as (annotator, label); repeats allowed.
        let mut obs: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n_items];
        for a in annotations.as_slice() {
            obs[a.item].push((a.annotator, a.label));
        }
        let labelled: Vec<usize> = (0..n_items).filter(|&i| !obs[i].is_empty()).collect();

        // Start: soft majority vote.
        let mut t = vec![vec![0.0; k_classes]; n_items];
        for &i in &labelled {
            let w = 1.0 / obs[i].len() as f64;
            for &(_, l) in &obs[i] {
                t[i][l] += w;
            }
        }

        let mut priors = vec![0.0; k_classes];
        let mut confusion = vec![vec![vec![0.0; k_classes]; k_classes]; n_annotators];
        let mut trace = Vec::new();
        let mut converged = false;
        let mut iterations = 0;
        while iterations < self.config.max_iterations {
            iterations += 1;
            m_step(&t, &obs, &labelled, alpha, &mut priors, &mut confusion);
            let ll = e_step(&mut t, &obs, &labelled, &priors, &confusion)?;
            let objective = if alpha > 0.0 {
                let log_prior: f64 = confusion
                    .iter()
                    .flatten()
                    .flatten()
                    .chain(priors.iter())
                    .map(|v| v.ln())
                    .sum();
                ll + alpha * log_prior
            } else {
                ll
            };
            let gain = trace.last().map(|prev| objective - prev);
            trace.push(objective);
            if let Some(gain) = gain
                && gain <= self.config.tolerance * objective.abs().max(1.0)
            {
                converged = true;
                break;
            }
        }
        for i in 0..n_items {
            if obs[i].is_empty() {
                t[i].clone_from(&priors);
            }
        }
        Ok(DawidSkeneFit {
            posteriors: t,
            confusion,
            priors,
            log_likelihood: trace,
            iterations,
            converged,
        })
    }
}

fn m_step(
    t: &[Vec<f64>],
    obs: &[Vec<(usize, usize)>],
    labelled: &[usize],
    alpha: f64,
    priors: &mut [f64],
    confusion: &mut [Vec<Vec<f64>>],
) {
    let k_classes = priors.len();
    priors.fill(alpha);
    for row in confusion.iter_mut().flatten() {
        row.fill(alpha);
    }
    for &i in labelled {
        for (k, &tik) in t[i].iter().enumerate() {
            priors[k] += tik;
        }
        for &(j, l) in &obs[i] {
            for (k, &tik) in t[i].iter().enumerate() {
                confusion[j][k][l] += tik;
            }
        }
    }
    let total: f64 = priors.iter().sum();
    for p in priors.iter_mut() {
        *p /= total;
    }
    for row in confusion.iter_mut().flatten() {
        let s: f64 = row.iter().sum();
        if s > 0.0 {
            row.iter_mut().for_each(|v| *v /= s);
        } else {
            row.fill(1.0 / k_classes as f64);
        }
    }
}

/// Posteriors of the labelled items under `(priors, confusion)`; returns the log-likelihood.
fn e_step(
    t: &mut [Vec<f64>],
    obs: &[Vec<(usize, usize)>],
    labelled: &[usize],
    priors: &[f64],
    confusion: &[Vec<Vec<f64>>],
) -> Result<f64, LabellingError> {
    let mut ll = 0.0;
    let mut log_w = vec![0.0; priors.len()];
    for &i in labelled {
        for (k, lw) in log_w.iter_mut().enumerate() {
            *lw = priors[k].ln()
                + obs[i]
                    .iter()
                    .map(|&(j, l)| confusion[j][k][l].ln())
                    .sum::<f64>();
        }
        let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !max.is_finite() {
            return Err(LabellingError::Undefined {
                statistic: "Dawid-Skene posterior",
                reason: format!(
                    "item {i}'s labels have probability 0 under every class (log-weights \
                     {log_w:?}); set a smoothing > 0"
                ),
            });
        }
        let sum: f64 = log_w.iter().map(|lw| (lw - max).exp()).sum();
        let lse = max + sum.ln();
        for (k, lw) in log_w.iter().enumerate() {
            t[i][k] = (lw - lse).exp();
        }
        ll += lse;
    }
    Ok(ll)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labelling::{Annotation, TiePolicy, majority_vote};
    use approx::assert_relative_eq;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Three items, three annotators, two classes:
    /// item 0: labels 0, 0, 1; item 1: 1, 1, 1; item 2: 0, 1 (annotator 2 missing).
    fn tiny() -> Annotations {
        let l = [
            (0, 0, 0),
            (0, 1, 0),
            (0, 2, 1),
            (1, 0, 1),
            (1, 1, 1),
            (1, 2, 1),
            (2, 0, 0),
            (2, 1, 1),
        ];
        let a = l
            .iter()
            .map(|&(i, j, c)| Annotation::new(i, j, c))
            .collect();
        Annotations::new(3, 3, 2, a).unwrap()
    }

    #[test]
    fn one_em_iteration_matches_hand_computation() {
        // Start T0 = [2/3, 1/3], [0, 1], [1/2, 1/2].
        // M-step: p = [7/18, 11/18];
        //   π_0 = [[1, 0], [5/11, 6/11]], π_1 = [[4/7, 3/7], [2/11, 9/11]],
        //   π_2 = [[0, 1], [0, 1]].
        // E-step: item 0: k=0: 7/18·1·4/7·1 = 2/9, k=1: 11/18·5/11·2/11·1 = 5/99 → T = [22/27, 5/27];
        //   item 1: k=0: 0, k=1: 11/18·6/11·9/11 = 3/11 → T = [0, 1];
        //   item 2: k=0: 7/18·1·3/7 = 1/6, k=1: 11/18·5/11·9/11 = 5/22 → T = [11/26, 15/26].
        // log L = ln(2/9 + 5/99) + ln(3/11) + ln(1/6 + 5/22) = 2 ln(3/11) + ln(13/33).
        let fit = DawidSkeneConfig::new()
            .with_max_iterations(1)
            .init()
            .unwrap()
            .fit(&tiny())
            .unwrap();
        let eps = 1e-12;
        assert_relative_eq!(fit.priors[0], 7.0 / 18.0, epsilon = eps);
        assert_relative_eq!(fit.priors[1], 11.0 / 18.0, epsilon = eps);
        let pi = [
            [[1.0, 0.0], [5.0 / 11.0, 6.0 / 11.0]],
            [[4.0 / 7.0, 3.0 / 7.0], [2.0 / 11.0, 9.0 / 11.0]],
            [[0.0, 1.0], [0.0, 1.0]],
        ];
        let confusion = fit.confusion.iter().flatten().flatten();
        for (got, want) in confusion.zip(pi.iter().flatten().flatten()) {
            assert_relative_eq!(got, want, epsilon = eps);
        }
        let t = [
            [22.0 / 27.0, 5.0 / 27.0],
            [0.0, 1.0],
            [11.0 / 26.0, 15.0 / 26.0],
        ];
        for (got, want) in fit.posteriors.iter().flatten().zip(t.iter().flatten()) {
            assert_relative_eq!(got, want, epsilon = eps);
        }
        let ll = 2.0 * (3.0f64 / 11.0).ln() + (13.0f64 / 33.0).ln();
        assert_eq!(fit.log_likelihood.len(), 1);
        assert_relative_eq!(fit.log_likelihood[0], ll, epsilon = eps);
        assert_eq!((fit.iterations, fit.converged), (1, false));

        // A second iteration cannot lower the likelihood.
        let fit2 = DawidSkeneConfig::new()
            .with_max_iterations(2)
            .init()
            .unwrap()
            .fit(&tiny())
            .unwrap();
        assert_relative_eq!(fit2.log_likelihood[0], ll, epsilon = eps);
        assert!(fit2.log_likelihood[1] >= ll);
    }

    #[test]
    fn smoothing_keeps_rates_positive_and_items_without_labels_get_the_prior() {
        let mut a = tiny().as_slice().to_vec();
        a.push(Annotation::new(0, 0, 0));
        let a = Annotations::new(4, 4, 2, a).unwrap(); // item 3 and annotator 3 have no label
        let fit = DawidSkeneConfig::new()
            .with_smoothing(1.0)
            .init()
            .unwrap()
            .fit(&a)
            .unwrap();
        assert!(fit.confusion.iter().flatten().flatten().all(|&v| v > 0.0));
        assert_eq!(fit.posteriors[3], fit.priors);
        assert_eq!(fit.confusion[3], vec![vec![0.5, 0.5], vec![0.5, 0.5]]);
        assert!(fit.converged);
    }

    #[test]
    fn bad_settings_and_single_class_are_errors() {
        for c in [
            DawidSkeneConfig::new().with_max_iterations(0),
            DawidSkeneConfig::new().with_tolerance(-1.0),
            DawidSkeneConfig::new().with_smoothing(f64::NAN),
        ] {
            assert!(matches!(c.init(), Err(LabellingError::Config { .. })));
        }
        let one = Annotations::new(1, 1, 1, vec![Annotation::new(0, 0, 0)]).unwrap();
        assert!(DawidSkeneConfig::new().init().unwrap().fit(&one).is_err());
    }

    /// `n_items` items with classes drawn from `priors`; annotator `j` labels each item with
    /// probability `coverage`, correctly with probability `acc[j]`, else uniformly among the
    /// other classes.
    fn synthetic(
        n_items: usize,
        priors: &[f64],
        acc: &[f64],
        coverage: f64,
        seed: u64,
    ) -> (Annotations, Vec<usize>) {
        let k = priors.len();
        let mut rng = StdRng::seed_from_u64(seed);
        let mut truth = Vec::new();
        let mut ann = Vec::new();
        for i in 0..n_items {
            let u: f64 = rng.random();
            let mut c = 0;
            let mut acc_p = priors[0];
            while u > acc_p && c + 1 < k {
                c += 1;
                acc_p += priors[c];
            }
            truth.push(c);
            for (j, &a) in acc.iter().enumerate() {
                if rng.random::<f64>() >= coverage {
                    continue;
                }
                let label = if rng.random::<f64>() < a {
                    c
                } else {
                    let other = rng.random_range(0..k - 1);
                    if other >= c { other + 1 } else { other }
                };
                ann.push(Annotation::new(i, j, label));
            }
        }
        (Annotations::new(n_items, acc.len(), k, ann).unwrap(), truth)
    }

    #[test]
    fn recovers_known_confusions_on_seeded_synthetic_data() {
        let priors = [0.5, 0.3, 0.2];
        let acc = [0.95, 0.85, 0.75, 0.65, 0.55, 0.45];
        let (a, truth) = synthetic(5000, &priors, &acc, 0.7, 20240901);
        let fit = DawidSkeneConfig::new()
            .with_max_iterations(500)
            .init()
            .unwrap()
            .fit(&a)
            .unwrap();
        assert!(fit.converged, "{} iterations", fit.iterations);
        for (k, &p) in priors.iter().enumerate() {
            assert!(
                (fit.priors[k] - p).abs() < 0.02,
                "p_{k} = {}",
                fit.priors[k]
            );
        }
        for (j, &aj) in acc.iter().enumerate() {
            for k in 0..3 {
                for l in 0..3 {
                    let want = if k == l { aj } else { (1.0 - aj) / 2.0 };
                    let got = fit.confusion[j][k][l];
                    assert!(
                        (got - want).abs() < 0.06,
                        "π_{j}[{k}][{l}] = {got}, true {want}"
                    );
                }
            }
        }
        let accuracy = |labels: &[Option<usize>]| {
            labels
                .iter()
                .zip(&truth)
                .filter(|(l, t)| **l == Some(**t))
                .count() as f64
                / truth.len() as f64
        };
        let ds: Vec<Option<usize>> = fit.labels().into_iter().map(Some).collect();
        let mv = majority_vote(&a, TiePolicy::Random { seed: 1 })
            .unwrap()
            .labels();
        let (ds_acc, mv_acc) = (accuracy(&ds), accuracy(&mv));
        assert!(ds_acc > mv_acc, "Dawid-Skene {ds_acc} vs majority {mv_acc}");
        assert!(
            fit.log_likelihood
                .windows(2)
                .all(|w| w[1] >= w[0] - 1e-9 * w[0].abs()),
            "{:?}",
            fit.log_likelihood
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn objective_never_decreases_and_posteriors_are_distributions(
            votes in prop::collection::vec((0usize..8, 0usize..4, 0usize..3), 1..60),
            smoothing in prop_oneof![Just(0.0), 0.01f64..2.0],
        ) {
            let ann = votes.iter().map(|&(i, j, l)| Annotation::new(i, j, l)).collect();
            let a = Annotations::new(8, 4, 3, ann).unwrap();
            let fit = DawidSkeneConfig::new()
                .with_smoothing(smoothing)
                .with_max_iterations(50)
                .init()
                .unwrap()
                .fit(&a)
                .unwrap();
            for w in fit.log_likelihood.windows(2) {
                prop_assert!(w[1] >= w[0] - 1e-9 * w[0].abs().max(1.0), "{:?}", fit.log_likelihood);
            }
            for t in &fit.posteriors {
                prop_assert!((t.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
            for row in fit.confusion.iter().flatten() {
                prop_assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            }
        }
    }
}
