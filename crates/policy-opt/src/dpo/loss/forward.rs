//! Evaluation of a configured DPO-family loss on a batch of pairs.

use burn::tensor::Tensor;

use super::input::check_values;
use super::sft::chosen_nll;
use super::{
    DpoError, DpoLoss, DpoLossOutput, DpoLossType, PairLogps, aot_loss, aot_unpaired_loss,
    apo_down_loss, apo_zero_loss, bco_pair_loss, discopop_loss, exo_pair_loss, hinge_loss,
    ipo_loss, nca_pair_loss, orpo_loss, robust_loss, sft_loss, sigmoid_loss, sigmoid_norm_loss,
    simpo_loss, sppo_hard_loss,
};

impl DpoLoss {
    /// The loss, per-pair values and implicit rewards of a batch of pairs.
    ///
    /// Errors (nothing panics on bad input): shapes that are not all `[B]`, `B = 0`;
    /// lengths below 1; labels outside [0, 1], or soft labels for a loss that only takes
    /// hard ones; missing reference log-probs for a loss that needs them; for ORPO, an
    /// average log-prob that is not negative.
    pub fn forward(&self, logps: &PairLogps) -> Result<DpoLossOutput, DpoError> {
        let (b, labels) = logps.validate()?;
        let types = &self.config.loss_types;
        if let Some(labels) = &labels
            && let Some((index, &got)) = labels.iter().enumerate().find(|(_, p)| **p != 1.0)
            && let Some(t) = types.iter().find(|t| !t.accepts_soft_labels())
        {
            return Err(DpoError::SoftLabelsUnsupported {
                loss: t.name(),
                index,
                got,
            });
        }
        let reference = if self.needs_reference() {
            let loss = types
                .iter()
                .find(|t| t.needs_reference())
                .map_or("", |t| t.name());
            let missing = |field| DpoError::MissingReference { loss, field };
            Some((
                logps
                    .ref_chosen
                    .clone()
                    .ok_or_else(|| missing("ref_chosen"))?,
                logps
                    .ref_rejected
                    .clone()
                    .ok_or_else(|| missing("ref_rejected"))?,
            ))
        } else {
            None
        };
        if types.contains(&DpoLossType::Orpo) {
            let expected = "an average log-prob < 0 (ORPO's odds are infinite at 0)";
            let ac = logps.policy_chosen.clone().detach() / logps.chosen_len.clone();
            let ar = logps.policy_rejected.clone().detach() / logps.rejected_len.clone();
            check_values("policy_chosen", &ac, expected, |a| a < 0.0)?;
            check_values("policy_rejected", &ar, expected, |a| a < 0.0)?;
        }

        let cfg = &self.config;
        let beta = cfg.beta;
        let eps = cfg.label_smoothing;
        let pc = || logps.policy_chosen.clone();
        let pr = || logps.policy_rejected.clone();
        let cl = || logps.chosen_len.clone();
        let rl = || logps.rejected_len.clone();
        let p = || logps.p_chosen.clone();
        // Log-ratios log π_θ − log π_ref, only when a reference exists.
        let ratios = reference
            .as_ref()
            .map(|(rc, rr)| (pc() - rc.clone(), pr() - rr.clone()));
        let lr = || {
            ratios
                .clone()
                .expect("reference checked above for every loss needing it")
        };

        let mut total: Option<Tensor<1>> = None;
        for (&t, &w) in types.iter().zip(&self.weights) {
            let per = match t {
                DpoLossType::Sigmoid => {
                    let (c, r) = lr();
                    sigmoid_loss(c, r, beta, eps, p())
                }
                DpoLossType::Hinge => {
                    let (c, r) = lr();
                    hinge_loss(c, r, beta)
                }
                DpoLossType::Ipo => {
                    let (c, r) = lr();
                    ipo_loss(c, r, cl(), rl(), beta)
                }
                DpoLossType::Robust => {
                    let (c, r) = lr();
                    robust_loss(c, r, beta, eps)
                }
                DpoLossType::ExoPair => {
                    let (c, r) = lr();
                    exo_pair_loss(c, r, beta, eps)
                }
                DpoLossType::NcaPair => {
                    let (c, r) = lr();
                    nca_pair_loss(c, r, beta)
                }
                DpoLossType::BcoPair => {
                    let (c, r) = lr();
                    bco_pair_loss(c, r, beta)
                }
                DpoLossType::SppoHard => {
                    let (c, r) = lr();
                    sppo_hard_loss(c, r, beta)
                }
                DpoLossType::Aot => {
                    let (rc, rr) = reference.clone().expect("checked above");
                    aot_loss(pc(), pr(), rc, rr, beta, eps)
                }
                DpoLossType::AotUnpaired => {
                    let (c, r) = lr();
                    aot_unpaired_loss(c, r, beta, eps)
                }
                DpoLossType::ApoZero => {
                    let (c, r) = lr();
                    apo_zero_loss(c, r, beta)
                }
                DpoLossType::ApoDown => {
                    let (c, r) = lr();
                    apo_down_loss(c, r, beta)
                }
                DpoLossType::Discopop => {
                    let (c, r) = lr();
                    discopop_loss(c, r, beta, cfg.discopop_tau)
                }
                DpoLossType::SigmoidNorm => {
                    let (c, r) = lr();
                    sigmoid_norm_loss(c, r, cl(), rl(), beta, p())
                }
                DpoLossType::Sft => sft_loss(pc(), cl()),
                DpoLossType::Simpo => {
                    simpo_loss(pc() / cl(), pr() / rl(), beta, cfg.simpo_gamma, eps, p())
                }
                DpoLossType::Orpo => {
                    let nll = logps
                        .chosen_full_nll
                        .clone()
                        .unwrap_or_else(|| chosen_nll(pc(), cl()));
                    orpo_loss(pc() / cl(), pr() / rl(), beta, nll)
                }
            };
            let per = per.mul_scalar(w);
            total = Some(match total {
                None => per,
                Some(acc) => acc + per,
            });
        }
        let per_pair = total.expect("init() rejects an empty loss list");
        debug_assert_eq!(per_pair.dims(), [b]);
        let loss = per_pair.clone().mean();

        // TRL's DPOTrainer logs reference log-ratios (also for `sft` alone); its CPO and ORPO
        // trainers, which have no reference, log average log-probs.
        let dpo_rewards = self.needs_reference()
            || !types
                .iter()
                .any(|t| matches!(t, DpoLossType::Simpo | DpoLossType::Orpo));
        let ratios = match (ratios, dpo_rewards) {
            (Some(r), _) => Some(r),
            (None, true) => match (&logps.ref_chosen, &logps.ref_rejected) {
                (Some(rc), Some(rr)) => Some((pc() - rc.clone(), pr() - rr.clone())),
                _ => None,
            },
            (None, false) => None,
        };
        let (chosen_rewards, rejected_rewards) = match ratios {
            Some((c, r)) => (c.mul_scalar(beta), r.mul_scalar(beta)),
            None => (
                (pc() / cl()).mul_scalar(beta),
                (pr() / rl()).mul_scalar(beta),
            ),
        };
        Ok(DpoLossOutput {
            loss,
            per_pair,
            chosen_rewards: chosen_rewards.detach(),
            rejected_rewards: rejected_rewards.detach(),
        })
    }
}
