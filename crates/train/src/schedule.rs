//! Learning-rate schedules: linear warmup followed by cosine, linear or no decay.
//!
//! The schedules follow Hugging Face `transformers`
//! (`get_cosine_schedule_with_warmup`, `get_linear_schedule_with_warmup`,
//! `get_constant_schedule_with_warmup`), with an optional floor `min_lr_ratio * peak_lr` as in
//! `get_cosine_with_min_lr_schedule_with_warmup`.
//!
//! [`LrSchedule::lr`] is a pure function of the optimizer step, so a resumed run recomputes the
//! learning rate from the step counter alone; no scheduler state needs to be checkpointed.

use rlhf_core::ConfigError;
use rlhf_core::config::{check_in_range, check_non_negative, check_non_zero};
use serde::{Deserialize, Serialize};

use super::error::TrainError;

/// A learning-rate schedule, indexed by the 0-based optimizer step.
///
/// `lr(step)` is the learning rate to use for optimizer step number `step` (the first update is
/// step 0). With `w = warmup_steps`, `T = total_steps`, `P = peak_lr`, `r = min_lr_ratio`:
///
/// ```text
/// warmup (step < w):   lr = P * step / w                          (so lr(0) = 0, as in HF)
///
/// after warmup, with progress p = clamp((step - w) / max(1, T - w), 0, 1):
///   Cosine:       lr = P * (r + (1 - r) * 0.5 * (1 + cos(pi * p)))
///   LinearDecay:  lr = P * (r + (1 - r) * (1 - p))
///   Constant:     lr = P
/// ```
///
/// With `r = 0` the cosine and linear schedules equal Hugging Face's
/// `get_cosine_schedule_with_warmup` (one half cycle) and `get_linear_schedule_with_warmup`.
/// Steps at or beyond `total_steps` stay at the floor `r * P` (HF's cosine would start rising
/// again; clamping is the safer choice when a run overshoots its planned length).
///
/// Serialized with an internal tag, e.g.
/// `{"kind":"cosine","peak_lr":3e-4,"warmup_steps":100,"total_steps":1000,"min_lr_ratio":0.1}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LrSchedule {
    /// Linear warmup to `lr`, then constant.
    Constant {
        /// The learning rate after warmup.
        lr: f64,
        /// Number of warmup steps (0 for none).
        #[serde(default)]
        warmup_steps: usize,
    },
    /// Linear warmup to `peak_lr`, then linear decay to `min_lr_ratio * peak_lr` at `total_steps`.
    LinearDecay {
        /// The learning rate at the end of warmup.
        peak_lr: f64,
        /// Number of warmup steps (0 for none).
        #[serde(default)]
        warmup_steps: usize,
        /// Total number of optimizer steps of the run, warmup included.
        total_steps: usize,
        /// Final learning rate as a fraction of `peak_lr`, in `[0, 1]`.
        #[serde(default)]
        min_lr_ratio: f64,
    },
    /// Linear warmup to `peak_lr`, then half-cosine decay to `min_lr_ratio * peak_lr` at
    /// `total_steps`.
    Cosine {
        /// The learning rate at the end of warmup.
        peak_lr: f64,
        /// Number of warmup steps (0 for none).
        #[serde(default)]
        warmup_steps: usize,
        /// Total number of optimizer steps of the run, warmup included.
        total_steps: usize,
        /// Final learning rate as a fraction of `peak_lr`, in `[0, 1]`.
        #[serde(default)]
        min_lr_ratio: f64,
    },
}

impl LrSchedule {
    /// Cosine schedule with warmup (`min_lr_ratio` 0 gives HF's `get_cosine_schedule_with_warmup`).
    pub fn cosine(
        peak_lr: f64,
        warmup_steps: usize,
        total_steps: usize,
        min_lr_ratio: f64,
    ) -> Self {
        Self::Cosine {
            peak_lr,
            warmup_steps,
            total_steps,
            min_lr_ratio,
        }
    }

    /// Linear-decay schedule with warmup (`min_lr_ratio` 0 gives HF's
    /// `get_linear_schedule_with_warmup`).
    pub fn linear_decay(
        peak_lr: f64,
        warmup_steps: usize,
        total_steps: usize,
        min_lr_ratio: f64,
    ) -> Self {
        Self::LinearDecay {
            peak_lr,
            warmup_steps,
            total_steps,
            min_lr_ratio,
        }
    }

    /// Constant learning rate after `warmup_steps` of linear warmup.
    pub fn constant(lr: f64, warmup_steps: usize) -> Self {
        Self::Constant { lr, warmup_steps }
    }

    /// The peak learning rate (the value reached at the end of warmup).
    pub fn peak_lr(&self) -> f64 {
        match self {
            Self::Constant { lr, .. } => *lr,
            Self::LinearDecay { peak_lr, .. } | Self::Cosine { peak_lr, .. } => *peak_lr,
        }
    }

    /// The lowest learning rate reached after warmup: `min_lr_ratio * peak_lr` for the decaying
    /// schedules, `lr` for [`LrSchedule::Constant`].
    pub fn min_lr(&self) -> f64 {
        match self {
            Self::Constant { lr, .. } => *lr,
            Self::LinearDecay {
                peak_lr,
                min_lr_ratio,
                ..
            }
            | Self::Cosine {
                peak_lr,
                min_lr_ratio,
                ..
            } => peak_lr * min_lr_ratio,
        }
    }

    /// Number of warmup steps.
    pub fn warmup_steps(&self) -> usize {
        match self {
            Self::Constant { warmup_steps, .. }
            | Self::LinearDecay { warmup_steps, .. }
            | Self::Cosine { warmup_steps, .. } => *warmup_steps,
        }
    }

    /// Checks the configuration: learning rates finite and non-negative, `min_lr_ratio` in
    /// `[0, 1]`, `total_steps > 0` and `warmup_steps <= total_steps` for decaying schedules.
    ///
    /// The error names the offending field and value.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.check().map_err(TrainError::Schedule)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let check_lr = |field: &str, lr: f64| check_non_negative(field, lr);
        match self {
            Self::Constant { lr, .. } => check_lr("lr", *lr),
            Self::LinearDecay {
                peak_lr,
                warmup_steps,
                total_steps,
                min_lr_ratio,
            }
            | Self::Cosine {
                peak_lr,
                warmup_steps,
                total_steps,
                min_lr_ratio,
            } => {
                check_lr("peak_lr", *peak_lr)?;
                check_in_range("min_lr_ratio", *min_lr_ratio, 0.0, 1.0)?;
                check_non_zero("total_steps", *total_steps)?;
                if warmup_steps > total_steps {
                    return Err(ConfigError::new(
                        "warmup_steps",
                        format_args!("at most `total_steps` ({total_steps})"),
                        warmup_steps,
                    ));
                }
                Ok(())
            }
        }
    }

    /// The learning rate for the 0-based optimizer step `step` (see the type's documentation
    /// for the formulas). Pure: depends only on `self` and `step`.
    pub fn lr(&self, step: usize) -> f64 {
        let peak = self.peak_lr();
        let warmup = self.warmup_steps();
        if step < warmup {
            return peak * step as f64 / warmup as f64;
        }
        match self {
            Self::Constant { lr, .. } => *lr,
            Self::LinearDecay {
                peak_lr,
                total_steps,
                min_lr_ratio,
                ..
            } => {
                let p = progress(step, warmup, *total_steps);
                peak_lr * (min_lr_ratio + (1.0 - min_lr_ratio) * (1.0 - p))
            }
            Self::Cosine {
                peak_lr,
                total_steps,
                min_lr_ratio,
                ..
            } => {
                let p = progress(step, warmup, *total_steps);
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * p).cos());
                peak_lr * (min_lr_ratio + (1.0 - min_lr_ratio) * cosine)
            }
        }
    }
}

/// Fraction of the decay phase done at `step` (`step >= warmup`), clamped to `[0, 1]`.
fn progress(step: usize, warmup: usize, total: usize) -> f64 {
    let done = step.saturating_sub(warmup) as f64;
    let span = total.saturating_sub(warmup).max(1) as f64;
    (done / span).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    const PEAK: f64 = 1e-3;

    #[test]
    fn cosine_hand_computed_values() {
        // warmup 10, total 110: decay phase spans 100 steps.
        let s = LrSchedule::cosine(PEAK, 10, 110, 0.0);
        s.validate().unwrap();
        assert_eq!(s.lr(0), 0.0);
        assert_relative_eq!(s.lr(5), 0.5e-3, max_relative = 1e-12);
        assert_relative_eq!(s.lr(10), 1e-3, max_relative = 1e-12);
        // Quarter of the decay: 0.5 * (1 + cos(pi/4)) = 0.853553390593...
        assert_relative_eq!(s.lr(35), 0.853_553_390_593_273_8e-3, max_relative = 1e-12);
        // Halfway through the cosine: exactly half the peak.
        assert_relative_eq!(s.lr(60), 0.5e-3, max_relative = 1e-12);
        assert_relative_eq!(s.lr(110), 0.0, epsilon = 1e-18);
        // Past the end it stays at the floor.
        assert_relative_eq!(s.lr(500), 0.0, epsilon = 1e-18);
    }

    #[test]
    fn cosine_with_min_ratio() {
        let s = LrSchedule::cosine(PEAK, 10, 110, 0.1);
        s.validate().unwrap();
        assert_eq!(s.lr(0), 0.0);
        assert_relative_eq!(s.lr(10), 1e-3, max_relative = 1e-12);
        // 0.1 + 0.9 * 0.5 = 0.55
        assert_relative_eq!(s.lr(60), 0.55e-3, max_relative = 1e-12);
        assert_relative_eq!(s.lr(110), 0.1e-3, max_relative = 1e-12);
        assert_relative_eq!(s.min_lr(), 0.1e-3, max_relative = 1e-12);
    }

    #[test]
    fn linear_decay_hand_computed_values() {
        let s = LrSchedule::linear_decay(PEAK, 4, 14, 0.0);
        s.validate().unwrap();
        assert_eq!(s.lr(0), 0.0);
        assert_relative_eq!(s.lr(1), 0.25e-3, max_relative = 1e-12);
        assert_relative_eq!(s.lr(4), 1e-3, max_relative = 1e-12);
        assert_relative_eq!(s.lr(9), 0.5e-3, max_relative = 1e-12);
        assert_relative_eq!(s.lr(14), 0.0, epsilon = 1e-18);
        let floored = LrSchedule::linear_decay(PEAK, 4, 14, 0.2);
        // 0.2 + 0.8 * 0.5 = 0.6
        assert_relative_eq!(floored.lr(9), 0.6e-3, max_relative = 1e-12);
        assert_relative_eq!(floored.lr(100), 0.2e-3, max_relative = 1e-12);
    }

    #[test]
    fn constant_with_and_without_warmup() {
        let s = LrSchedule::constant(2e-5, 0);
        s.validate().unwrap();
        assert_eq!(s.lr(0), 2e-5);
        assert_eq!(s.lr(1_000_000), 2e-5);
        let w = LrSchedule::constant(2e-5, 4);
        assert_eq!(w.lr(0), 0.0);
        assert_relative_eq!(w.lr(2), 1e-5, max_relative = 1e-12);
        assert_eq!(w.lr(4), 2e-5);
    }

    #[test]
    fn zero_warmup_starts_at_peak_and_warmup_equal_total_is_valid() {
        let s = LrSchedule::cosine(PEAK, 0, 100, 0.0);
        assert_eq!(s.lr(0), PEAK);
        let all_warmup = LrSchedule::cosine(PEAK, 100, 100, 0.0);
        all_warmup.validate().unwrap();
        assert_relative_eq!(all_warmup.lr(50), 0.5e-3, max_relative = 1e-12);
        assert!(all_warmup.lr(100).is_finite());
    }

    #[test]
    fn validate_rejects_bad_values_naming_the_field() {
        let cases = [
            (LrSchedule::cosine(PEAK, 200, 100, 0.0), "warmup_steps"),
            (LrSchedule::cosine(-1e-3, 0, 100, 0.0), "peak_lr"),
            (LrSchedule::cosine(f64::NAN, 0, 100, 0.0), "peak_lr"),
            (LrSchedule::cosine(PEAK, 0, 100, 1.5), "min_lr_ratio"),
            (LrSchedule::linear_decay(PEAK, 0, 100, -0.1), "min_lr_ratio"),
            (
                LrSchedule::linear_decay(PEAK, 0, 100, f64::NAN),
                "min_lr_ratio",
            ),
            (LrSchedule::linear_decay(PEAK, 0, 0, 0.0), "total_steps"),
            (LrSchedule::constant(-1.0, 0), "lr"),
        ];
        for (schedule, field) in cases {
            let err = schedule.validate().unwrap_err();
            match &err {
                TrainError::Schedule(e) => assert_eq!(e.field, field, "{schedule:?}"),
                other => panic!("unexpected error {other:?}"),
            }
            assert!(err.to_string().contains(&format!("`{field}`")), "{err}");
        }
    }

    #[test]
    fn serde_round_trip_and_defaults() {
        let s = LrSchedule::cosine(3e-4, 100, 1000, 0.1);
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""kind":"cosine""#), "{json}");
        let back: LrSchedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
        let minimal: LrSchedule =
            serde_json::from_str(r#"{"kind":"linear_decay","peak_lr":1e-4,"total_steps":10}"#)
                .unwrap();
        assert_eq!(minimal, LrSchedule::linear_decay(1e-4, 0, 10, 0.0));
        assert!(
            serde_json::from_str::<LrSchedule>(r#"{"kind":"constant","lr":1,"typo":2}"#).is_err()
        );
    }

    fn arb_schedule() -> impl Strategy<Value = LrSchedule> {
        (
            1e-7f64..1.0,
            0usize..200,
            1usize..2000,
            0.0f64..=1.0,
            0u8..3,
        )
            .prop_map(|(peak, warmup, extra, ratio, kind)| {
                let total = warmup + extra;
                match kind {
                    0 => LrSchedule::cosine(peak, warmup, total, ratio),
                    1 => LrSchedule::linear_decay(peak, warmup, total, ratio),
                    _ => LrSchedule::constant(peak, warmup),
                }
            })
    }

    proptest! {
        #[test]
        fn lr_bounded_and_monotone_after_warmup(s in arb_schedule()) {
            prop_assert!(s.validate().is_ok());
            let peak = s.peak_lr();
            let min = s.min_lr();
            let tol = 1e-12 * peak;
            let warmup = s.warmup_steps();
            let end = match &s {
                LrSchedule::Cosine { total_steps, .. }
                | LrSchedule::LinearDecay { total_steps, .. } => *total_steps,
                LrSchedule::Constant { .. } => warmup + 50,
            };
            let mut prev = f64::INFINITY;
            for step in 0..=end + 10 {
                let lr = s.lr(step);
                prop_assert!(lr.is_finite());
                prop_assert!((0.0..=peak + tol).contains(&lr), "step {} lr {}", step, lr);
                if step >= warmup {
                    prop_assert!(lr >= min - tol && lr <= peak + tol, "step {} lr {}", step, lr);
                    prop_assert!(lr <= prev + tol, "not monotone at step {}: {} > {}", step, lr, prev);
                    prev = lr;
                } else if step > 0 {
                    prop_assert!(lr >= s.lr(step - 1), "warmup not increasing at {}", step);
                }
            }
        }
    }
}
