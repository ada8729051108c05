//! The inputs of every DPO-family loss: per-pair summed completion log-probabilities.

use burn::tensor::Tensor;

use super::DpoError;

/// Log-probabilities of a batch of `B` preference pairs `(x, y_w, y_l)`, all `[B]`.
///
/// `policy_*` carry the gradient; `ref_*`, the lengths and the labels are constants. Build
/// with [`PairLogps::new`] and the `with_*` methods.
#[derive(Clone, Debug)]
pub struct PairLogps {
    /// `log π_θ(y_w | x)`: the policy's log-prob of the chosen completion, summed over its
    /// tokens.
    pub policy_chosen: Tensor<1>,
    /// `log π_θ(y_l | x)`, summed over the rejected completion's tokens.
    pub policy_rejected: Tensor<1>,
    /// `log π_ref(y_w | x)`; `None` for reference-free losses (SimPO, ORPO, SFT).
    pub ref_chosen: Option<Tensor<1>>,
    /// `log π_ref(y_l | x)`; `None` for reference-free losses.
    pub ref_rejected: Option<Tensor<1>>,
    /// `|y_w|`: number of completion tokens of the chosen completion (≥ 1, as float).
    pub chosen_len: Tensor<1>,
    /// `|y_l|`: number of completion tokens of the rejected completion (≥ 1, as float).
    pub rejected_len: Tensor<1>,
    /// Soft labels `p = P(y_w ≻ y_l)` in [0, 1]; `None` means 1 for every pair.
    pub p_chosen: Option<Tensor<1>>,
    /// `[1]`: token-mean NLL of the chosen sequences over prompt *and* completion tokens, as
    /// TRL's `ORPOTrainer` computes it. Used by ORPO only; when `None`, ORPO uses the
    /// completion-token NLL `−Σ_b log π_θ(y_w) / Σ_b |y_w|` (the [`sft_loss`](super::sft_loss)).
    pub chosen_full_nll: Option<Tensor<1>>,
}

impl PairLogps {
    /// Policy log-probs and completion lengths; no reference, hard labels.
    pub fn new(
        policy_chosen: Tensor<1>,
        policy_rejected: Tensor<1>,
        chosen_len: Tensor<1>,
        rejected_len: Tensor<1>,
    ) -> Self {
        Self {
            policy_chosen,
            policy_rejected,
            ref_chosen: None,
            ref_rejected: None,
            chosen_len,
            rejected_len,
            p_chosen: None,
            chosen_full_nll: None,
        }
    }

    /// Adds the reference model's summed log-probs.
    pub fn with_reference(mut self, ref_chosen: Tensor<1>, ref_rejected: Tensor<1>) -> Self {
        self.ref_chosen = Some(ref_chosen);
        self.ref_rejected = Some(ref_rejected);
        self
    }

    /// Adds soft labels `p_chosen ∈ [0, 1]`.
    pub fn with_soft_labels(mut self, p_chosen: Tensor<1>) -> Self {
        self.p_chosen = Some(p_chosen);
        self
    }

    /// Adds ORPO's NLL over prompt and completion tokens (`[1]`).
    pub fn with_chosen_full_nll(mut self, nll: Tensor<1>) -> Self {
        self.chosen_full_nll = Some(nll);
        self
    }

    /// The number of pairs `B`.
    pub fn batch_size(&self) -> usize {
        self.policy_chosen.dims()[0]
    }

    /// Checks shapes (every tensor `[B]`, `B ≥ 1`; `chosen_full_nll` `[1]`) and values
    /// (finite lengths ≥ 1, finite labels in [0, 1]). Returns `B` and the labels read back
    /// to the host (for the soft-label check against the configured losses).
    pub(crate) fn validate(&self) -> Result<(usize, Option<Vec<f32>>), DpoError> {
        let b = self.batch_size();
        if b == 0 {
            return Err(DpoError::Shape {
                field: "policy_chosen",
                expected: vec![1],
                got: vec![0],
            });
        }
        let fields: [(&'static str, Option<&Tensor<1>>); 7] = [
            ("policy_rejected", Some(&self.policy_rejected)),
            ("ref_chosen", self.ref_chosen.as_ref()),
            ("ref_rejected", self.ref_rejected.as_ref()),
            ("chosen_len", Some(&self.chosen_len)),
            ("rejected_len", Some(&self.rejected_len)),
            ("p_chosen", self.p_chosen.as_ref()),
            ("chosen_full_nll", self.chosen_full_nll.as_ref()),
        ];
        for (field, t) in fields {
            let Some(t) = t else { continue };
            let expected = if field == "chosen_full_nll" { 1 } else { b };
            if t.dims() != [expected] {
                return Err(DpoError::Shape {
                    field,
                    expected: vec![expected],
                    got: t.dims().to_vec(),
                });
            }
        }
        for (field, t) in [
            ("chosen_len", &self.chosen_len),
            ("rejected_len", &self.rejected_len),
        ] {
            check_values(field, t, "a finite token count ≥ 1", |v| {
                v.is_finite() && v >= 1.0
            })?;
        }
        let labels = match &self.p_chosen {
            Some(p) => Some(check_values(
                "p_chosen",
                p,
                "a probability in [0, 1]",
                |v| (0.0..=1.0).contains(&v),
            )?),
            None => None,
        };
        Ok((b, labels))
    }
}

/// Reads `t` to the host and checks every value; returns the values.
pub(crate) fn check_values(
    field: &'static str,
    t: &Tensor<1>,
    expected: &'static str,
    ok: impl Fn(f32) -> bool,
) -> Result<Vec<f32>, DpoError> {
    let values: Vec<f32> = t
        .clone()
        .try_into_vec_as::<f32>()
        .map_err(|e| DpoError::Device {
            field,
            message: e.to_string(),
        })?;
    if let Some((index, &got)) = values.iter().enumerate().find(|(_, v)| !ok(**v)) {
        return Err(DpoError::Value {
            field,
            index,
            expected,
            got,
        });
    }
    Ok(values)
}
