//! [`ConfigError`]: the one shape of a configuration error across the rlhf crates — the
//! field at fault, what would be accepted and what was given — with the checks most
//! configurations repeat.
//!
//! ```
//! use rlhf_core::ConfigError;
//! use rlhf_core::config::check_positive;
//!
//! let e = check_positive("learning_rate", f64::NAN).unwrap_err();
//! assert_eq!(e.to_string(), "`learning_rate`: expected a finite value > 0, got NaN");
//! // A nested table's name in front of the field, as a run configuration reports it.
//! assert_eq!(e.within("train").field, "train.learning_rate");
//! ```

use std::fmt::Display;

/// A configuration value out of its domain: the field (a name such as `beta`, or a dotted
/// path such as `train.learning_rate`), what would be accepted and what was given.
///
/// Displayed as ``"`field`: expected <expected>, got <got>"``.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: expected {expected}, got {got}")]
pub struct ConfigError {
    /// The field, a name or a dotted path into the configuration (`train.steps`,
    /// `loss.beta`).
    pub field: String,
    /// What would be accepted, in words (`a finite value > 0`, `at least 1`).
    pub expected: String,
    /// The value given (or, where the value alone does not explain the problem, a short
    /// description of it).
    pub got: String,
}

impl ConfigError {
    /// `field`: expected `expected`, got `got`.
    pub fn new(field: impl Into<String>, expected: impl Display, got: impl Display) -> Self {
        Self {
            field: field.into(),
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }

    /// The same error with `prefix.` in front of the field (a nested table's name).
    #[must_use]
    pub fn within(mut self, prefix: &str) -> Self {
        self.field = format!("{prefix}.{}", self.field);
        self
    }
}

/// A number the float checks accept: anything that widens to `f64` without loss (`f32`,
/// `f64`, small integers); the error shows it as given.
pub trait Float: Into<f64> + Display + Copy {}

impl<T: Into<f64> + Display + Copy> Float for T {}

/// `value` is finite and > 0 (learning rates, temperatures, epsilons, scales).
pub fn check_positive<F: Float>(field: &str, value: F) -> Result<(), ConfigError> {
    let v: f64 = value.into();
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(field, "a finite value > 0", value))
    }
}

/// `value` is finite and ≥ 0 (coefficients where 0 disables a term).
pub fn check_non_negative<F: Float>(field: &str, value: F) -> Result<(), ConfigError> {
    let v: f64 = value.into();
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(ConfigError::new(field, "a finite value ≥ 0", value))
    }
}

/// `value` is at least 1 (counts and sizes).
pub fn check_non_zero(field: &str, value: usize) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::new(field, "at least 1", 0))
    } else {
        Ok(())
    }
}

/// `value` lies in the closed interval `[low, high]` (NaN never does).
pub fn check_in_range<F: Float>(
    field: &str,
    value: F,
    low: f64,
    high: f64,
) -> Result<(), ConfigError> {
    if (low..=high).contains(&value.into()) {
        Ok(())
    } else {
        Err(ConfigError::new(
            field,
            format_args!("a value in [{low}, {high}]"),
            value,
        ))
    }
}

/// `value` is a probability strictly between 0 and 1 (clip ranges, quantiles, shares that
/// must leave something on both sides).
pub fn check_open_probability<F: Float>(field: &str, value: F) -> Result<(), ConfigError> {
    let v: f64 = value.into();
    if v > 0.0 && v < 1.0 {
        Ok(())
    } else {
        Err(ConfigError::new(field, "a value in (0, 1)", value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_expected_and_got() {
        let e = ConfigError::new("lr", "a finite value > 0", f64::NAN);
        assert_eq!(e.to_string(), "`lr`: expected a finite value > 0, got NaN");
        let e = ConfigError::new(String::from("steps"), "at least 1", 0).within("train");
        assert_eq!(e.field, "train.steps");
        assert_eq!(e.to_string(), "`train.steps`: expected at least 1, got 0");
    }

    #[test]
    fn positive_and_non_negative() {
        assert!(check_positive("x", 1e-9).is_ok());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let e = check_positive("x", bad).unwrap_err();
            assert_eq!(e.expected, "a finite value > 0");
            assert_eq!(e.got, bad.to_string());
        }
        assert!(check_non_negative("x", 0.0).is_ok());
        assert_eq!(
            check_non_negative("beta", -0.5).unwrap_err().to_string(),
            "`beta`: expected a finite value ≥ 0, got -0.5"
        );
        assert!(check_non_negative("x", f64::INFINITY).is_err());
        // f32 values are shown as given, not widened.
        assert_eq!(check_positive("eps", -0.1f32).unwrap_err().got, "-0.1");
    }

    #[test]
    fn non_zero_range_and_probability() {
        assert!(check_non_zero("n", 1).is_ok());
        assert_eq!(
            check_non_zero("n", 0).unwrap_err().to_string(),
            "`n`: expected at least 1, got 0"
        );
        assert!(check_in_range("p", 0.0, 0.0, 1.0).is_ok());
        assert!(check_in_range("p", 1.0, 0.0, 1.0).is_ok());
        assert_eq!(
            check_in_range("p", 1.5, 0.0, 1.0).unwrap_err().to_string(),
            "`p`: expected a value in [0, 1], got 1.5"
        );
        assert!(check_in_range("p", f64::NAN, 0.0, 1.0).is_err());
        assert!(check_open_probability("q", 0.5).is_ok());
        for bad in [0.0, 1.0, f64::NAN] {
            assert_eq!(
                check_open_probability("q", bad).unwrap_err().expected,
                "a value in (0, 1)"
            );
        }
    }
}
