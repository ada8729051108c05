#!/usr/bin/env python3
"""Reference values for the DPO family of losses (crates/policy-opt/src/dpo/loss/).

The numbers come from Hugging Face TRL's own code, called on hand-made batches of summed
completion log-probabilities, not from a re-implementation:

* DPO family ("sigmoid", "hinge", "ipo", "exo_pair", "nca_pair", "robust", "bco_pair",
  "sppo_hard", "aot", "aot_unpaired", "apo_zero", "apo_down", "discopop", "sft",
  "sigmoid_norm", and weighted combinations of them): `DPOTrainer._compute_loss`, run with a
  stub `self` and a stub model whose per-token log-probs put each sequence's sum on its first
  completion token (the other completion tokens hold 0). The trainer sums them back,
  counts completion tokens from `completion_mask`, and reads reference log-probs from the
  batch (`precompute_ref_logps=True`). Loss and the logged metrics are TRL's; per-pair losses
  are TRL's loss on a batch of that single pair (not available for "aot"/"aot_unpaired",
  which sort across the batch, nor "sft", which TRL expands from a batch scalar).
* SimPO (`CPOTrainer`, loss_type="simpo", `cpo_alpha` as a weighted "sft" term):
  `CPOTrainer.get_batch_loss_metrics` with a stub `concatenated_forward` returning
  length-averaged log-probs (TRL averages for "simpo") and the chosen NLL.
* ORPO: `ORPOTrainer.get_batch_loss_metrics` with a stub `concatenated_forward`
  (length-averaged log-probs, chosen NLL); per-pair values from `ORPOTrainer.odds_ratio_loss`.
* cDPO / label smoothing and soft labels for "sigmoid", "sigmoid_norm" and "simpo": TRL 1.x's
  `DPOTrainer` dropped label smoothing from "sigmoid" (only "robust", "exo_pair" and "aot*" read
  it) and has no soft labels. The cDPO formula (Mitchell 2023, eq. 3), which TRL <= 0.2x's
  DPOTrainer used for "sigmoid" and TRL 1.x's `CPOTrainer.cpo_loss` still uses,
      -(1-ε)·log σ(β·z) - ε·log σ(-β·z),
  is taken from `CPOTrainer.cpo_loss` (loss_type "sigmoid"/"simpo") called on z = the DPO
  log-ratio difference (resp. its length-normalised form). A soft label p is the same
  cross-entropy with ε := 1 - p_eff, where p_eff = (1-ε)·p + ε·(1-p) also folds in the
  configured smoothing ("sigmoid", "simpo"; "sigmoid_norm" reads no smoothing in TRL, so
  p_eff = p there); those calls are made one pair at a time (ε is a scalar in TRL).
* The chosen NLL used by "sft"-style terms (CPO's `cpo_alpha`, ORPO's NLL) is the token mean
  over the batch's chosen completion tokens, -Σ_b logπ(y_w,b) / Σ_b |y_w,b|, which is what
  TRL's cross-entropy over the chosen labels computes (ORPO in TRL also scores the prompt
  tokens; the Rust side takes that value as an optional input instead).

Every TRL value is also checked here against a direct float64 formula (`direct_*`), so a
stub mistake cannot slip through silently.

Not covered (documented in crates/policy-opt/src/dpo/loss/mod.rs): WPO `use_weighting`,
LD-DPO `ld_alpha` and non-reverse-KL `f_divergence_type` need token-level inputs or are out
of scope for summed log-probs; AlphaPO (`CPOConfig.alpha != 0`).

Run from the repo root (needs `.venv-torch/bin/pip install trl==1.16.0`):
    TRL_EXPERIMENTAL_SILENCE=1 .venv-torch/bin/python scripts/make_dpo_fixtures.py
Writes crates/policy-opt/tests/fixtures/dpo/losses.json (deterministic).
"""

from __future__ import annotations

import json
import math
import os
import types
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import trl  # noqa: E402
from trl import DPOTrainer  # noqa: E402
from trl.experimental.cpo import CPOTrainer  # noqa: E402
from trl.experimental.orpo import ORPOTrainer  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "crates" / "policy-opt" / "tests" / "fixtures" / "dpo" / "losses.json"
DT = torch.float64
CPU = torch.device("cpu")


def f32(xs):
    """Round to the nearest float32 so that Rust sees exactly the same inputs."""
    return [float(np.float32(x)) for x in xs]


# ---------------------------------------------------------------------------------------------
# Batches
# ---------------------------------------------------------------------------------------------


def make_batches():
    rng = np.random.default_rng(20261105)
    batches = {}

    # Mixed: reward margins of both signs, lengths 1..45, unequal chosen/rejected lengths.
    cl = [1, 7, 20, 3, 45, 12]
    rl = [9, 7, 2, 30, 45, 5]
    rc = [-rng.uniform(0.4, 2.0) * n for n in cl]
    rr = [-rng.uniform(0.4, 2.0) * n for n in rl]
    shifts_c = [1.7, -2.3, 4.1, 0.6, -7.9, 3.3]
    shifts_r = [-0.8, 1.9, -3.6, 2.2, 5.4, -1.1]
    # Log-probs are negative: a shift that would cross 0 is capped just below it.
    batches["mixed"] = dict(
        policy_chosen=f32([min(a + s, -0.05 * n) for a, s, n in zip(rc, shifts_c, cl)]),
        policy_rejected=f32([min(a + s, -0.05 * n) for a, s, n in zip(rr, shifts_r, rl)]),
        ref_chosen=f32(rc),
        ref_rejected=f32(rr),
        chosen_len=[float(n) for n in cl],
        rejected_len=[float(n) for n in rl],
        p_chosen=[1.0, 0.5, 0.0, 0.8, 0.3, 0.95],
    )

    # Ties and extremes: a pair where the policy equals the reference (zero margin, accuracy 0),
    # a large positive and a large negative margin, single-token completions, and average
    # log-probs close to 0 (the other branch of ORPO's log(1 - e^x)).
    batches["ties_extremes"] = dict(
        policy_chosen=f32([-3.25, -0.75, -14.0, -0.004]),
        policy_rejected=f32([-5.5, -18.0, -1.25, -0.03]),
        ref_chosen=f32([-3.25, -6.5, -2.0, -0.002]),
        ref_rejected=f32([-5.5, -4.0, -9.5, -0.02]),
        chosen_len=[1.0, 1.0, 1.0, 1.0],
        rejected_len=[1.0, 1.0, 1.0, 3.0],
        p_chosen=[1.0, 0.0, 0.25, 0.6],
    )

    # Long completions (100-400 tokens): sums in the hundreds, where length normalisation
    # (IPO, sigmoid_norm, SimPO, ORPO) changes the picture.
    cl = [120, 350, 200, 400, 90]
    rl = [300, 110, 200, 60, 380]
    rc = [-rng.uniform(0.2, 1.0) * n for n in cl]
    rr = [-rng.uniform(0.2, 1.0) * n for n in rl]
    dc = rng.uniform(-15.0, 15.0, size=5)
    dr = rng.uniform(-15.0, 15.0, size=5)
    batches["long"] = dict(
        policy_chosen=f32([a + d for a, d in zip(rc, dc)]),
        policy_rejected=f32([a + d for a, d in zip(rr, dr)]),
        ref_chosen=f32(rc),
        ref_rejected=f32(rr),
        chosen_len=[float(n) for n in cl],
        rejected_len=[float(n) for n in rl],
        p_chosen=[0.9, 0.1, 0.5, 1.0, 0.7],
    )
    return batches


# ---------------------------------------------------------------------------------------------
# TRL DPOTrainer._compute_loss with stubs
# ---------------------------------------------------------------------------------------------


def _rows(sums, lens):
    return list(zip(sums, [int(n) for n in lens]))


def dpo_trl(batch, beta, loss_types, loss_weights=None, label_smoothing=0.0, discopop_tau=0.05):
    """Loss and metrics from TRL's DPOTrainer._compute_loss on a batch of summed log-probs."""
    rows = _rows(batch["policy_chosen"], batch["chosen_len"]) + _rows(
        batch["policy_rejected"], batch["rejected_len"]
    )
    n = len(rows)
    t = max(length for _, length in rows) + 1  # column 0 is a prompt token
    completion_mask = torch.zeros(n, t, dtype=torch.long)
    log_probs = torch.zeros(n, t - 1, dtype=DT)
    for i, (s, length) in enumerate(rows):
        completion_mask[i, 1 : 1 + length] = 1
        log_probs[i, 0] = s  # shifted position 0 predicts the first completion token
    outputs = types.SimpleNamespace(
        log_probs=log_probs,
        entropy=torch.zeros(n, t - 1, dtype=DT),
        mean_logits=torch.zeros(n, t - 1, dtype=DT),
        is_top1=torch.zeros(n, t - 1, dtype=torch.bool),
    )

    def model(**kwargs):
        return outputs

    metrics = defaultdict(lambda: defaultdict(list))
    stub = types.SimpleNamespace(
        model=types.SimpleNamespace(training=True),
        accelerator=types.SimpleNamespace(device=CPU, gather_for_metrics=lambda x: x, gather=lambda x: x),
        aux_loss_enabled=False,
        ld_alpha=None,
        precompute_ref_logps=True,
        f_divergence_type="reverse_kl",
        f_alpha_divergence_coef=0.5,
        loss_types=list(loss_types),
        loss_weights=list(loss_weights) if loss_weights else [1.0] * len(loss_types),
        beta=beta,
        label_smoothing=label_smoothing,
        use_weighting=False,
        args=types.SimpleNamespace(discopop_tau=discopop_tau, gradient_checkpointing_kwargs=None),
        _metrics=metrics,
        _total_train_tokens=0,
        _tp_size=1,
    )
    inputs = dict(
        input_ids=torch.ones(n, t, dtype=torch.long),
        attention_mask=torch.ones(n, t, dtype=torch.long),
        completion_mask=completion_mask,
        ref_chosen_logps=torch.tensor(batch["ref_chosen"], dtype=DT),
        ref_rejected_logps=torch.tensor(batch["ref_rejected"], dtype=DT),
    )
    loss = DPOTrainer._compute_loss(stub, model, inputs, return_outputs=False)
    m = metrics["train"]
    return float(loss), {k: m[k][-1] for k in REWARD_METRICS}


REWARD_METRICS = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins"]
KEYS = ["policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "chosen_len", "rejected_len"]


def single(batch, i):
    return {k: [batch[k][i]] for k in KEYS}


# ---------------------------------------------------------------------------------------------
# TRL CPOTrainer / ORPOTrainer with stubs
# ---------------------------------------------------------------------------------------------


def _accel():
    return types.SimpleNamespace(device=CPU, gather_for_metrics=lambda x: x)


def cpo_loss_trl(chosen, rejected, beta, loss_type, label_smoothing=0.0, simpo_gamma=0.5):
    """CPOTrainer.cpo_loss on given (already averaged or log-ratio) values: per-pair losses, rewards."""
    stub = types.SimpleNamespace(
        alpha=0.0,
        beta=beta,
        loss_type=loss_type,
        label_smoothing=label_smoothing,
        simpo_gamma=simpo_gamma,
        accelerator=_accel(),
    )
    losses, cr, rr = CPOTrainer.cpo_loss(stub, torch.tensor(chosen, dtype=DT), torch.tensor(rejected, dtype=DT))
    return losses.tolist(), cr.tolist(), rr.tolist()


def averages(batch):
    ac = [s / n for s, n in zip(batch["policy_chosen"], batch["chosen_len"])]
    ar = [s / n for s, n in zip(batch["policy_rejected"], batch["rejected_len"])]
    return ac, ar


def chosen_nll(batch):
    return -sum(batch["policy_chosen"]) / sum(batch["chosen_len"])


def simpo_trl(batch, beta, simpo_gamma, label_smoothing=0.0, cpo_alpha=0.0):
    """CPOTrainer.get_batch_loss_metrics (loss_type="simpo") with a stub forward."""
    ac, ar = averages(batch)
    nll = chosen_nll(batch)

    def forward(model, b):
        logits = torch.zeros(len(ac), 1, 1, dtype=DT)
        return (
            torch.tensor(ac, dtype=DT),
            torch.tensor(ar, dtype=DT),
            logits,
            logits,
            torch.tensor(nll if cpo_alpha != 0 else 0.0, dtype=DT),
        )

    stub = types.SimpleNamespace(
        alpha=0.0,
        beta=beta,
        loss_type="simpo",
        label_smoothing=label_smoothing,
        simpo_gamma=simpo_gamma,
        cpo_alpha=cpo_alpha,
        aux_loss_enabled=False,
        accelerator=_accel(),
        concatenated_forward=forward,
    )
    stub.cpo_loss = types.MethodType(CPOTrainer.cpo_loss, stub)
    loss, metrics = CPOTrainer.get_batch_loss_metrics(stub, None, None, train_eval="train")
    losses, cr, rr = cpo_loss_trl(ac, ar, beta, "simpo", label_smoothing, simpo_gamma)
    return float(loss), {k: metrics[k] for k in REWARD_METRICS}, losses, cr, rr


def orpo_trl(batch, beta):
    """ORPOTrainer.get_batch_loss_metrics with a stub forward; per pair from odds_ratio_loss."""
    ac, ar = averages(batch)
    nll = chosen_nll(batch)

    def forward(model, b):
        logits = torch.zeros(len(ac), 1, 1, dtype=DT)
        return (torch.tensor(ac, dtype=DT), torch.tensor(ar, dtype=DT), logits, logits, torch.tensor(nll, dtype=DT))

    stub = types.SimpleNamespace(beta=beta, aux_loss_enabled=False, accelerator=_accel(), concatenated_forward=forward)
    stub.odds_ratio_loss = types.MethodType(ORPOTrainer.odds_ratio_loss, stub)
    loss, metrics = ORPOTrainer.get_batch_loss_metrics(stub, None, None, train_eval="train")
    losses, cr, rr, _, _ = stub.odds_ratio_loss(torch.tensor(ac, dtype=DT), torch.tensor(ar, dtype=DT))
    per_pair = [nll - x for x in losses.tolist()]
    return float(loss), {k: metrics[k] for k in REWARD_METRICS}, per_pair, cr.tolist(), rr.tolist()


# ---------------------------------------------------------------------------------------------
# Direct float64 formulas (cross-check of the stubs above)
# ---------------------------------------------------------------------------------------------


def logsig(x):
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def sig(x):
    return math.exp(logsig(x))


def direct_pair(lt, b, i, beta, eps, tau, p=None, gamma=0.5):
    pc, pr = b["policy_chosen"][i], b["policy_rejected"][i]
    cl, rl = b["chosen_len"][i], b["rejected_len"][i]
    c = pc - b["ref_chosen"][i]
    r = pr - b["ref_rejected"][i]
    d = c - r
    z = beta * d
    q = 1.0 if p is None else p
    q = (1 - eps) * q + eps * (1 - q)
    if lt == "sigmoid":
        return -q * logsig(z) - (1 - q) * logsig(-z)
    if lt == "hinge":
        return max(0.0, 1 - z)
    if lt == "ipo":
        return (c / cl - r / rl - 1 / (2 * beta)) ** 2
    if lt == "exo_pair":
        return sig(z) * (logsig(z) - math.log1p(-eps)) + sig(-z) * (logsig(-z) - math.log(eps))
    if lt == "nca_pair":
        return -logsig(beta * c) - 0.5 * logsig(-beta * c) - 0.5 * logsig(-beta * r)
    if lt == "robust":
        return (-(1 - eps) * logsig(z) + eps * logsig(-z)) / (1 - 2 * eps)
    if lt == "bco_pair":
        return -logsig(beta * c) - logsig(-beta * r)
    if lt == "sppo_hard":
        return (c - 0.5 / beta) ** 2 + (r + 0.5 / beta) ** 2
    if lt == "apo_zero":
        return 1 - sig(beta * c) + sig(beta * r)
    if lt == "apo_down":
        return sig(beta * c) + 1 - sig(beta * (c - r))
    if lt == "discopop":
        m = sig(z / tau)
        return -logsig(z) * (1 - m) + math.exp(-z) * m
    if lt == "sigmoid_norm":  # TRL's sigmoid_norm does not read label_smoothing
        zn = beta * (c / cl - r / rl)
        q = 1.0 if p is None else p
        return -q * logsig(zn) - (1 - q) * logsig(-zn)
    if lt == "simpo":
        zs = beta * (pc / cl - pr / rl - gamma / beta)
        return -q * logsig(zs) - (1 - q) * logsig(-zs)
    raise KeyError(lt)


def direct_orpo_pair(b, i, beta, nll):
    ac = b["policy_chosen"][i] / b["chosen_len"][i]
    ar = b["policy_rejected"][i] / b["rejected_len"][i]
    lo = (ac - ar) - (math.log(-math.expm1(ac)) - math.log(-math.expm1(ar)))
    return nll - beta * logsig(lo)


def close(a, b, tol=2e-6):
    return abs(a - b) <= tol * max(1.0, abs(b))


# ---------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------

PAIRWISE_DPO = [
    "sigmoid",
    "hinge",
    "ipo",
    "exo_pair",
    "nca_pair",
    "robust",
    "bco_pair",
    "sppo_hard",
    "apo_zero",
    "apo_down",
    "discopop",
    "sigmoid_norm",
]
BATCH_DPO = ["aot", "aot_unpaired", "sft"]


def config(beta, loss_types, loss_weights=None, label_smoothing=0.0, simpo_gamma=0.5, discopop_tau=0.05):
    return dict(
        beta=beta,
        loss_types=list(loss_types),
        loss_weights=loss_weights,
        label_smoothing=label_smoothing,
        simpo_gamma=simpo_gamma,
        discopop_tau=discopop_tau,
    )


def dpo_rewards(b, beta):
    cr = [beta * (x - y) for x, y in zip(b["policy_chosen"], b["ref_chosen"])]
    rr = [beta * (x - y) for x, y in zip(b["policy_rejected"], b["ref_rejected"])]
    return cr, rr


def check_metrics(metrics, cr, rr):
    bsz = len(cr)
    want = {
        "rewards/chosen": sum(cr) / bsz,
        "rewards/rejected": sum(rr) / bsz,
        "rewards/accuracies": sum(1.0 for a, b in zip(cr, rr) if a > b) / bsz,
        "rewards/margins": sum(a - b for a, b in zip(cr, rr)) / bsz,
    }
    for k, v in want.items():
        assert close(metrics[k], v), (k, metrics[k], v)


def dpo_case(name, bname, b, cfg, per_pair_available=True, soft=False, source=None):
    beta, lts, ws = cfg["beta"], cfg["loss_types"], cfg["loss_weights"]
    eps, tau = cfg["label_smoothing"], cfg["discopop_tau"]
    loss, metrics = dpo_trl(b, beta, lts, ws, eps, tau)
    cr, rr = dpo_rewards(b, beta)
    check_metrics(metrics, cr, rr)
    per_pair = None
    bsz = len(cr)
    if per_pair_available:
        per_pair = [dpo_trl(single(b, i), beta, lts, ws, eps, tau)[0] for i in range(bsz)]
        assert close(sum(per_pair) / bsz, loss), (name, per_pair, loss)
        weights = ws or [1.0] * len(lts)
        for i in range(bsz):
            want = sum(w * direct_pair(lt, b, i, beta, eps, tau) for lt, w in zip(lts, weights))
            assert close(per_pair[i], want), (name, i, per_pair[i], want)
    elif lts == ["sft"]:
        assert close(loss, chosen_nll(b)), (name, loss)
        per_pair = [loss] * bsz  # TRL expands the batch scalar
    return dict(
        name=name,
        batch=bname,
        soft_labels=soft,
        config=cfg,
        source=source or "trl.DPOTrainer._compute_loss",
        loss=loss,
        per_pair=per_pair,
        chosen_rewards=cr,
        rejected_rewards=rr,
        metrics=metrics,
    )


def cdpo_case(name, bname, b, cfg, soft):
    """cDPO / soft-label sigmoid or sigmoid_norm through CPOTrainer.cpo_loss on DPO log-ratios."""
    beta, eps = cfg["beta"], cfg["label_smoothing"]
    (lt,) = cfg["loss_types"]
    bsz = len(b["policy_chosen"])
    c = [x - y for x, y in zip(b["policy_chosen"], b["ref_chosen"])]
    r = [x - y for x, y in zip(b["policy_rejected"], b["ref_rejected"])]
    if lt == "sigmoid_norm":
        c = [x / n for x, n in zip(c, b["chosen_len"])]
        r = [x / n for x, n in zip(r, b["rejected_len"])]
    per_pair = []
    for i in range(bsz):
        p = b["p_chosen"][i] if soft else 1.0
        q = (1 - eps) * p + eps * (1 - p)
        (li,), _, _ = cpo_loss_trl([c[i]], [r[i]], beta, "sigmoid", label_smoothing=1.0 - q)
        want = direct_pair(lt, b, i, beta, eps, 0.05, p=b["p_chosen"][i] if soft else None)
        assert close(li, want), (name, i, li, want)
        per_pair.append(li)
    cr, rr = dpo_rewards(b, beta)
    loss = sum(per_pair) / bsz
    if not soft and lt == "sigmoid":  # the whole batch at once, as TRL's cDPO would run
        losses, _, _ = cpo_loss_trl(c, r, beta, "sigmoid", label_smoothing=eps)
        assert close(sum(losses) / bsz, loss)
    metrics = {
        "rewards/chosen": sum(cr) / bsz,
        "rewards/rejected": sum(rr) / bsz,
        "rewards/accuracies": sum(1.0 for a, bb in zip(cr, rr) if a > bb) / bsz,
        "rewards/margins": sum(a - bb for a, bb in zip(cr, rr)) / bsz,
    }
    return dict(
        name=name,
        batch=bname,
        soft_labels=soft,
        config=cfg,
        source="trl.experimental.cpo.CPOTrainer.cpo_loss (loss_type='sigmoid') on DPO log-ratios",
        loss=loss,
        per_pair=per_pair,
        chosen_rewards=cr,
        rejected_rewards=rr,
        metrics=metrics,
    )


def simpo_case(name, bname, b, cfg, soft, cpo_alpha=0.0):
    beta, eps, gamma = cfg["beta"], cfg["label_smoothing"], cfg["simpo_gamma"]
    bsz = len(b["policy_chosen"])
    loss, metrics, per_pair, cr, rr = simpo_trl(b, beta, gamma, eps, cpo_alpha)
    ac, ar = averages(b)
    nll = chosen_nll(b)
    if soft:
        per_pair = []
        for i in range(bsz):
            p = b["p_chosen"][i]
            q = (1 - eps) * p + eps * (1 - p)
            (li,), _, _ = cpo_loss_trl([ac[i]], [ar[i]], beta, "simpo", 1.0 - q, gamma)
            per_pair.append(li)
        loss = sum(per_pair) / bsz + cpo_alpha * nll
    per_pair = [x + cpo_alpha * nll for x in per_pair]
    for i in range(bsz):
        p = b["p_chosen"][i] if soft else None
        want = direct_pair("simpo", b, i, beta, eps, 0.05, p=p, gamma=gamma) + cpo_alpha * nll
        assert close(per_pair[i], want), (name, i, per_pair[i], want)
    assert close(sum(per_pair) / bsz, loss)
    check_metrics(metrics, [beta * x for x in ac], [beta * x for x in ar])
    return dict(
        name=name,
        batch=bname,
        soft_labels=soft,
        config=cfg,
        source="trl.experimental.cpo.CPOTrainer.get_batch_loss_metrics (loss_type='simpo', cpo_alpha as 'sft')",
        loss=loss,
        per_pair=per_pair,
        chosen_rewards=cr,
        rejected_rewards=rr,
        metrics=metrics,
    )


def orpo_case(name, bname, b, cfg):
    beta = cfg["beta"]
    loss, metrics, per_pair, cr, rr = orpo_trl(b, beta)
    nll = chosen_nll(b)
    for i in range(len(per_pair)):
        want = direct_orpo_pair(b, i, beta, nll)
        assert close(per_pair[i], want, 1e-5), (name, i, per_pair[i], want)  # TRL computes ORPO in f32
    assert close(sum(per_pair) / len(per_pair), loss, 1e-5)
    return dict(
        name=name,
        batch=bname,
        soft_labels=False,
        config=cfg,
        source="trl.experimental.orpo.ORPOTrainer.get_batch_loss_metrics / odds_ratio_loss",
        loss=loss,
        per_pair=per_pair,
        chosen_rewards=cr,
        rejected_rewards=rr,
        metrics={k: float(v) for k, v in metrics.items()},
    )


def main():
    batches = make_batches()
    cases = []
    for bname, b in batches.items():
        for beta in [0.01, 0.1, 0.5]:
            for lt in PAIRWISE_DPO:
                epss = {"robust": [0.0, 0.1, 0.3], "exo_pair": [1e-3, 0.2]}.get(lt, [0.0])
                for eps in epss:
                    if lt == "discopop" and beta == 0.5 and bname == "long":
                        continue  # exp(-β·Δ) of a margin of -30 is beyond a 1e-5 check in f32
                    cfg = config(beta, [lt], label_smoothing=eps)
                    cases.append(dpo_case(f"{bname}/{lt}/beta={beta}/eps={eps}", bname, b, cfg))
            for lt in BATCH_DPO:
                epss = [0.0, 0.2] if lt.startswith("aot") else [0.0]
                for eps in epss:
                    cfg = config(beta, [lt], label_smoothing=eps)
                    cases.append(dpo_case(f"{bname}/{lt}/beta={beta}/eps={eps}", bname, b, cfg, per_pair_available=False))
            # discopop with a different τ
            cfg = config(beta, ["discopop"], discopop_tau=0.5)
            if not (beta == 0.5 and bname == "long"):
                cases.append(dpo_case(f"{bname}/discopop/beta={beta}/tau=0.5", bname, b, cfg))
            # cDPO: label smoothing on the sigmoid loss; soft labels on sigmoid and sigmoid_norm
            for eps in [0.1, 0.25]:
                cfg = config(beta, ["sigmoid"], label_smoothing=eps)
                cases.append(cdpo_case(f"{bname}/cdpo/beta={beta}/eps={eps}", bname, b, cfg, soft=False))
            for lt, epss in [("sigmoid", [0.0, 0.1]), ("sigmoid_norm", [0.0])]:
                for eps in epss:
                    cfg = config(beta, [lt], label_smoothing=eps)
                    cases.append(cdpo_case(f"{bname}/{lt}/soft/beta={beta}/eps={eps}", bname, b, cfg, soft=True))
        # Weighted combinations (TRL's `loss_type` list + `loss_weights`).
        combos = [
            (["sigmoid", "bco_pair", "sft"], [0.8, 0.2, 1.0], 0.0),  # MPO (TRL docs)
            (["sigmoid", "sft"], [1.0, 0.5], 0.0),  # RPO
            (["ipo", "hinge", "robust", "apo_zero"], [0.3, 1.5, 0.7, 2.0], 0.1),
            (["nca_pair", "sppo_hard", "discopop", "sigmoid_norm", "exo_pair"], None, 0.05),
            (["aot", "sigmoid"], [0.5, 0.5], 0.0),
        ]
        for lts, ws, eps in combos:
            for beta in [0.1, 0.5]:
                if "discopop" in lts and beta == 0.5 and bname == "long":
                    continue
                cfg = config(beta, lts, loss_weights=ws, label_smoothing=eps)
                pairwise = all(lt in PAIRWISE_DPO for lt in lts)
                cases.append(
                    dpo_case(f"{bname}/combo:{'+'.join(lts)}/beta={beta}", bname, b, cfg, per_pair_available=pairwise)
                )
        # SimPO (reference-free, length-normalised, target margin γ), CPO-SimPO (+ α·NLL).
        for beta, gamma in [(0.5, 0.0), (2.0, 0.5), (2.0, 1.6), (10.0, 3.0)]:
            for eps in [0.0, 0.1]:
                cfg = config(beta, ["simpo"], label_smoothing=eps, simpo_gamma=gamma)
                cases.append(simpo_case(f"{bname}/simpo/beta={beta}/gamma={gamma}/eps={eps}", bname, b, cfg, False))
            cfg = config(beta, ["simpo"], simpo_gamma=gamma)
            cases.append(simpo_case(f"{bname}/simpo/soft/beta={beta}/gamma={gamma}", bname, b, cfg, True))
            cfg = config(beta, ["simpo", "sft"], loss_weights=[1.0, 0.3], simpo_gamma=gamma)
            cases.append(
                simpo_case(f"{bname}/combo:simpo+sft/beta={beta}/gamma={gamma}", bname, b, cfg, False, cpo_alpha=0.3)
            )
        # ORPO (λ is TRL's ORPOConfig.beta).
        for beta in [0.1, 0.25, 1.0]:
            cfg = config(beta, ["orpo"])
            cases.append(orpo_case(f"{bname}/orpo/beta={beta}", bname, b, cfg))

    out = dict(
        generator="scripts/make_dpo_fixtures.py",
        trl_version=trl.__version__,
        torch_version=torch.__version__,
        note=(
            "Inputs are float32-exact; reference values computed in float64 (ORPO: TRL casts to float32). "
            "per_pair is null where TRL has no per-pair value (aot, aot_unpaired sort across the batch)."
        ),
        batches=batches,
        cases=cases,
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # One case per line: compact, yet a regenerated file diffs line by line.
    lines = [json.dumps({k: v for k, v in out.items() if k != "cases"}, indent=1)[:-2] + ","]
    lines.append(' "cases": [')
    lines.append(",\n".join(json.dumps(c, separators=(",", ":")) for c in cases))
    lines.append("]}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == out
    OUT.write_text(text)
    print(f"wrote {len(cases)} cases to {OUT.relative_to(REPO_ROOT)} (TRL {trl.__version__})")


if __name__ == "__main__":
    main()
