//! Bradley-Terry maximum-likelihood scores from pairwise comparisons, by the MM algorithm.
//!
//! Bradley, R. A. and Terry, M. E. (1952), "Rank Analysis of Incomplete Block Designs";
//! Zermelo (1929); Hunter, D. R. (2004), "MM algorithms for generalized Bradley-Terry
//! models", *Annals of Statistics* 32(1), 384–406. With `w_ij` the (possibly fractional)
//! number of times item `i` beat item `j`, `W_i = Σ_j w_ij` and `N_ij = w_ij + w_ji`:
//!
//! ```text
//! model       P(i beats j) = γ_i / (γ_i + γ_j) = σ(θ_i − θ_j),   θ_i = ln γ_i
//! log-lik.    ℓ(γ) = Σ_{i,j} w_ij [ln γ_i − ln(γ_i + γ_j)]                   (Hunter eq. 2)
//! MM update   γ_i ← W_i / Σ_{j≠i} N_ij / (γ_i + γ_j)                          (Hunter eq. 3)
//! scores      θ_i = ln γ_i − mean_k ln γ_k                                    (mean 0)
//! ```
//!
//! The MLE exists and is unique (up to scale) if and only if, for every split of the items
//! into two non-empty groups, some item of each group beats some item of the other — the
//! "beats" graph is strongly connected (Hunter 2004, Assumption 1; Ford 1957). Otherwise
//! some scores are ±∞ and [`BradleyTerry::fit`] returns [`LabellingError::NoFiniteMle`] with
//! the strongly connected components, unless a prior is set:
//!
//! ```text
//! prior       every item plays α virtual wins and α virtual losses against a fixed
//!             reference item of strength γ_0 = 1, adding to ℓ the log-prior
//!             α Σ_i [ln γ_i − 2 ln(1 + γ_i)] = α Σ_i [θ_i − 2 ln(1 + e^θ_i)]
//! MM update   γ_i ← (W_i + α) / (Σ_{j≠i} N_ij / (γ_i + γ_j) + 2α / (1 + γ_i))
//! ```
//!
//! `α` is [`BradleyTerryConfig::prior_games`]; the prior is a proper, symmetric,
//! log-concave prior on each `θ_i` (centred at 0), so the posterior mode is always finite and
//! unique, and a tiny `α` (e.g. 0.01) changes well-determined scores very little while
//! keeping never-winning items finite. This "virtual games" device is the same MM update
//! with one extra opponent held fixed, so every step still raises the (penalised)
//! likelihood.

use rlhf_core::ConfigError;
use serde::{Deserialize, Serialize};

use super::LabellingError;

/// Settings of the Bradley-Terry fit.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BradleyTerryConfig {
    /// Most MM iterations (≥ 1). Default 10 000.
    pub max_iterations: usize,
    /// Stop when no log-strength moves by more than this in an iteration (> 0). Default 1e-10.
    pub tolerance: f64,
    /// Virtual wins and losses `α ≥ 0` of every item against a reference item of strength 1
    /// (see the [module docs](self)). Default 0: the plain MLE, an error when it is not finite.
    pub prior_games: f64,
}

impl Default for BradleyTerryConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl BradleyTerryConfig {
    /// The defaults: 10 000 iterations, tolerance 1e-10, no prior.
    pub fn new() -> Self {
        Self {
            max_iterations: 10_000,
            tolerance: 1e-10,
            prior_games: 0.0,
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

    /// Sets [`prior_games`](Self::prior_games).
    pub fn with_prior_games(mut self, alpha: f64) -> Self {
        self.prior_games = alpha;
        self
    }

    /// Validates the settings.
    pub fn init(&self) -> Result<BradleyTerry, LabellingError> {
        let bad = |field: &str, expected: &str, got: String| LabellingError::Config {
            config: "BradleyTerryConfig",
            source: ConfigError::new(field, expected, got),
        };
        if self.max_iterations == 0 {
            return Err(bad("max_iterations", "at least 1", "0".into()));
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return Err(bad(
                "tolerance",
                "a finite number > 0",
                self.tolerance.to_string(),
            ));
        }
        if !(self.prior_games.is_finite() && self.prior_games >= 0.0) {
            return Err(bad(
                "prior_games",
                "a finite number ≥ 0",
                self.prior_games.to_string(),
            ));
        }
        Ok(BradleyTerry { config: *self })
    }
}

/// A validated Bradley-Terry estimator; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BradleyTerry {
    config: BradleyTerryConfig,
}

/// Fitted Bradley-Terry scores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BradleyTerryFit {
    /// Log-strength `θ_i` of each item, normalised to mean 0.
    pub scores: Vec<f64>,
    /// Log-likelihood of the comparisons at the fitted scores (without the prior term).
    pub log_likelihood: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the tolerance was met before `max_iterations`; when `false` the scores are
    /// the last iterate, not the optimum.
    pub converged: bool,
}

impl BradleyTerryFit {
    /// Modelled probability that item `i` beats item `j`, `σ(θ_i − θ_j)`.
    pub fn probability(&self, i: usize, j: usize) -> f64 {
        1.0 / (1.0 + (self.scores[j] - self.scores[i]).exp())
    }
}

impl BradleyTerry {
    /// The settings.
    pub fn config(&self) -> &BradleyTerryConfig {
        &self.config
    }

    /// Fits scores of `n_items` items from `(winner, loser)` comparisons.
    pub fn fit(
        &self,
        n_items: usize,
        comparisons: &[(usize, usize)],
    ) -> Result<BradleyTerryFit, LabellingError> {
        let weighted: Vec<(usize, usize, f64)> =
            comparisons.iter().map(|&(w, l)| (w, l, 1.0)).collect();
        self.fit_weighted(n_items, &weighted)
    }

    /// Fits scores from `(winner, loser, weight)` comparisons; a weight is a (possibly
    /// fractional) number of wins, e.g. a tie can be entered as half a win each way.
    ///
    /// Errors: fewer than 2 items, no comparison, an item out of range, a self-comparison,
    /// a weight that is not finite and > 0, or (without prior) no finite MLE.
    pub fn fit_weighted(
        &self,
        n_items: usize,
        comparisons: &[(usize, usize, f64)],
    ) -> Result<BradleyTerryFit, LabellingError> {
        if n_items < 2 {
            return Err(LabellingError::Empty {
                what: "Bradley-Terry items",
                expected: "at least 2 items",
            });
        }
        if comparisons.is_empty() {
            return Err(LabellingError::Empty {
                what: "comparisons",
                expected: "at least one comparison",
            });
        }
        // wins[i][..] = (j, w_ij) accumulated; pair totals N_ij in `pairs`.
        let mut wins = vec![0.0; n_items];
        let mut beats: Vec<Vec<usize>> = vec![Vec::new(); n_items];
        let mut pair_index = std::collections::HashMap::new();
        let mut pairs: Vec<(usize, usize, f64)> = Vec::new();
        for (index, &(w, l, weight)) in comparisons.iter().enumerate() {
            for (field, got) in [("winner", w), ("loser", l)] {
                if got >= n_items {
                    return Err(LabellingError::OutOfRange {
                        what: "comparison",
                        index,
                        field,
                        got,
                        bound: n_items,
                    });
                }
            }
            if w == l {
                return Err(LabellingError::SelfComparison { index, item: w });
            }
            if !(weight.is_finite() && weight > 0.0) {
                return Err(LabellingError::InvalidValue {
                    what: "comparison weight",
                    index,
                    expected: "a finite number > 0",
                    got: weight,
                });
            }
            wins[w] += weight;
            beats[w].push(l);
            let key = (w.min(l), w.max(l));
            let p = *pair_index.entry(key).or_insert_with(|| {
                pairs.push((key.0, key.1, 0.0));
                pairs.len() - 1
            });
            pairs[p].2 += weight;
        }
        let alpha = self.config.prior_games;
        if alpha == 0.0 {
            let components = strongly_connected_components(&beats);
            if components.len() > 1 {
                return Err(LabellingError::NoFiniteMle { components });
            }
        }

        let mut log_gamma = vec![0.0f64; n_items];
        let mut denom = vec![0.0f64; n_items];
        let mut converged = false;
        let mut iterations = 0;
        while iterations < self.config.max_iterations {
            iterations += 1;
            let gamma: Vec<f64> = log_gamma.iter().map(|t| t.exp()).collect();
            for (i, d) in denom.iter_mut().enumerate() {
                *d = 2.0 * alpha / (1.0 + gamma[i]);
            }
            for &(i, j, n) in &pairs {
                let r = n / (gamma[i] + gamma[j]);
                denom[i] += r;
                denom[j] += r;
            }
            let mut new: Vec<f64> = (0..n_items)
                .map(|i| ((wins[i] + alpha) / denom[i]).ln())
                .collect();
            if alpha == 0.0 {
                let mean = new.iter().sum::<f64>() / n_items as f64;
                new.iter_mut().for_each(|t| *t -= mean);
            } else {
                // The likelihood does not see a common shift of the scores; only the prior
                // pins it, so with a small α MM crawls along that direction. Maximise the
                // posterior over the shift exactly (coordinate ascent, same fixed point).
                let shift = prior_shift(&new);
                new.iter_mut().for_each(|t| *t += shift);
            }
            let delta = new
                .iter()
                .zip(&log_gamma)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            log_gamma = new;
            if delta <= self.config.tolerance {
                converged = true;
                break;
            }
        }
        let mean = log_gamma.iter().sum::<f64>() / n_items as f64;
        let scores: Vec<f64> = log_gamma.iter().map(|t| t - mean).collect();
        let log_likelihood = comparisons
            .iter()
            .map(|&(w, l, weight)| -weight * (scores[l] - scores[w]).exp().ln_1p())
            .sum();
        Ok(BradleyTerryFit {
            scores,
            log_likelihood,
            iterations,
            converged,
        })
    }
}

/// Strongly connected components of the graph `edges[i] = [j, ...]` (Kosaraju, iterative),
/// each sorted, listed by smallest member.
fn strongly_connected_components(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    // Pass 1: post-order on the graph.
    let mut visited = vec![false; n];
    let mut order = Vec::with_capacity(n);
    for start in 0..n {
        if visited[start] {
            continue;
        }
        visited[start] = true;
        let mut stack = vec![(start, 0usize)];
        while let Some((v, next)) = stack.last_mut() {
            if let Some(&w) = edges[*v].get(*next) {
                *next += 1;
                if !visited[w] {
                    visited[w] = true;
                    stack.push((w, 0));
                }
            } else {
                order.push(*v);
                stack.pop();
            }
        }
    }
    // Pass 2: reverse post-order on the transposed graph.
    let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (v, out) in edges.iter().enumerate() {
        for &w in out {
            reverse[w].push(v);
        }
    }
    let mut component = vec![usize::MAX; n];
    let mut components: Vec<Vec<usize>> = Vec::new();
    for &start in order.iter().rev() {
        if component[start] != usize::MAX {
            continue;
        }
        let c = components.len();
        let mut members = vec![start];
        component[start] = c;
        let mut stack = vec![start];
        while let Some(v) = stack.pop() {
            for &w in &reverse[v] {
                if component[w] == usize::MAX {
                    component[w] = c;
                    members.push(w);
                    stack.push(w);
                }
            }
        }
        members.sort_unstable();
        components.push(members);
    }
    components.sort_unstable_by_key(|c| c[0]);
    components
}

/// The shift `c` that maximises the prior `Σ_i α·(θ_i + c) − 2α·ln(1 + e^{θ_i + c})` (one
/// virtual win and one virtual loss per item against a reference of strength 1), i.e. the
/// root of `Σ_i σ(θ_i + c) = n/2`, by Newton's method (the left side increases in `c`).
fn prior_shift(theta: &[f64]) -> f64 {
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    let half = theta.len() as f64 / 2.0;
    let mut c = 0.0;
    for _ in 0..100 {
        let (f, df) = theta.iter().fold((-half, 0.0), |(f, df), &t| {
            let s = sigmoid(t + c);
            (f + s, df + s * (1.0 - s))
        });
        if f.abs() < 1e-14 || df <= 0.0 {
            break;
        }
        c -= (f / df).clamp(-10.0, 10.0);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    fn fit(n: usize, c: &[(usize, usize)], alpha: f64) -> Result<BradleyTerryFit, LabellingError> {
        BradleyTerryConfig::new()
            .with_prior_games(alpha)
            .init()
            .unwrap()
            .fit(n, c)
    }

    #[test]
    fn two_items_score_gap_is_log_odds_of_wins() {
        // 0 beats 1 three times, 1 beats 0 once: P(0 beats 1) = 3/4, θ_0 − θ_1 = ln 3.
        let f = fit(2, &[(0, 1), (0, 1), (0, 1), (1, 0)], 0.0).unwrap();
        assert!(f.converged);
        assert_relative_eq!(f.scores[0], 3f64.ln() / 2.0, epsilon = 1e-9);
        assert_relative_eq!(f.scores[1], -(3f64.ln()) / 2.0, epsilon = 1e-9);
        assert_relative_eq!(f.probability(0, 1), 0.75, epsilon = 1e-9);
        // ℓ = 3 ln(3/4) + ln(1/4).
        assert_relative_eq!(
            f.log_likelihood,
            3.0 * 0.75f64.ln() + 0.25f64.ln(),
            epsilon = 1e-9
        );
    }

    #[test]
    fn two_items_with_prior_solve_the_stationarity_equation() {
        // With the prior, γ_1 = 1/γ_0 by symmetry; ∂/∂θ_0 of
        // 3 ln σ(θ_0−θ_1) + ln σ(θ_1−θ_0) + α Σ_i [θ_i − 2 ln(1+e^θ_i)] is zero:
        // 3(1−P) − P + α(1 − 2σ(θ_0)) = 0 with P = σ(θ_0 − θ_1) = σ(2θ_0).
        let alpha = 0.5;
        let f = fit(2, &[(0, 1), (0, 1), (0, 1), (1, 0)], alpha).unwrap();
        let t0 = f.scores[0];
        assert_relative_eq!(f.scores[1], -t0, epsilon = 1e-9);
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let p = sig(2.0 * t0);
        assert!((3.0 * (1.0 - p) - p + alpha * (1.0 - 2.0 * sig(t0))).abs() < 1e-8);
        // The prior shrinks the gap below ln 3.
        assert!(2.0 * t0 < 3f64.ln() && t0 > 0.0);
    }

    #[test]
    fn never_winning_item_is_an_error_without_prior_and_finite_with_it() {
        // 2 never wins: {0,1} and {2} are not linked both ways.
        let c = [(0, 1), (1, 0), (0, 2), (1, 2)];
        match fit(3, &c, 0.0) {
            Err(LabellingError::NoFiniteMle { components }) => {
                assert_eq!(components, vec![vec![0, 1], vec![2]]);
            }
            other => panic!("{other:?}"),
        }
        let f = fit(3, &c, 0.01).unwrap();
        assert!(f.converged && f.scores.iter().all(|s| s.is_finite()));
        assert!(f.scores[2] < f.scores[0] && f.scores[2] < f.scores[1]);
        // An item never compared makes the graph disconnected too.
        assert!(matches!(
            fit(4, &[(0, 1), (1, 0)], 0.0),
            Err(LabellingError::NoFiniteMle { .. })
        ));
    }

    #[test]
    fn bad_input_is_an_error() {
        assert!(matches!(
            fit(1, &[(0, 0)], 0.0),
            Err(LabellingError::Empty { .. })
        ));
        assert!(matches!(
            fit(2, &[], 0.0),
            Err(LabellingError::Empty { .. })
        ));
        assert_eq!(
            fit(2, &[(0, 1), (1, 1)], 0.0).unwrap_err(),
            LabellingError::SelfComparison { index: 1, item: 1 }
        );
        assert!(matches!(
            fit(2, &[(0, 2)], 0.0),
            Err(LabellingError::OutOfRange { field: "loser", .. })
        ));
        let bt = BradleyTerryConfig::new().init().unwrap();
        assert!(matches!(
            bt.fit_weighted(2, &[(0, 1, 1.0), (1, 0, f64::NAN)]),
            Err(LabellingError::InvalidValue { index: 1, .. })
        ));
        assert!(
            BradleyTerryConfig::new()
                .with_tolerance(0.0)
                .init()
                .is_err()
        );
        assert!(
            BradleyTerryConfig::new()
                .with_prior_games(-1.0)
                .init()
                .is_err()
        );
    }

    #[test]
    fn scores_match_python_reference() {
        // Fixtures from scripts/labelling_reference.py: the same likelihood (and prior)
        // maximised by scipy's L-BFGS-B instead of MM.
        let fx: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/labelling/reference.json")).unwrap();
        let cases = fx["bradley_terry"].as_array().unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let n = case["n_items"].as_u64().unwrap() as usize;
            let comps: Vec<(usize, usize, f64)> = case["comparisons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    (
                        c[0].as_u64().unwrap() as usize,
                        c[1].as_u64().unwrap() as usize,
                        c[2].as_f64().unwrap(),
                    )
                })
                .collect();
            let alpha = case["prior_games"].as_f64().unwrap();
            let f = BradleyTerryConfig::new()
                .with_prior_games(alpha)
                .init()
                .unwrap()
                .fit_weighted(n, &comps)
                .unwrap();
            assert!(f.converged, "{}", case["name"]);
            for (i, want) in case["scores"].as_array().unwrap().iter().enumerate() {
                assert_relative_eq!(f.scores[i], want.as_f64().unwrap(), epsilon = 1e-6);
            }
            assert_relative_eq!(
                f.log_likelihood,
                case["log_likelihood"].as_f64().unwrap(),
                epsilon = 1e-6
            );
        }
    }

    #[test]
    fn components_of_a_small_graph() {
        // 0 → 1 → 2 → 0 is a cycle; 3 → 0 only; 4 isolated.
        let e = vec![vec![1], vec![2], vec![0], vec![0], vec![]];
        assert_eq!(
            strongly_connected_components(&e),
            vec![vec![0, 1, 2], vec![3], vec![4]]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Giving item `i` one more win (over any `j`) never lowers its score.
        #[test]
        fn one_more_win_never_lowers_a_score(
            extra in prop::collection::vec((0usize..5, 0usize..5), 0..20),
            i in 0usize..5,
            j in 0usize..5,
            alpha in prop_oneof![Just(0.0), 0.01f64..2.0],
        ) {
            prop_assume!(i != j);
            // A round robin where every item beats every other once keeps the MLE finite.
            let mut c: Vec<(usize, usize)> = (0..5)
                .flat_map(|a| (0..5).filter(move |&b| b != a).map(move |b| (a, b)))
                .collect();
            c.extend(extra.into_iter().filter(|(a, b)| a != b));
            let before = fit(5, &c, alpha).unwrap();
            c.push((i, j));
            let after = fit(5, &c, alpha).unwrap();
            prop_assert!(before.converged && after.converged);
            prop_assert!(after.scores[i] >= before.scores[i] - 1e-8,
                "{} -> {}", before.scores[i], after.scores[i]);
            prop_assert!(after.scores[j] <= before.scores[j] + 1e-8);
            prop_assert!(after.scores.iter().sum::<f64>().abs() < 1e-9);
        }
    }
}
