//! A terminal progress bar for training loops, over [`indicatif`].
//!
//! ```text
//! sft [00:01:23] ████████████░░░░░░░░░░░░  412/1000 eta 00:01:58  loss 1.9321 | lr 3.000e-4
//! ```
//!
//! The bar draws on stderr, and is hidden (every call becomes a no-op) when stderr is not a
//! terminal (CI logs, redirected output) or when the environment variable `RLHF_NO_PROGRESS`
//! is set to anything other than empty, `0` or `false`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Environment variable that hides the progress bar when set to `1` (or any value other than
/// empty, `0` or `false`).
pub const NO_PROGRESS_ENV: &str = "RLHF_NO_PROGRESS";

const TEMPLATE: &str =
    "{prefix:.bold} [{elapsed_precise}] {wide_bar:.cyan/blue} {pos}/{len} eta {eta_precise}  {msg}";

/// Progress of a training run: position `step / total_steps`, elapsed time, ETA and the latest
/// metric values.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    bar: ProgressBar,
}

impl TrainProgress {
    /// A bar for a run of `total_steps` optimizer steps, labelled `label` (e.g. `"sft"`).
    ///
    /// Hidden when stderr is not a terminal or when [`NO_PROGRESS_ENV`] is set (see the
    /// [module documentation](self)).
    pub fn new(total_steps: usize, label: &str) -> Self {
        let env = std::env::var(NO_PROGRESS_ENV).ok();
        let target = if should_hide(env.as_deref(), std::io::stderr().is_terminal()) {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self::with_target(total_steps, label, target)
    }

    /// A bar resuming at `start_step` (after loading a checkpoint): the ETA is estimated from
    /// the steps done in this process only.
    pub fn resumed(total_steps: usize, start_step: usize, label: &str) -> Self {
        let progress = Self::new(total_steps, label);
        progress.bar.set_position(start_step as u64);
        progress.bar.reset_eta();
        progress
    }

    /// A bar that never draws (for tests and non-interactive callers).
    pub fn hidden(total_steps: usize, label: &str) -> Self {
        Self::with_target(total_steps, label, ProgressDrawTarget::hidden())
    }

    fn with_target(total_steps: usize, label: &str, target: ProgressDrawTarget) -> Self {
        let style = ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▉▊▋▌▍▎▏ ");
        let bar = ProgressBar::with_draw_target(Some(total_steps as u64), target)
            .with_style(style)
            .with_prefix(label.to_string());
        Self { bar }
    }

    /// Sets the position to `step` completed steps and shows `values` (name, value) as the
    /// message, e.g. `&[("loss", 1.93), ("lr", 3e-4)]`.
    pub fn update(&self, step: usize, values: &[(&str, f64)]) {
        self.bar.set_position(step as u64);
        self.bar.set_message(format_values(values));
    }

    /// Sets the position to `step` completed steps, keeping the message.
    pub fn set_position(&self, step: usize) {
        self.bar.set_position(step as u64);
    }

    /// Prints `line` above the bar without garbling it. A hidden bar prints nothing, so output
    /// that must always appear belongs in a log or the metrics file instead.
    pub fn println(&self, line: impl AsRef<str>) {
        self.bar.println(line);
    }

    /// Finishes the bar, leaving its last state (position, elapsed time, values) on screen.
    pub fn finish(&self) {
        self.bar.finish();
    }

    /// Stops the bar where it is, leaving `message` on screen (e.g. on an error).
    pub fn abandon(&self, message: &str) {
        self.bar.abandon_with_message(message.to_string());
    }

    /// Whether the bar is hidden.
    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    /// The current position (completed steps).
    pub fn position(&self) -> usize {
        usize::try_from(self.bar.position()).unwrap_or(usize::MAX)
    }

    /// The message currently shown (the formatted values).
    pub fn message(&self) -> String {
        self.bar.message()
    }
}

/// Whether to hide the bar, given the value of [`NO_PROGRESS_ENV`] and whether stderr is a
/// terminal.
pub fn should_hide(no_progress_env: Option<&str>, stderr_is_terminal: bool) -> bool {
    let disabled = no_progress_env
        .map(str::trim)
        .is_some_and(|v| !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false")));
    disabled || !stderr_is_terminal
}

/// Formats `(name, value)` pairs as `name value | name value`, with 4 decimals for ordinary
/// magnitudes and scientific notation for very small or large ones (learning rates).
pub fn format_values(values: &[(&str, f64)]) -> String {
    values
        .iter()
        .map(|(name, value)| format!("{name} {}", format_value(*value)))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn format_value(v: f64) -> String {
    let a = v.abs();
    if !v.is_finite() {
        format!("{v}")
    } else if v == 0.0 {
        "0".to_string()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hide_rules() {
        assert!(should_hide(None, false));
        assert!(!should_hide(None, true));
        assert!(should_hide(Some("1"), true));
        assert!(should_hide(Some("yes"), true));
        assert!(!should_hide(Some("0"), true));
        assert!(!should_hide(Some(""), true));
        assert!(!should_hide(Some("false"), true));
        assert!(should_hide(Some("0"), false));
    }

    #[test]
    fn formats_values() {
        assert_eq!(
            format_values(&[("loss", 1.93213), ("lr", 3e-4)]),
            "loss 1.9321 | lr 3.000e-4"
        );
        assert_eq!(format_values(&[("kl", 0.0)]), "kl 0");
        assert_eq!(format_values(&[("loss", f64::NAN)]), "loss NaN");
        assert_eq!(format_values(&[("x", -123456.0)]), "x -1.235e5");
        assert_eq!(format_values(&[]), "");
    }

    #[test]
    fn hidden_bar_updates_and_finishes() {
        let p = TrainProgress::hidden(100, "sft");
        assert!(p.is_hidden());
        p.update(10, &[("loss", 2.5), ("lr", 1e-4)]);
        assert_eq!(p.position(), 10);
        assert_eq!(p.message(), "loss 2.5000 | lr 1.000e-4");
        p.println("not shown");
        p.update(100, &[("loss", 1.0)]);
        p.finish();
        assert_eq!(p.position(), 100);
        // Updating past the end or after finishing does not panic.
        p.update(150, &[]);
        p.abandon("stopped");
    }

    #[test]
    fn new_is_hidden_without_a_terminal() {
        // Under `cargo test` stderr is captured, so not a terminal.
        if !std::io::stderr().is_terminal() {
            assert!(TrainProgress::new(10, "x").is_hidden());
            let r = TrainProgress::resumed(10, 4, "x");
            assert_eq!(r.position(), 4);
        }
    }
}
