//! KL coefficient controllers: the β that weighs the KL penalty, fixed or adapted to a target.
//!
//! A trainer asks [`KlController::beta`] for the coefficient to use, measures the KL of the
//! batch it just trained on, calls [`KlController::update`] with it and logs the new β it
//! returns. Controllers are serde-serialisable so their state goes into checkpoints; an
//! [`AdaptiveKlController`] read back is validated like a fresh one.

use rlhf_core::config::{check_non_negative, check_non_zero, check_positive};
use serde::{Deserialize, Serialize};

use crate::error::{KlError, KlResult};

/// Bound on the proportional error of the adaptive controller (Ziegler et al. 2019, §2.2).
pub const ADAPTIVE_ERROR_CLIP: f64 = 0.2;

/// A KL coefficient controller.
pub trait KlController {
    /// The current coefficient β.
    fn beta(&self) -> f64;

    /// Feeds the KL observed on the last batch (`observed_kl`, e.g. the batch mean of the
    /// per-sequence summed KL) and the number of samples it covered (`n_steps`); returns the
    /// new β, which callers should log every step.
    ///
    /// # Errors
    /// [`KlError::Update`] when the update would make β NaN, infinite or non-positive; the
    /// state is then unchanged.
    fn update(&mut self, observed_kl: f64, n_steps: usize) -> KlResult<f64>;
}

/// Configuration of a [`FixedKlController`], e.g. `{"beta": 0.05}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FixedKlConfig {
    /// The coefficient, finite and ≥ 0 (0 disables the penalty).
    pub beta: f64,
}

impl FixedKlConfig {
    /// A configuration with coefficient `beta`.
    pub fn new(beta: f64) -> Self {
        Self { beta }
    }

    /// Validates the configuration and builds the controller.
    ///
    /// # Errors
    /// [`KlError::Config`] if `beta` is negative, NaN or infinite.
    pub fn init(&self) -> KlResult<FixedKlController> {
        check_non_negative("beta", self.beta)?;
        Ok(FixedKlController { beta: self.beta })
    }
}

/// A constant β (TRL's `FixedKLController`; the `beta` of GRPO and of PPO without a target).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "FixedKlConfig", into = "FixedKlConfig")]
pub struct FixedKlController {
    beta: f64,
}

impl From<FixedKlController> for FixedKlConfig {
    fn from(c: FixedKlController) -> Self {
        Self { beta: c.beta }
    }
}

impl TryFrom<FixedKlConfig> for FixedKlController {
    type Error = KlError;
    fn try_from(c: FixedKlConfig) -> KlResult<Self> {
        c.init()
    }
}

impl KlController for FixedKlController {
    fn beta(&self) -> f64 {
        self.beta
    }

    /// Ignores its inputs and returns the fixed β.
    fn update(&mut self, _observed_kl: f64, _n_steps: usize) -> KlResult<f64> {
        Ok(self.beta)
    }
}

/// Configuration of an [`AdaptiveKlController`], e.g.
/// `{"init_beta": 0.2, "target": 6.0, "horizon": 10000}` (TRL's old `PPOConfig` defaults:
/// `init_kl_coef = 0.2`, `target = 6`, `horizon = 10000`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AdaptiveKlConfig {
    /// The starting coefficient β₀, finite and > 0 (a multiplicative controller started at 0
    /// would stay at 0 forever).
    pub init_beta: f64,
    /// The KL to aim for, in the units of the observed KL passed to `update`; finite, > 0.
    pub target: f64,
    /// The number of samples over which a full proportional correction is applied; > 0.
    pub horizon: usize,
}

impl AdaptiveKlConfig {
    /// A configuration from its three fields.
    pub fn new(init_beta: f64, target: f64, horizon: usize) -> Self {
        Self {
            init_beta,
            target,
            horizon,
        }
    }

    /// Validates the configuration and builds the controller.
    ///
    /// # Errors
    /// [`KlError::Config`] naming the field: `init_beta` or `target` not finite and > 0,
    /// `horizon` = 0.
    pub fn init(&self) -> KlResult<AdaptiveKlController> {
        AdaptiveKlController::validated(self.init_beta, self.target, self.horizon, "init_beta")
    }
}

/// The adaptive KL controller of Ziegler et al. 2019, "Fine-Tuning Language Models from
/// Human Preferences", §2.2, in the parametrisation of OpenAI's `lm-human-preferences` and
/// TRL's `AdaptiveKLController` (`trl/trainer/utils.py`, TRL ≤ 0.11):
///
/// ```text
/// e_t     = clip(KL_t / KL_target − 1, −0.2, 0.2)
/// β_{t+1} = β_t · (1 + e_t · n_steps / horizon)
/// ```
///
/// A log-space proportional controller: β grows when the observed KL is above the target
/// and shrinks when it is below, by at most a factor `1 ± 0.2·n_steps/horizon` per update.
/// The paper's `K_β` is `n_steps / horizon` (0.1 in the paper). `n_steps` is the number of
/// samples in the batch the KL was measured on (TRL passes the batch size).
///
/// Serialised as its state `{"beta": …, "target": …, "horizon": …}`; deserialising
/// validates it (β, target finite and > 0, horizon > 0).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(try_from = "AdaptiveKlState", into = "AdaptiveKlState")]
pub struct AdaptiveKlController {
    beta: f64,
    target: f64,
    horizon: usize,
}

/// The serialised form of an [`AdaptiveKlController`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdaptiveKlState {
    beta: f64,
    target: f64,
    horizon: usize,
}

impl From<AdaptiveKlController> for AdaptiveKlState {
    fn from(c: AdaptiveKlController) -> Self {
        Self {
            beta: c.beta,
            target: c.target,
            horizon: c.horizon,
        }
    }
}

impl TryFrom<AdaptiveKlState> for AdaptiveKlController {
    type Error = KlError;
    fn try_from(s: AdaptiveKlState) -> KlResult<Self> {
        Self::validated(s.beta, s.target, s.horizon, "beta")
    }
}

impl AdaptiveKlController {
    fn validated(
        beta: f64,
        target: f64,
        horizon: usize,
        beta_field: &'static str,
    ) -> KlResult<Self> {
        check_positive(beta_field, beta)?;
        check_positive("target", target)?;
        check_non_zero("horizon", horizon)?;
        Ok(Self {
            beta,
            target,
            horizon,
        })
    }

    /// The KL target.
    pub fn target(&self) -> f64 {
        self.target
    }

    /// The horizon.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// The clipped proportional error `clip(observed_kl / target − 1, −0.2, 0.2)`.
    pub fn proportional_error(&self, observed_kl: f64) -> f64 {
        (observed_kl / self.target - 1.0).clamp(-ADAPTIVE_ERROR_CLIP, ADAPTIVE_ERROR_CLIP)
    }
}

impl KlController for AdaptiveKlController {
    fn beta(&self) -> f64 {
        self.beta
    }

    /// `β ← β · (1 + clip(KL/target − 1, −0.2, 0.2) · n_steps / horizon)`.
    ///
    /// Refused (state unchanged) when `observed_kl` is NaN or infinite, or when the factor
    /// would be ≤ 0 (possible only if `n_steps > 5 · horizon`) or β would overflow. A
    /// negative observed KL (a k1 estimate can be) is allowed: the error clips at −0.2.
    fn update(&mut self, observed_kl: f64, n_steps: usize) -> KlResult<f64> {
        if !observed_kl.is_finite() {
            return Err(KlError::Update {
                message: format!("observed KL is {observed_kl}; β stays {}", self.beta),
            });
        }
        let e = self.proportional_error(observed_kl);
        let factor = 1.0 + e * n_steps as f64 / self.horizon as f64;
        let beta = self.beta * factor;
        if factor <= 0.0 || !beta.is_finite() || beta <= 0.0 {
            return Err(KlError::Update {
                message: format!(
                    "factor 1 + e·n_steps/horizon = 1 + {e}·{n_steps}/{} = {factor} would take \
                     β from {} to {beta}; use n_steps ≤ 5·horizon",
                    self.horizon, self.beta
                ),
            });
        }
        self.beta = beta;
        Ok(beta)
    }
}

/// Either controller, chosen by configuration: `{"kind": "fixed", "beta": 0.05}` or
/// `{"kind": "adaptive", "init_beta": 0.2, "target": 6.0, "horizon": 10000}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KlControllerConfig {
    /// A [`FixedKlController`].
    Fixed(FixedKlConfig),
    /// An [`AdaptiveKlController`].
    Adaptive(AdaptiveKlConfig),
}

impl KlControllerConfig {
    /// Validates the configuration and builds the controller.
    ///
    /// # Errors
    /// [`KlError::Config`] as for [`FixedKlConfig::init`] / [`AdaptiveKlConfig::init`].
    pub fn init(&self) -> KlResult<AnyKlController> {
        Ok(match self {
            Self::Fixed(c) => AnyKlController::Fixed(c.init()?),
            Self::Adaptive(c) => AnyKlController::Adaptive(c.init()?),
        })
    }
}

/// Either controller, as one serialisable type for trainers and their checkpoints:
/// `{"kind": "fixed", "beta": …}` or `{"kind": "adaptive", "beta": …, "target": …, "horizon": …}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnyKlController {
    /// A fixed β.
    Fixed(FixedKlController),
    /// An adaptive β.
    Adaptive(AdaptiveKlController),
}

impl KlController for AnyKlController {
    fn beta(&self) -> f64 {
        match self {
            Self::Fixed(c) => c.beta(),
            Self::Adaptive(c) => c.beta(),
        }
    }

    fn update(&mut self, observed_kl: f64, n_steps: usize) -> KlResult<f64> {
        match self {
            Self::Fixed(c) => c.update(observed_kl, n_steps),
            Self::Adaptive(c) => c.update(observed_kl, n_steps),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// Replays observed KLs and checks β after every step against the formula computed here
    /// independently, covering e inside (−0.2, 0.2), e = 0, both clip bounds (KL far above
    /// the target, KL = 0, a negative k1 KL) and varying n_steps.
    #[test]
    fn adaptive_follows_its_formula_step_by_step() {
        let (beta0, target, horizon) = (0.2, 6.0, 10_000usize);
        let mut c = AdaptiveKlConfig::new(beta0, target, horizon)
            .init()
            .unwrap();
        let steps: [(f64, usize); 9] = [
            (6.0, 256),   // e = 0
            (6.6, 256),   // e = 0.1
            (5.4, 256),   // e = −0.1
            (100.0, 256), // e = 1.5667 → 0.2
            (7.2, 256),   // e = 0.2 exactly
            (0.0, 256),   // e = −1 → −0.2
            (-3.0, 512),  // e = −1.5 → −0.2
            (4.8, 64),    // e = −0.2 exactly
            (6.3, 1000),  // e = 0.05
        ];
        let expected_e = [0.0, 0.1, -0.1, 0.2, 0.2, -0.2, -0.2, -0.2, 0.05];
        let mut beta = beta0;
        for ((kl, n), want_e) in steps.iter().zip(expected_e) {
            let raw = kl / target - 1.0;
            let e = raw.clamp(-0.2, 0.2);
            assert_relative_eq!(e, want_e, epsilon = 1e-12);
            assert_relative_eq!(c.proportional_error(*kl), want_e, epsilon = 1e-12);
            beta *= 1.0 + e * (*n as f64) / horizon as f64;
            let got = c.update(*kl, *n).unwrap();
            assert_relative_eq!(got, beta, max_relative = 1e-14);
            assert_eq!(got, c.beta());
        }
        // First clipped step by hand: 0.2 · 1.0 · (1 + 0.1·0.0256) · (1 − 0.1·0.0256)
        //   · (1 + 0.2·0.0256) = β after step 4.
        let mut c = AdaptiveKlConfig::new(0.2, 6.0, 10_000).init().unwrap();
        for (kl, n) in &steps[..4] {
            c.update(*kl, *n).unwrap();
        }
        assert_relative_eq!(
            c.beta(),
            0.2 * 1.00256 * 0.99744 * 1.00512,
            max_relative = 1e-14
        );
    }

    /// With n_steps / horizon = 0.1 the update is the paper's β(1 + K_β e) with K_β = 0.1.
    #[test]
    fn adaptive_matches_the_paper_k_beta() {
        let mut c = AdaptiveKlConfig::new(0.5, 10.0, 100).init().unwrap();
        assert_relative_eq!(
            c.update(11.0, 10).unwrap(),
            0.5 * 1.01,
            max_relative = 1e-15
        );
        assert_relative_eq!(
            c.update(1.0, 10).unwrap(),
            0.5 * 1.01 * 0.98,
            max_relative = 1e-15
        );
    }

    #[test]
    fn fixed_never_moves() {
        let mut c = FixedKlConfig::new(0.04).init().unwrap();
        for kl in [0.0, 1e9, -5.0, f64::NAN] {
            assert_eq!(c.update(kl, 128).unwrap(), 0.04);
        }
        assert_eq!(FixedKlConfig::new(0.0).init().unwrap().beta(), 0.0);
    }

    #[test]
    fn configs_are_validated() {
        let msg = |r: KlResult<AdaptiveKlController>| r.unwrap_err().to_string();
        assert_eq!(
            msg(AdaptiveKlConfig::new(0.0, 6.0, 10).init()),
            "invalid KL controller config: `init_beta`: expected a finite value > 0, got 0"
        );
        assert_eq!(
            msg(AdaptiveKlConfig::new(f64::INFINITY, 6.0, 10).init()),
            "invalid KL controller config: `init_beta`: expected a finite value > 0, got inf"
        );
        assert_eq!(
            msg(AdaptiveKlConfig::new(0.1, -1.0, 10).init()),
            "invalid KL controller config: `target`: expected a finite value > 0, got -1"
        );
        assert_eq!(
            msg(AdaptiveKlConfig::new(0.1, f64::NAN, 10).init()),
            "invalid KL controller config: `target`: expected a finite value > 0, got NaN"
        );
        assert_eq!(
            msg(AdaptiveKlConfig::new(0.1, 6.0, 0).init()),
            "invalid KL controller config: `horizon`: expected at least 1, got 0"
        );
        assert_eq!(
            FixedKlConfig::new(-0.1).init().unwrap_err().to_string(),
            "invalid KL controller config: `beta`: expected a finite value ≥ 0, got -0.1"
        );
        assert!(FixedKlConfig::new(f64::NAN).init().is_err());
    }

    #[test]
    fn refused_updates_leave_the_state_unchanged() {
        let mut c = AdaptiveKlConfig::new(0.2, 6.0, 100).init().unwrap();
        let before = c.clone();
        assert!(matches!(
            c.update(f64::NAN, 10),
            Err(KlError::Update { .. })
        ));
        assert!(matches!(
            c.update(f64::INFINITY, 10),
            Err(KlError::Update { .. })
        ));
        // e = −0.2 and n_steps = 5·horizon gives factor 0: β would reach 0.
        let err = c.update(0.0, 500).unwrap_err();
        assert!(err.to_string().contains("use n_steps ≤ 5·horizon"), "{err}");
        assert_eq!(c, before);
        // n_steps = 0 is a no-op update.
        assert_eq!(c.update(100.0, 0).unwrap(), 0.2);
    }

    #[test]
    fn state_round_trips_through_json_and_is_validated() {
        let mut c = AdaptiveKlConfig::new(0.2, 6.0, 10_000).init().unwrap();
        c.update(9.0, 256).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        let back: AdaptiveKlController = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.target(), 6.0);
        assert_eq!(back.horizon(), 10_000);
        let bad = r#"{"beta": -1.0, "target": 6.0, "horizon": 10}"#;
        let err = serde_json::from_str::<AdaptiveKlController>(bad).unwrap_err();
        assert!(
            err.to_string()
                .contains("`beta`: expected a finite value > 0"),
            "{err}"
        );
        let unknown = r#"{"beta": 1.0, "target": 6.0, "horizon": 10, "x": 1}"#;
        assert!(serde_json::from_str::<AdaptiveKlController>(unknown).is_err());

        let any = AnyKlController::Adaptive(c.clone());
        let json = serde_json::to_string(&any).unwrap();
        assert!(json.starts_with(r#"{"kind":"adaptive","beta":"#), "{json}");
        assert_eq!(serde_json::from_str::<AnyKlController>(&json).unwrap(), any);
        let fixed = AnyKlController::Fixed(FixedKlConfig::new(0.1).init().unwrap());
        let json = serde_json::to_string(&fixed).unwrap();
        assert_eq!(json, r#"{"kind":"fixed","beta":0.1}"#);
        assert_eq!(
            serde_json::from_str::<AnyKlController>(&json).unwrap(),
            fixed
        );
    }

    #[test]
    fn config_enum_parses_and_inits() {
        let cfg: KlControllerConfig = serde_json::from_str(
            r#"{"kind": "adaptive", "init_beta": 0.2, "target": 6.0, "horizon": 10000}"#,
        )
        .unwrap();
        let mut c = cfg.init().unwrap();
        assert_eq!(c.beta(), 0.2);
        assert_relative_eq!(
            c.update(100.0, 256).unwrap(),
            0.201024,
            max_relative = 1e-14
        );
        let cfg: KlControllerConfig =
            serde_json::from_str(r#"{"kind": "fixed", "beta": 0.05}"#).unwrap();
        assert_eq!(cfg.init().unwrap().beta(), 0.05);
        let bad: KlControllerConfig = serde_json::from_str(
            r#"{"kind": "adaptive", "init_beta": 0.2, "target": 0, "horizon": 1}"#,
        )
        .unwrap();
        assert!(bad.init().is_err());
        assert!(
            serde_json::from_str::<KlControllerConfig>(
                r#"{"kind": "fixed", "beta": 0.05, "typo": 1}"#
            )
            .is_err()
        );
    }
}
