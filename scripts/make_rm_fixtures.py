#!/usr/bin/env python3
"""Reference values for the reward-model losses, computed with PyTorch.

Writes crates/reward-model/tests/fixtures/losses.json: for each case the inputs, the loss,
and the gradient of the loss with respect to every reward input. The formulas are written
out independently of the Rust code, following the sources:

- Bradley-Terry with margin: TRL RewardTrainer,
  loss = -logsigmoid(r_chosen - r_rejected - margin).mean()
- centering: TRL, loss += center_rewards_coefficient * mean((r_chosen + r_rejected) ** 2)
- soft labels: binary_cross_entropy_with_logits(r_a - r_b, p)
- Plackett-Luce: -sum_k [r_k - log sum_{j>=k} exp r_j], rows best first, mean over rows
- InstructGPT: -1/C(K,2) sum_{i<j} logsigmoid(r_i - r_j), mean over prompts
Weighted variants use sum(w * l) / sum(w).

Run: .venv-torch/bin/python scripts/make_rm_fixtures.py
"""

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F

OUT = Path(__file__).resolve().parent.parent / "crates/reward-model/tests/fixtures/losses.json"
torch.manual_seed(20240605)


def leaf(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def wmean(values, weight):
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum()


def f32(t):
    """Rounds to float32 values (what the Rust tests load), kept in float64 for the maths."""
    return t.float().double()


def rand(*shape, scale=2.0):
    return f32(torch.randn(*shape, dtype=torch.float64) * scale).tolist()


def pairwise_case(name, b, margin=False, weight=False, center=0.0, soft=False):
    rc, rr = leaf(rand(b)), leaf(rand(b))
    m = f32(torch.rand(b, dtype=torch.float64) * 2.0) if margin else None
    w = f32(torch.rand(b, dtype=torch.float64) + 0.25) if weight else None
    p = f32(torch.rand(b, dtype=torch.float64)) if soft else None
    if soft:
        per = F.binary_cross_entropy_with_logits(rc - rr, p, reduction="none")
    else:
        delta = rc - rr - (m if m is not None else 0.0)
        per = -F.logsigmoid(delta)
    preference = wmean(per, w)
    centering = wmean((rc + rr) ** 2, w)
    loss = preference + center * centering
    loss.backward()
    case = {
        "name": name,
        "kind": "soft_label" if soft else "bradley_terry",
        "chosen": rc.tolist(),
        "rejected": rr.tolist(),
        "margin": None if m is None else m.tolist(),
        "weight": None if w is None else w.tolist(),
        "p_chosen": None if p is None else p.tolist(),
        "center_rewards_coefficient": center,
        "preference": preference.item(),
        "centering": centering.item(),
        "loss": loss.item(),
        "grad_chosen": rc.grad.tolist(),
        "grad_rejected": rr.grad.tolist(),
    }
    return case


def plackett_luce(r, top):
    b, k = r.shape
    # log sum_{j >= i} exp r_j: reverse cumulative log-sum-exp
    lse = torch.flip(torch.logcumsumexp(torch.flip(r, [1]), dim=1), [1])
    terms = r - lse
    keep = torch.arange(k) < (k if top is None else top)
    return -(terms * keep).sum(dim=1)


def instructgpt(r):
    b, k = r.shape
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    per = torch.stack([F.logsigmoid(r[:, i] - r[:, j]) for i, j in pairs], dim=1)
    return -per.sum(dim=1) / len(pairs)


def ranking_case(name, kind, b, k, top=None, weight=False):
    r = leaf(rand(b, k))
    w = f32(torch.rand(b, dtype=torch.float64) + 0.25) if weight else None
    per = plackett_luce(r, top) if kind == "plackett_luce" else instructgpt(r)
    loss = wmean(per, w)
    loss.backward()
    return {
        "name": name,
        "kind": kind,
        "rewards": r.tolist(),
        "top": top,
        "weight": None if w is None else w.tolist(),
        "loss": loss.item(),
        "grad_rewards": r.grad.tolist(),
    }


def main():
    pairwise = [
        pairwise_case("bt", 6),
        pairwise_case("bt_margin", 6, margin=True),
        pairwise_case("bt_weighted", 5, weight=True),
        pairwise_case("bt_centering", 6, center=0.01),
        pairwise_case("bt_margin_centering_weighted", 7, margin=True, weight=True, center=0.1),
        pairwise_case("soft", 6, soft=True),
        pairwise_case("soft_weighted_centering", 5, soft=True, weight=True, center=0.05),
    ]
    # An extreme case: large reward differences, where naive log(sigmoid) overflows.
    rc, rr = leaf([40.0, -40.0, 0.0]), leaf([-40.0, 40.0, 0.0])
    loss = -F.logsigmoid(rc - rr).mean()
    loss.backward()
    pairwise.append({
        "name": "bt_extreme", "kind": "bradley_terry", "chosen": rc.tolist(),
        "rejected": rr.tolist(), "margin": None, "weight": None, "p_chosen": None,
        "center_rewards_coefficient": 0.0, "preference": loss.item(),
        "centering": ((rc + rr) ** 2).mean().item(), "loss": loss.item(),
        "grad_chosen": rc.grad.tolist(), "grad_rejected": rr.grad.tolist(),
    })
    ranking = [
        ranking_case("pl_k3", "plackett_luce", 4, 3),
        ranking_case("pl_k5", "plackett_luce", 3, 5),
        ranking_case("pl_k5_top2", "plackett_luce", 3, 5, top=2),
        ranking_case("pl_k4_weighted", "plackett_luce", 4, 4, weight=True),
        ranking_case("instructgpt_k4", "instructgpt", 3, 4),
        ranking_case("instructgpt_k6_weighted", "instructgpt", 4, 6, weight=True),
        ranking_case("instructgpt_k2", "instructgpt", 5, 2),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    meta = {"torch": torch.__version__, "dtype": "float64", "script": "scripts/make_rm_fixtures.py"}
    OUT.write_text(json.dumps({"meta": meta, "pairwise": pairwise, "ranking": ranking}, indent=1) + "\n")
    print(f"wrote {OUT} ({len(pairwise)} pairwise, {len(ranking)} ranking cases)")


if __name__ == "__main__":
    main()
