//! The PPO clipped surrogate per token, with clip-higher (DAPO) and sequence-level importance
//! ratios (GSPO).

use burn::tensor::{Bool, Tensor};
use kl_control::{KlEstimator, TokenMask, masked_mean_batch};
use serde::{Deserialize, Serialize};

use crate::rl_error::{RlError, RlResult, bool_mask, check_non_empty, check_shape};

/// The clip range `[1 − low, 1 + high]` of the importance ratio.
///
/// PPO clips symmetrically (Schulman et al. 2017 use ε = 0.2; TRL's `epsilon` / `cliprange`
/// default 0.2); DAPO's clip-higher (Yu et al. 2025, "DAPO", §3.1) raises only the upper bound
/// (ε_low = 0.2, ε_high = 0.28) so that low-probability tokens can grow. TRL: `epsilon` and
/// `epsilon_high`; verl: `clip_ratio_low` / `clip_ratio_high`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipRange {
    /// ε_low ∈ [0, 1): ratios below `1 − low` are clipped (for negative advantages).
    pub low: f64,
    /// ε_high ≥ 0: ratios above `1 + high` are clipped (for positive advantages).
    pub high: f64,
}

impl ClipRange {
    /// `[1 − eps, 1 + eps]`.
    pub fn symmetric(eps: f64) -> Self {
        Self {
            low: eps,
            high: eps,
        }
    }

    /// `[1 − low, 1 + high]`.
    pub fn new(low: f64, high: f64) -> Self {
        Self { low, high }
    }

    fn validate(&self, place: &'static str) -> RlResult<()> {
        if !(self.low.is_finite() && (0.0..1.0).contains(&self.low)) {
            return Err(RlError::Argument {
                place,
                argument: "clip.low",
                message: format!("must be in [0, 1), got {}", self.low),
            });
        }
        if !(self.high.is_finite() && self.high >= 0.0) {
            return Err(RlError::Argument {
                place,
                argument: "clip.high",
                message: format!("must be finite and ≥ 0, got {}", self.high),
            });
        }
        Ok(())
    }
}

impl Default for ClipRange {
    /// PPO's ε = 0.2, both sides.
    fn default() -> Self {
        Self::symmetric(0.2)
    }
}

/// Where the importance ratio is taken: TRL `GRPOConfig.importance_sampling_level`
/// (serialised as `"token"` / `"sequence"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceLevel {
    /// One ratio per token, `π_θ(y_t)/π_old(y_t)` (PPO, GRPO).
    #[default]
    Token,
    /// One ratio per sequence, the geometric mean of its token ratios
    /// `exp(mean_t(log π_θ − log π_old))` over the masked tokens (GSPO's `s_i(θ)`, Zheng et al.
    /// 2025, "Group Sequence Policy Optimization"), shared by all tokens of the sequence.
    Sequence,
    /// One ratio per sequence, the ratio of the sequences' probabilities
    /// `exp(Σ_t (log π_θ − log π_old))` over the masked tokens: the REINFORCE-style
    /// sequence-level ratio of TRL 1.16's `RLOOTrainer` (`logps.sum(1) − old_logps`), shared by
    /// all tokens of the sequence.
    SequenceSum,
}

/// The advantages of a [`clipped_surrogate`]: per token `[B, T]` (GAE, REINFORCE++) or per
/// sequence `[B]` (GRPO, RLOO), broadcast over the tokens. Built with `.into()` from either
/// tensor.
#[derive(Clone, Debug)]
pub enum Advantages {
    /// `[B, T]`.
    PerToken(Tensor<2>),
    /// `[B]`.
    PerSequence(Tensor<1>),
}

impl From<Tensor<2>> for Advantages {
    fn from(a: Tensor<2>) -> Self {
        Self::PerToken(a)
    }
}

impl From<Tensor<1>> for Advantages {
    fn from(a: Tensor<1>) -> Self {
        Self::PerSequence(a)
    }
}

/// Diagnostics of a [`clipped_surrogate`], each `[1]` and detached, each a mean over the
/// masked tokens (0 when the mask is empty).
#[derive(Clone, Debug)]
pub struct SurrogateMetrics {
    /// Fraction of tokens clipped at the lower bound: `ratio < 1 − ε_low` and `A < 0` (TRL
    /// `clip_ratio/low_mean`).
    pub clip_frac_low: Tensor<1>,
    /// Fraction clipped at the upper bound: `ratio > 1 + ε_high` and `A > 0` (TRL
    /// `clip_ratio/high_mean`).
    pub clip_frac_high: Tensor<1>,
    /// Fraction of tokens whose gradient the clip removes, the union of the two (TRL
    /// `clip_ratio/region_mean`, TRL PPO `policy/clipfrac_avg`, verl `pg_clipfrac`).
    pub clip_frac: Tensor<1>,
    /// `½ · mean((log π_θ − log π_old)²)`, TRL `PPOTrainer`'s `approxkl` (the k2 estimate of
    /// KL(π_old ‖ π_θ)); TRL averages over all positions, padding included, this over the mask.
    pub approx_kl: Tensor<1>,
    /// `mean(e^d − 1 − d)` with `d = log π_θ − log π_old`: the k3 estimate of
    /// KL(π_old ‖ π_θ), unbiased and ≥ 0 (Schulman 2020; CleanRL's `approx_kl`).
    pub approx_kl_k3: Tensor<1>,
    /// Mean importance ratio used in the loss (per token, or the sequence ratio on each of the
    /// sequence's tokens).
    pub ratio_mean: Tensor<1>,
}

impl SurrogateMetrics {
    /// The metrics under TRL-style names: `clip_ratio/low_mean`, `clip_ratio/high_mean`,
    /// `clip_ratio/region_mean`, `policy/approx_kl`, `policy/approx_kl_k3`, `policy/ratio_mean`.
    pub fn named(&self) -> Vec<(&'static str, Tensor<1>)> {
        vec![
            ("clip_ratio/low_mean", self.clip_frac_low.clone()),
            ("clip_ratio/high_mean", self.clip_frac_high.clone()),
            ("clip_ratio/region_mean", self.clip_frac.clone()),
            ("policy/approx_kl", self.approx_kl.clone()),
            ("policy/approx_kl_k3", self.approx_kl_k3.clone()),
            ("policy/ratio_mean", self.ratio_mean.clone()),
        ]
    }
}

/// What [`clipped_surrogate`] returns.
#[derive(Clone, Debug)]
pub struct ClippedSurrogate {
    /// `[B, T]`: the per-token loss, differentiable w.r.t. `logp`, exactly 0 outside the mask.
    /// Reduce it with [`aggregate_loss`](super::aggregate_loss).
    pub per_token_loss: Tensor<2>,
    /// `[B, T]`: the importance ratio of each token (the sequence's ratio at every token for
    /// [`ImportanceLevel::Sequence`]), 1 outside the mask. Still attached to the graph (e.g.
    /// to weight a KL term); detach it for logging.
    pub ratio: Tensor<2>,
    /// Clip fractions, approximate KLs and the mean ratio.
    pub metrics: SurrogateMetrics,
}

/// The PPO clipped surrogate objective (Schulman et al. 2017, "Proximal Policy Optimization
/// Algorithms", eq. 7) as a per-token loss, with separate lower and upper clip ranges (DAPO
/// clip-higher) and token- or sequence-level importance ratios (GSPO):
///
/// ```text
/// Token:     log w[b,t] = logp[b,t] − old_logp[b,t]
/// Sequence:  log w[b,t] = Σ_s m[b,s]·(logp[b,s] − old_logp[b,s]) / max(1, Σ_s m[b,s])   ∀t
/// SequenceSum: log w[b,t] = Σ_s m[b,s]·(logp[b,s] − old_logp[b,s])                      ∀t
/// ratio = exp(log w)
/// loss[b,t] = −min(ratio·A, clip(ratio, 1 − ε_low, 1 + ε_high)·A)     (0 outside the mask)
/// ```
///
/// `logp [B, T]` are the log-probs of the sampled tokens under the policy being trained (with
/// gradients), `old_logp [B, T]` those under the policy that sampled them, `advantages` `[B, T]`
/// or `[B]` (see [`Advantages`]). `old_logp` and `advantages` are detached here, so gradients
/// flow only into `logp`: `∂loss/∂logp = −A·ratio` where the clip is inactive and exactly 0 for
/// clipped tokens (ratio above `1 + ε_high` with A > 0, below `1 − ε_low` with A < 0).
///
/// This is the per-token loss of TRL 1.16's `GRPOTrainer._compute_loss` (`loss_type` "grpo",
/// "bnpo", "dr_grpo", "dapo"; `trl/trainer/grpo_trainer.py`) before aggregation, and of TRL's
/// `PPOTrainer` (`pg_losses`, `pg_losses2`, `pg_loss_max`). The sequence level computes the
/// GSPO ratio as TRL's `importance_sampling_level = "sequence"` does, with no stop-gradient
/// other than on `old_logp`: where unclipped, one token's loss `−s·A` has the gradient
/// `−A·s/|y|` w.r.t. every log-prob of its sequence `y`. TRL's optional two-sided
/// `delta` clip and verl's dual-clip (`clip_ratio_c`) are not included. The clip fractions are
/// token-weighted means over the mask at both levels, like TRL's metrics at the token level;
/// for a sequence-level ratio with `[B]` advantages TRL averages them over sequences instead.
///
/// Positions outside the mask never influence anything (NaN or ±inf there is harmless and gets
/// a zero gradient). Everything stays on the device.
///
/// # Errors
/// [`RlError::Shape`](crate::RlError::Shape) if `old_logp` or `mask` is not the `[B, T]` of
/// `logp`, `advantages` is neither `[B]` nor `[B, T]`, or a dimension is 0;
/// [`RlError::Argument`](crate::RlError::Argument) if `clip.low ∉ [0, 1)` or `clip.high` is
/// negative or not finite.
pub fn clipped_surrogate(
    logp: Tensor<2>,
    old_logp: Tensor<2>,
    advantages: impl Into<Advantages>,
    mask: impl TokenMask,
    clip: ClipRange,
    level: ImportanceLevel,
) -> RlResult<ClippedSurrogate> {
    const PLACE: &str = "clipped_surrogate";
    let dims = logp.dims();
    let [b, t] = dims;
    check_non_empty(PLACE, "logp", &dims)?;
    check_shape(PLACE, "old_logp", &dims, &old_logp.dims())?;
    let mask = bool_mask(PLACE, dims, mask)?;
    clip.validate(PLACE)?;
    let adv = match advantages.into() {
        Advantages::PerToken(a) if a.dims() == dims => a.detach(),
        Advantages::PerSequence(a) if a.dims() == [b] => a.detach().reshape([b, 1]).expand(dims),
        other => {
            let got = match other {
                Advantages::PerToken(a) => a.dims().to_vec(),
                Advantages::PerSequence(a) => a.dims().to_vec(),
            };
            return Err(RlError::Shape {
                place: PLACE,
                argument: "advantages",
                expected: format!("[{b}] or [{b}, {t}]"),
                got,
            });
        }
    };
    // Every input is zeroed outside the mask before any arithmetic, so that junk there can
    // reach neither the loss nor, through 0·inf in the backward pass, the gradient.
    let off = mask.clone().bool_not();
    let adv = adv.mask_fill(off.clone(), 0.0);
    let old = old_logp.detach().mask_fill(off.clone(), 0.0);
    let logp = logp.mask_fill(off.clone(), 0.0);
    let log_ratio = logp.clone() - old.clone();
    let log_w = match level {
        ImportanceLevel::Token => log_ratio,
        ImportanceLevel::Sequence => {
            let count = mask.clone().float().sum_dim(1).clamp_min(1.0); // [B, 1]
            (log_ratio.sum_dim(1) / count).expand(dims)
        }
        ImportanceLevel::SequenceSum => log_ratio.sum_dim(1).expand(dims),
    };
    let ratio = log_w.exp();
    let clipped = ratio.clone().clamp(1.0 - clip.low, 1.0 + clip.high);
    let per_token_loss = (ratio.clone() * adv.clone())
        .min_pair(clipped * adv.clone())
        .neg()
        .mask_fill(off.clone(), 0.0);

    let metrics = surrogate_metrics(ratio.clone().detach(), adv, logp.detach(), old, mask, clip)?;
    Ok(ClippedSurrogate {
        per_token_loss,
        ratio: ratio.mask_fill(off, 1.0),
        metrics,
    })
}

fn surrogate_metrics(
    ratio: Tensor<2>,
    adv: Tensor<2>,
    logp: Tensor<2>,
    old: Tensor<2>,
    mask: Tensor<2, Bool>,
    clip: ClipRange,
) -> RlResult<SurrogateMetrics> {
    let low = ratio
        .clone()
        .lower_elem(1.0 - clip.low)
        .bool_and(adv.clone().lower_elem(0.0));
    let high = ratio
        .clone()
        .greater_elem(1.0 + clip.high)
        .bool_and(adv.greater_elem(0.0));
    let region = low.clone().bool_or(high.clone());
    let mean = |x: Tensor<2>| masked_mean_batch(x, mask.clone());
    Ok(SurrogateMetrics {
        clip_frac_low: mean(low.float())?,
        clip_frac_high: mean(high.float())?,
        clip_frac: mean(region.float())?,
        // K2/K3 with (logp, ref_logp) = (old, new): ½d² and e^d − 1 − d for d = new − old.
        approx_kl: mean(KlEstimator::K2.per_token(old.clone(), logp.clone())?)?,
        approx_kl_k3: mean(KlEstimator::K3.per_token(old, logp)?)?,
        ratio_mean: mean(ratio)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::super::advantage::test_util::{m2, rows, t1, t2, v1};
    use super::*;
    use approx::assert_relative_eq;
    use burn::tensor::{Device, TensorData};
    use proptest::prelude::*;

    fn s(x: Tensor<1>) -> f32 {
        v1(x)[0]
    }

    /// Ratios e^{±0.5} ≈ 1.6487 / 0.6065 and e^{0.1}: three clip cases by hand (ε = 0.2).
    #[test]
    fn hand_computed_token_level() {
        let old = t2(&[&[-1.0, -1.0, -1.0, -1.0]]);
        let logp = t2(&[&[-0.5, -1.5, -0.9, -0.5]]);
        let adv = t2(&[&[2.0, -1.0, 1.0, -3.0]]);
        let m = m2(&[&[1, 1, 1, 1]]);
        let out = clipped_surrogate(
            logp,
            old,
            adv,
            m,
            ClipRange::default(),
            ImportanceLevel::Token,
        )
        .unwrap();
        let l = &rows(out.per_token_loss)[0];
        let e = |x: f64| x.exp();
        // A > 0, ratio 1.65 > 1.2: clipped, −1.2·2.
        assert_relative_eq!(l[0] as f64, -2.4, epsilon = 1e-6);
        // A < 0, ratio 0.61 < 0.8: clipped, −0.8·(−1).
        assert_relative_eq!(l[1] as f64, 0.8, epsilon = 1e-6);
        // inside the range: −ratio·A.
        assert_relative_eq!(l[2] as f64, -e(0.1), epsilon = 1e-6);
        // A < 0, ratio above the range: the unclipped, larger loss 3·1.65 (pessimistic bound).
        assert_relative_eq!(l[3] as f64, 3.0 * e(0.5), epsilon = 1e-5);
        let m = &out.metrics;
        assert_eq!(
            (
                s(m.clip_frac_low.clone()),
                s(m.clip_frac_high.clone()),
                s(m.clip_frac.clone())
            ),
            (0.25, 0.25, 0.5)
        );
        let d = [0.5f64, -0.5, 0.1, 0.5];
        let k2 = d.iter().map(|d| 0.5 * d * d).sum::<f64>() / 4.0;
        let k3 = d.iter().map(|d| d.exp() - 1.0 - d).sum::<f64>() / 4.0;
        assert_relative_eq!(s(m.approx_kl.clone()) as f64, k2, epsilon = 1e-6);
        assert_relative_eq!(s(m.approx_kl_k3.clone()) as f64, k3, epsilon = 1e-6);
    }

    /// GSPO: one ratio exp(mean(d)) per sequence over its masked tokens, `[B]` advantages.
    #[test]
    fn sequence_level_shares_one_ratio() {
        let old = t2(&[&[-1.0, -2.0, -3.0], &[-1.0, -1.0, -1.0]]);
        let logp = t2(&[&[-0.9, -2.2, f32::NAN], &[-1.0, -1.0, -1.0]]);
        let m = m2(&[&[1, 1, 0], &[0, 0, 0]]);
        let out = clipped_surrogate(
            logp,
            old,
            t1(&[1.0, 5.0]),
            m,
            ClipRange::default(),
            ImportanceLevel::Sequence,
        )
        .unwrap();
        let w = (-0.05f64).exp(); // mean(0.1, −0.2)
        let r = rows(out.ratio);
        assert_relative_eq!(r[0][0] as f64, w, epsilon = 1e-6);
        assert_relative_eq!(r[0][1] as f64, w, epsilon = 1e-6);
        assert_eq!((r[0][2], r[1][0]), (1.0, 1.0));
        let l = rows(out.per_token_loss);
        assert_relative_eq!(l[0][0] as f64, -w, epsilon = 1e-6);
        assert_eq!((l[0][2], l[1][1]), (0.0, 0.0));
        assert_relative_eq!(s(out.metrics.ratio_mean) as f64, w, epsilon = 1e-6);
    }

    /// TRL RLOO's sequence ratio: `exp(Σ_t (logp − old))`, clipped like any ratio.
    #[test]
    fn sequence_sum_level_is_the_ratio_of_sequence_probabilities() {
        let old = t2(&[&[-1.0, -2.0, -3.0], &[-1.0, -1.0, -1.0]]);
        let logp = t2(&[&[-0.9, -2.05, f32::NAN], &[-1.2, -1.3, -1.0]]);
        let m = m2(&[&[1, 1, 0], &[1, 1, 1]]);
        let out = clipped_surrogate(
            logp,
            old,
            t1(&[1.0, -2.0]),
            m,
            ClipRange::default(),
            ImportanceLevel::SequenceSum,
        )
        .unwrap();
        let (w0, w1) = ((0.05f64).exp(), (-0.5f64).exp());
        let r = rows(out.ratio);
        assert_relative_eq!(r[0][1] as f64, w0, epsilon = 1e-6);
        assert_relative_eq!(r[1][2] as f64, w1, epsilon = 1e-6);
        let l = rows(out.per_token_loss);
        // Row 0: A > 0, ratio inside the band: −w0·A. Row 1: A < 0, ratio below 1 − ε: the
        // clipped term −(0.8)·(−2) = 1.6 is the larger, so it is the loss.
        assert_relative_eq!(l[0][0] as f64, -w0, epsilon = 1e-6);
        assert_relative_eq!(l[1][0] as f64, 1.6, epsilon = 1e-6);
    }

    /// NaN and ±inf outside the mask (in logp, old_logp and advantages) give finite losses and
    /// exactly zero gradient there, at both importance levels.
    #[test]
    fn junk_outside_the_mask_gets_zero_gradient() {
        let dev = Device::flex().autodiff();
        let mk = |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v, [1, 3]), &dev);
        for level in [ImportanceLevel::Token, ImportanceLevel::Sequence] {
            let logp = mk(vec![-1.1, f32::NAN, -0.5]).require_grad();
            let old = mk(vec![-1.2, f32::INFINITY, -0.4]);
            let adv = mk(vec![1.0, f32::NEG_INFINITY, -2.0]);
            let mask = Tensor::<2, burn::tensor::Int>::from_data(
                TensorData::new(vec![1, 0, 1], [1, 3]),
                &dev,
            );
            let out = clipped_surrogate(logp.clone(), old, adv, mask, ClipRange::default(), level)
                .unwrap();
            let loss = out.per_token_loss.sum();
            assert!(v1(loss.clone().detach())[0].is_finite());
            let g: Vec<f32> = logp
                .grad(&loss.backward())
                .unwrap()
                .try_into_vec_as()
                .unwrap();
            assert!(g.iter().all(|x| x.is_finite()), "{level:?}: {g:?}");
            assert_eq!(g[1], 0.0);
            assert!(g[0] != 0.0 && g[2] != 0.0, "{level:?}: {g:?}");
        }
    }

    #[test]
    fn arguments_are_validated() {
        let x = t2(&[&[-1.0, -1.0]]);
        let m = m2(&[&[1, 1]]);
        let run = |adv: Advantages, clip| {
            clipped_surrogate(
                x.clone(),
                x.clone(),
                adv,
                m.clone(),
                clip,
                ImportanceLevel::Token,
            )
            .map(|_| ())
            .unwrap_err()
            .to_string()
        };
        assert_eq!(
            run(t1(&[1.0, 2.0]).into(), ClipRange::default()),
            "clipped_surrogate: `advantages` has shape [2], expected [1] or [1, 2]"
        );
        assert_eq!(
            run(t1(&[1.0]).into(), ClipRange::new(1.0, 0.2)),
            "clipped_surrogate: `clip.low` must be in [0, 1), got 1"
        );
        assert_eq!(
            run(t1(&[1.0]).into(), ClipRange::new(0.2, -0.1)),
            "clipped_surrogate: `clip.high` must be finite and ≥ 0, got -0.1"
        );
        let r = clipped_surrogate(
            x.clone(),
            t2(&[&[1.0]]),
            t1(&[1.0]),
            m.clone(),
            ClipRange::default(),
            ImportanceLevel::Token,
        );
        assert!(matches!(
            r,
            Err(RlError::Shape {
                argument: "old_logp",
                ..
            })
        ));
        let c: ClipRange = serde_json::from_str(r#"{"low": 0.2, "high": 0.28}"#).unwrap();
        assert_eq!(c, ClipRange::new(0.2, 0.28));
        let lvl: ImportanceLevel = serde_json::from_str("\"sequence\"").unwrap();
        assert_eq!(lvl, ImportanceLevel::Sequence);
    }

    fn grad_case() -> impl Strategy<Value = (usize, usize, Vec<f32>, Vec<f32>, Vec<f32>, Vec<i32>)>
    {
        (1usize..4, 1usize..7).prop_flat_map(|(b, t)| {
            (
                Just(b),
                Just(t),
                proptest::collection::vec(-4.0f32..-0.01, b * t),
                proptest::collection::vec(-0.6f32..0.6, b * t),
                proptest::collection::vec(prop_oneof![-3.0f32..-0.01, 0.01f32..3.0], b * t),
                proptest::collection::vec(0i32..2, b * t),
            )
        })
    }

    proptest! {
        /// Token level: the gradient of Σ loss w.r.t. logp is exactly 0 for clipped tokens and
        /// off the mask, and −A·ratio (sign −A) otherwise.
        #[test]
        fn gradient_is_zero_when_clipped_and_minus_a_ratio_otherwise(
            (b, t, old, delta, adv, m) in grad_case(),
            low in 0.05f64..0.5,
            high in 0.05f64..0.5,
        ) {
            let dev = Device::flex().autodiff();
            let mk = |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [b, t]), &dev);
            let logp0: Vec<f32> = old.iter().zip(&delta).map(|(o, d)| o + d).collect();
            let logp = mk(&logp0).require_grad();
            let mask = Tensor::<2, burn::tensor::Int>::from_data(TensorData::new(m.clone(), [b, t]), &dev);
            let out = clipped_surrogate(
                logp.clone(), mk(&old), mk(&adv), mask, ClipRange::new(low, high),
                ImportanceLevel::Token,
            ).unwrap();
            let grads = out.per_token_loss.sum().backward();
            let g: Vec<f32> = logp.grad(&grads).unwrap().try_into_vec_as().unwrap();
            for i in 0..b * t {
                let ratio = ((logp0[i] - old[i]) as f64).exp();
                let a = adv[i] as f64;
                // margins keep f32 rounding away from the clip boundaries
                let clipped = (a > 0.0 && ratio > 1.0 + high + 1e-4)
                    || (a < 0.0 && ratio < 1.0 - low - 1e-4);
                let inside = ratio < 1.0 + high - 1e-4 && ratio > 1.0 - low + 1e-4
                    || (a > 0.0 && ratio < 1.0 - low - 1e-4)
                    || (a < 0.0 && ratio > 1.0 + high + 1e-4);
                if m[i] == 0 || clipped {
                    prop_assert_eq!(g[i], 0.0);
                } else if inside {
                    prop_assert!((g[i] as f64 + a * ratio).abs() < 1e-4 * (1.0 + a.abs() * ratio));
                    prop_assert!(g[i] != 0.0 && (g[i] > 0.0) == (a < 0.0));
                }
            }
        }
    }
}
