#!/usr/bin/env python3
"""Reference values for the online-RL estimators and losses of policy-opt
(crates/policy-opt/src/advantage/ and crates/policy-opt/src/objective/).

Where TRL 1.16 ships the code, the numbers come from TRL itself:

* `GRPOTrainer._compute_loss` (trl/trainer/grpo_trainer.py), called with a stub `self` whose
  `_get_per_token_logps_and_entropies` returns hand-made per-token log-probs (a leaf tensor, so
  the gradient of TRL's loss w.r.t. the log-probs is read back) and entropies: the aggregated
  clipped-surrogate loss for every `loss_type` ("grpo", "bnpo", "dr_grpo", "dapo"), both
  `importance_sampling_level`s, `epsilon`/`epsilon_high` (DAPO clip-higher), the k3 KL term
  (`beta`) and the entropy bonus (`entropy_coef`), plus TRL's `clip_ratio/*` metrics.
* `trl.trainer.utils.nanstd` for the GRPO group / batch standard deviations.
* `trl.trainer.utils.entropy_from_logits` for per-token entropies.

Everything else is a float64 torch transcription of the reference code, cited at each function:

* GAE: verl `compute_gae_advantage_return` (verl/trainer/ppo/core_algos.py), which skips
  positions outside the mask; cross-checked against TRL's PPOTrainer GAE loop
  (trl/experimental/ppo/ppo_trainer.py, `PPOTrainer.train`, "6. compute advantages and returns";
  the PPOTrainer is not part of TRL 1.16) on the masked tokens moved to the front of the row.
* masked whitening: TRL's `masked_mean` / `masked_var` / `masked_whiten`
  (trl/experimental/ppo/ppo_trainer.py; formerly trl/core.py and trl/trainer/utils.py).
* GRPO group advantages: `GRPOTrainer._generate_and_score_completions` ("sum_then_normalize").
* RLOO: `RLOOTrainer._generate_and_score_completions` (trl/trainer/rloo_trainer.py), cross-checked
  against OpenRLHF `_apply_reward_shaping` ("rloo").
* REINFORCE++ / REINFORCE++-baseline: OpenRLHF
  (openrlhf/trainer/ppo_utils/experience_maker.py) `_apply_reward_shaping`,
  `get_cumulative_returns`, `_normalize_advantages`, and openrlhf/models/utils.py
  `compute_reward` (the score on the last action token, minus kl_coef * kl per token).
* per-token clipped surrogate and its metrics: the formula of `GRPOTrainer._compute_loss`
  before aggregation, metrics as documented in objective/clipped_surrogate.rs (token-weighted
  clip fractions; the PPO `approxkl` over the masked tokens only).
* loss aggregation: the four TRL `loss_type` normalisers and verl `agg_loss`
  ("seq-mean-token-sum").
* clipped value loss: TRL PPOTrainer (`vpredclipped`, `vf_losses1/2`, `vf_clipfrac`).
* adaptive KL controller: TRL 0.11 `AdaptiveKLController.update` (trl/trainer/utils.py), which
  verl `AdaptiveKLController` repeats.

Conventions shared with the Rust side (see the module docs there):
* a token's trajectory is the row's masked positions in order (positions outside the mask are
  skipped, as verl's GAE does); outputs are exactly 0 outside the mask;
* degenerate statistics never give NaN: an empty mask gives zeros.
Reference code that would give NaN on such inputs is guarded here explicitly, at the marked
places, so that the fixture holds the documented value.

Inputs are rounded to float32 (so Rust reads exactly the same numbers) and then computed in
float64; outputs are written with 9 significant digits.

Run from the repo root (needs the venv of scripts/setup-torch-venv.sh, with trl==1.16.0):
    .venv-torch/bin/python scripts/make_rl_fixtures.py
Writes crates/policy-opt/tests/fixtures/rl/*.json (deterministic).
"""

from __future__ import annotations

import json
import os
import types
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import trl  # noqa: E402
from trl import GRPOTrainer  # noqa: E402
from trl.trainer.utils import entropy_from_logits, nanstd  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_ROOT / "crates" / "policy-opt" / "tests" / "fixtures" / "rl"
DT = torch.float64
CPU = torch.device("cpu")
assert trl.__version__ == "1.16.0", trl.__version__


# ---------------------------------------------------------------------------------------------
# Number formatting
# ---------------------------------------------------------------------------------------------


def f32(x):
    """Rounds to float32 and returns the rounded values as float64 (exact), for computing."""
    a = np.asarray(x, dtype=np.float32)
    return a.astype(np.float64)


def put_in(a):
    """An input array as JSON numbers: the shortest decimal that reads back as the same f32."""
    return [float(str(np.float32(v))) for v in np.asarray(a).reshape(-1)]


def put_out(a):
    """An output as JSON numbers with 9 significant digits."""
    if isinstance(a, torch.Tensor):
        a = a.detach().to(DT).numpy()
    arr = np.asarray(a, dtype=np.float64).reshape(-1)
    return [float(f"{v:.9g}") for v in arr]


def put_scalar(x):
    if isinstance(x, torch.Tensor):
        x = float(x.detach())
    return float(f"{float(x):.9g}")


def put_mask(m):
    return [int(v) for v in np.asarray(m).reshape(-1)]


def t64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=DT)


def write(name, payload):
    """Scalars first, then one list item per line, so that diffs of the fixtures stay readable."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / name
    fields = []
    for key, value in payload.items():
        if isinstance(value, list):
            body = ",\n".join(json.dumps(it, separators=(",", ":")) for it in value)
            fields.append(f"{json.dumps(key)}:[\n{body}\n]")
        else:
            fields.append(f"{json.dumps(key)}:{json.dumps(value)}")
    text = "{" + ",\n".join(fields) + "}\n"
    json.loads(text)  # well-formed
    path.write_text(text)
    print(f"wrote {path.relative_to(REPO_ROOT)} ({path.stat().st_size // 1024} KiB)")


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------

MASK_KINDS = ["right", "left", "offset", "holes", "full", "empty_rows"]


def make_mask(rng, b, t, kind):
    """[b, t] 0/1 mask: right padding, left offsets, both, holes, full rows, or empty rows."""
    m = np.zeros((b, t), dtype=np.int64)
    for i in range(b):
        if kind == "full":
            m[i, :] = 1
        elif kind == "right":
            m[i, : rng.integers(1, t + 1)] = 1
        elif kind == "left":
            m[i, rng.integers(0, t) :] = 1
        elif kind == "offset":
            s = rng.integers(0, t)
            m[i, s : s + rng.integers(1, t - s + 1)] = 1
        elif kind == "holes":
            m[i] = rng.random(t) < 0.65
        elif kind == "empty_rows":
            if i % 2 == 1:
                continue
            s = rng.integers(0, t)
            m[i, s : s + rng.integers(1, t - s + 1)] = 1
        else:
            raise ValueError(kind)
    return m


def compact(x, m):
    """Moves each row's masked positions to the front (right-padded form) and builds the mask."""
    b, t = m.shape
    out = torch.zeros(b, t, dtype=DT)
    cm = torch.zeros(b, t, dtype=DT)
    for i in range(b):
        idx = np.nonzero(m[i])[0]
        out[i, : len(idx)] = x[i, idx]
        cm[i, : len(idx)] = 1
    return out, cm


def scatter_back(y, m):
    """Inverse of `compact` for outputs; 0 outside the mask."""
    b, t = m.shape
    out = torch.zeros(b, t, dtype=DT)
    for i in range(b):
        idx = np.nonzero(m[i])[0]
        out[i, idx] = y[i, : len(idx)]
    return out


def contiguous(m):
    """Whether every row's mask is one contiguous block (or empty)."""
    for row in m:
        idx = np.nonzero(row)[0]
        if len(idx) and idx[-1] - idx[0] + 1 != len(idx):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# GAE
# ---------------------------------------------------------------------------------------------


def gae_verl(rewards, values, mask, gamma, lam):
    """verl core_algos.compute_gae_advantage_return (before its masked_whiten): the recursion
    skips positions outside the mask, carrying `nextvalues` and `lastgaelam` across them."""
    nextvalues = 0
    lastgaelam = 0
    advantages_reversed = []
    gen_len = rewards.shape[-1]
    for t in reversed(range(gen_len)):
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam_ = delta + gamma * lam * lastgaelam
        nextvalues = values[:, t] * mask[:, t] + (1 - mask[:, t]) * nextvalues
        lastgaelam = lastgaelam_ * mask[:, t] + (1 - mask[:, t]) * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1], dim=1)
    returns = advantages + values
    return advantages, returns


def gae_trl_ppo(rewards, values, gamma, lam):
    """TRL PPOTrainer.train, "6. compute advantages and returns": the loop over the whole
    response with V after the last position = 0. Applied to right-padded rows whose rewards and
    values are 0 on the padding, this is GAE over the completion tokens."""
    lastgaelam = 0
    advantages_reversed = []
    gen_length = rewards.shape[1]
    for t in reversed(range(gen_length)):
        nextvalues = values[:, t + 1] if t < gen_length - 1 else 0.0
        delta = rewards[:, t] + gamma * nextvalues - values[:, t]
        lastgaelam = delta + gamma * lam * lastgaelam
        advantages_reversed.append(lastgaelam)
    advantages = torch.stack(advantages_reversed[::-1], axis=1)
    returns = advantages + values
    return advantages, returns


def gae_cases(rng):
    cases = []
    gammas = [1.0, 0.99, 0.9, 0.5, 0.0]
    lams = [1.0, 0.95, 0.5, 0.0]
    for n in range(40):
        b, t = int(rng.integers(1, 6)), int(rng.integers(1, 10))
        kind = MASK_KINDS[n % len(MASK_KINDS)]
        m = make_mask(rng, b, t, kind)
        gamma, lam = gammas[n % 5], lams[(n // 5) % 4]
        if n >= 36:  # arbitrary values in [0, 1]
            gamma, lam = float(f32(rng.uniform(0.3, 1.0))), float(f32(rng.uniform(0.0, 1.0)))
        r = f32(rng.normal(0.0, 0.3, (b, t)))
        # a sequence score on each row's last masked token
        for i in range(b):
            idx = np.nonzero(m[i])[0]
            if len(idx):
                r[i, idx[-1]] = f32(r[i, idx[-1]] + rng.normal(0.0, 2.0))
        v = f32(rng.normal(0.0, 1.0, (b, t)))
        # values off the mask are junk that must be ignored
        mt = t64(m)
        adv, ret = gae_verl(t64(r), t64(v), mt, gamma, lam)
        adv, ret = adv * mt, ret * mt
        # cross-check with TRL's PPO loop on the compacted (right-padded, zero-padded) rows
        cr, cm = compact(t64(r), m)
        cv, _ = compact(t64(v), m)
        a2, r2 = gae_trl_ppo(cr * cm, cv * cm, gamma, lam)
        assert torch.allclose(scatter_back(a2, m), adv, atol=1e-12), "verl vs TRL GAE"
        assert torch.allclose(scatter_back(r2, m), ret, atol=1e-12)
        cases.append(
            dict(
                name=f"gae_{n}_{kind}",
                b=b,
                t=t,
                gamma=gamma,
                lam=lam,
                rewards=put_in(r),
                values=put_in(v),
                mask=put_mask(m),
                advantages=put_out(adv),
                returns=put_out(ret),
            )
        )
    return cases


# ---------------------------------------------------------------------------------------------
# Whitening (TRL PPOTrainer's masked utilities)
# ---------------------------------------------------------------------------------------------


def masked_mean(values, mask, axis=None):
    """TRL ppo_trainer.masked_mean."""
    if axis is not None:
        return (values * mask).sum(axis=axis) / mask.sum(axis=axis)
    return (values * mask).sum() / mask.sum()


def masked_var(values, mask, unbiased=True):
    """TRL ppo_trainer.masked_var."""
    mean = masked_mean(values, mask)
    centered_values = values - mean
    variance = masked_mean(centered_values**2, mask)
    if unbiased:
        mask_sum = mask.sum()
        if mask_sum == 0:
            raise ValueError("empty mask")
        bessel_correction = mask_sum / (mask_sum - 1)
        variance = variance * bessel_correction
    return variance


def masked_whiten(values, mask, shift_mean=True):
    """TRL ppo_trainer.masked_whiten."""
    mean, var = masked_mean(values, mask), masked_var(values, mask)
    whitened = (values - mean) * torch.rsqrt(var + 1e-8)
    if not shift_mean:
        whitened += mean
    return whitened


def whiten_cases(rng):
    matrix, vector = [], []
    for n in range(28):
        b, t = int(rng.integers(1, 6)), int(rng.integers(2, 10))
        kind = MASK_KINDS[n % len(MASK_KINDS)]
        while True:
            m = make_mask(rng, b, t, kind)
            if m.sum() >= 2:  # TRL divides by zero below two tokens; covered by Rust unit tests
                break
        loc, scale = rng.uniform(-3, 3), rng.choice([0.05, 1.0, 4.0])
        x = f32(rng.normal(loc, scale, (b, t)))
        if n % 7 == 3:  # a constant block: variance 0, whitened values (x - mean)·1e4
            x = f32(np.full((b, t), 0.5))
        shift = n % 2 == 0
        w = masked_whiten(t64(x), t64(m).bool(), shift_mean=shift) * t64(m)
        matrix.append(
            dict(name=f"whiten_{n}_{kind}", b=b, t=t, shift_mean=shift, values=put_in(x), mask=put_mask(m), whitened=put_out(w))
        )
    for n in range(10):
        k = int(rng.integers(2, 24))
        x = f32(rng.normal(rng.uniform(-2, 2), rng.choice([0.1, 1.0, 3.0]), k))
        shift = n % 2 == 1
        w = masked_whiten(t64(x), torch.ones(k, dtype=torch.bool), shift_mean=shift)
        vector.append(dict(name=f"whiten_vec_{n}", shift_mean=shift, values=put_in(x), whitened=put_out(w)))
    return matrix, vector


# ---------------------------------------------------------------------------------------------
# GRPO group advantages, RLOO
# ---------------------------------------------------------------------------------------------


def grpo_advantages(rewards, num_generations, scale_rewards):
    """GRPOTrainer._generate_and_score_completions, multi_objective_aggregation =
    "sum_then_normalize", with one reward function (TRL 1.16), using TRL's own `nanstd`."""
    mean_grouped_rewards = torch.nanmean(rewards.view(-1, num_generations), dim=1)
    mean_grouped_rewards = mean_grouped_rewards.repeat_interleave(num_generations, dim=0)
    if scale_rewards in ["group", "none"]:
        if num_generations > 1:
            std_rewards = nanstd(rewards.view(-1, num_generations), dim=1)
            std_rewards = std_rewards.repeat_interleave(num_generations, dim=0)
        else:
            std_rewards = torch.zeros_like(rewards)
    elif scale_rewards == "batch":
        if rewards.numel() > 1:
            std_rewards = nanstd(rewards).expand_as(rewards)
        else:
            std_rewards = torch.zeros_like(rewards)
    else:
        raise ValueError(scale_rewards)
    advantages = rewards - mean_grouped_rewards
    if scale_rewards != "none":
        advantages = advantages / (std_rewards + 1e-4)
    return torch.nan_to_num(advantages, nan=0.0)


def exact_group_mean(r, g):
    """The group means as exact as float64 allows (shifted by the first element), so that a
    group of equal rewards has exactly zero deviation, as on the Rust side."""
    r = r.view(-1, g)
    return (r[:, :1] + (r - r[:, :1]).mean(dim=1, keepdim=True)).expand_as(r).reshape(-1)


def group_cases(rng):
    cases = []
    sizes = [1, 2, 3, 4, 8]
    scales = ["group", "batch", "none"]
    for n in range(36):
        g = sizes[n % 5]
        groups = int(rng.integers(1, 6))
        scale = scales[(n // 5) % 3]
        style = n % 4
        if style == 0:
            r = rng.normal(0.0, 1.0, g * groups)
        elif style == 1:
            r = rng.integers(0, 2, g * groups).astype(np.float64)  # 0/1 verifier rewards
        elif style == 2:  # some groups all equal
            r = np.repeat(rng.normal(0.0, 1.0, groups), g)
            r[: g] += rng.normal(0.0, 0.5, g)
        else:
            r = rng.normal(2.0, 0.01, g * groups)
        r = f32(r)
        adv = grpo_advantages(t64(r), g, scale)
        # TRL's own mean can leave a rounding residue of ~1e-17 / 1e-4 in a group of equal
        # rewards; the Rust side returns exact zeros there (same value to 1e-12).
        dev = t64(r) - exact_group_mean(t64(r), g)
        adv = torch.where(dev == 0, torch.zeros_like(adv), adv)
        cases.append(dict(name=f"grpo_{n}_g{g}_{scale}", group_size=g, scale=scale, rewards=put_in(r), advantages=put_out(adv)))
    # all equal everywhere and single rewards, each scaling
    for scale in scales:
        for g, groups in [(4, 2), (1, 3), (1, 1)]:
            r = f32(np.full(g * groups, 0.7))
            adv = grpo_advantages(t64(r), g, scale)
            assert torch.all(adv.abs() < 1e-9), adv
            cases.append(dict(name=f"grpo_equal_g{g}x{groups}_{scale}", group_size=g, scale=scale, rewards=put_in(r), advantages=put_out(torch.zeros_like(adv))))
    return cases


def rloo_trl(rewards, num_generations):
    """RLOOTrainer._generate_and_score_completions (TRL 1.16), all rewards scorable."""
    grouped_rewards = rewards.view(-1, num_generations)
    scorable_counts = (~torch.isnan(grouped_rewards)).sum(dim=1, keepdim=True)
    grouped_sum = torch.nansum(grouped_rewards, dim=1, keepdim=True)
    baselines = (grouped_sum - grouped_rewards) / (scorable_counts - 1)
    return rewards - baselines.view(-1)


def rloo_openrlhf(rewards, n_samples_per_prompt):
    """OpenRLHF experience_maker._apply_reward_shaping, advantage_estimator = "rloo"."""
    rewards = rewards.reshape(-1, n_samples_per_prompt)
    baseline = (rewards.sum(-1, keepdim=True) - rewards) / (n_samples_per_prompt - 1)
    return (rewards - baseline).reshape(-1)


def rloo_cases(rng):
    cases = []
    for n, k in enumerate([2, 3, 4, 8, 2, 5, 16, 3, 4, 2, 6, 4]):
        groups = int(rng.integers(1, 5))
        if n % 3 == 1:
            r = rng.integers(0, 2, k * groups).astype(np.float64)
        elif n % 3 == 2:
            r = np.repeat(rng.normal(0, 1, groups), k)
        else:
            r = rng.normal(0, 2, k * groups)
        r = f32(r)
        a = rloo_trl(t64(r), k)
        assert torch.allclose(a, rloo_openrlhf(t64(r), k), atol=1e-12)
        cases.append(dict(name=f"rloo_{n}_k{k}", k=k, rewards=put_in(r), advantages=put_out(a)))
    return cases


# ---------------------------------------------------------------------------------------------
# REINFORCE++ (OpenRLHF)
# ---------------------------------------------------------------------------------------------


def get_cumulative_returns(rewards, action_mask, gamma):
    """OpenRLHF experience_maker.get_cumulative_returns."""
    response_length = rewards.size(1)
    returns = torch.zeros_like(rewards)
    cumulative_return = torch.zeros(rewards.size(0), dtype=rewards.dtype)
    if action_mask is not None:
        rewards = action_mask * rewards
    for t in reversed(range(response_length)):
        cumulative_return = rewards[:, t] + gamma * cumulative_return
        returns[:, t] = cumulative_return
    return returns


def normalize_advantages(advantages, action_mask):
    """OpenRLHF experience_maker._normalize_advantages (one experience = the whole batch).
    Guard: with no action at all OpenRLHF computes 0/0; the documented value is all zeros."""
    advantages_vector = advantages.flatten()
    action_masks_vector = action_mask.flatten()
    num_actions = action_masks_vector.sum()
    if num_actions == 0:  # guard (see the module docstring)
        return torch.zeros_like(advantages)
    mean = (advantages_vector * action_masks_vector).sum() / num_actions
    var = ((advantages_vector - mean).pow(2) * action_masks_vector).sum() / num_actions
    rstd = var.clamp(min=1e-8).rsqrt()
    return (advantages - mean) * rstd


def compute_reward(r, kl_coef, kl, action_mask):
    """openrlhf/models/utils.py compute_reward (no reward clipping): -kl_coef·kl per token and
    the sequence reward on the last action token (eos_indices)."""
    kl_reward = -kl_coef * kl
    eos_indices = action_mask.size(1) - 1 - action_mask.long().fliplr().argmax(dim=1, keepdim=True)
    last_reward = torch.zeros_like(kl).scatter_(dim=1, index=eos_indices, src=r.unsqueeze(1).to(kl.dtype))
    return last_reward + kl_reward


def reinforce_pp(rewards, m, gamma):
    """Returns over each row's masked tokens (OpenRLHF's scan on the compacted rows), then the
    global normalisation; both 0 outside the mask."""
    cr, cm = compact(rewards, m)
    ret = scatter_back(get_cumulative_returns(cr, cm, gamma), m)
    if contiguous(m):  # OpenRLHF on the original rows gives the same returns on the mask
        ret2 = get_cumulative_returns(rewards, t64(m), gamma) * t64(m)
        assert torch.allclose(ret, ret2, atol=1e-12)
    mt = t64(m)
    adv = normalize_advantages(ret, mt) * mt
    return adv, ret


def reinforce_cases(rng):
    cases, baseline = [], []
    gammas = [1.0, 0.99, 0.9, 0.5]
    for n in range(26):
        b, t = int(rng.integers(1, 6)), int(rng.integers(1, 10))
        kind = MASK_KINDS[n % len(MASK_KINDS)]
        m = make_mask(rng, b, t, kind)
        if n == 25:
            m[:] = 0  # no token at all: zeros
        gamma = gammas[n % 4]
        r = f32(rng.normal(0.0, 0.05, (b, t)))
        for i in range(b):
            idx = np.nonzero(m[i])[0]
            if len(idx):
                r[i, idx[-1]] = f32(rng.normal(0.5, 1.0))
        adv, ret = reinforce_pp(t64(r), m, gamma)
        cases.append(dict(name=f"rpp_{n}_{kind}", b=b, t=t, gamma=gamma, rewards=put_in(r), mask=put_mask(m), advantages=put_out(adv), returns=put_out(ret)))

    for n in range(12):
        g = [1, 2, 4, 3][n % 4]
        groups = int(rng.integers(1, 4))
        b, t = g * groups, int(rng.integers(1, 9))
        kind = ["right", "left", "offset", "holes", "full"][n % 5]
        while True:
            m = make_mask(rng, b, t, kind)
            if m.sum(axis=1).min() > 0:  # every row has a token for its score
                break
        beta = [0.0, 0.05, 0.1][n % 3]
        scores = f32(rng.normal(0.0, 1.0, b) if n % 2 == 0 else rng.integers(0, 2, b))
        kl = f32(rng.normal(0.0, 0.2, (b, t)))
        # OpenRLHF _apply_reward_shaping, "reinforce_baseline": subtract the group mean
        shaped = t64(scores).reshape(-1, g)
        shaped = (shaped - shaped.mean(-1, keepdim=True)).reshape(-1)
        # then compute_reward (score on the last action token, -beta·kl), gamma forced to 1
        tok = compute_reward(shaped, beta, t64(kl), t64(m))
        adv, ret = reinforce_pp(tok, m, 1.0)
        baseline.append(
            dict(name=f"rpp_baseline_{n}_g{g}_{kind}", b=b, t=t, group_size=g, beta=beta, scores=put_in(scores), kl=put_in(kl), mask=put_mask(m), advantages=put_out(adv), returns=put_out(ret))
        )
    return cases, baseline


# ---------------------------------------------------------------------------------------------
# Clipped surrogate: TRL GRPOTrainer._compute_loss with a stub, and the per-token transcription
# ---------------------------------------------------------------------------------------------

LOSS_TYPES = ["grpo", "bnpo", "dr_grpo", "dapo"]


def trl_grpo_loss(loss_type, level, eps_low, eps_high, logp, old, adv, mask, beta=0.0, ref=None, entropies=None, entropy_coef=0.0, max_completion_length=16, num_items_in_batch=1.0):
    """TRL 1.16 GRPOTrainer._compute_loss on given per-token log-probs; returns the loss, the
    gradient w.r.t. the log-probs and TRL's clip metrics."""
    b, t = logp.shape
    leaf = logp.clone().requires_grad_(True)
    ent = entropies if entropies is not None else torch.zeros(b, t, dtype=DT)

    def per_token(model, input_ids, attention_mask, logits_to_keep, **kwargs):
        assert logits_to_keep == t
        return leaf, ent, None

    metrics = defaultdict(lambda: defaultdict(list))
    accel = types.SimpleNamespace(
        gather=lambda x: x,
        gather_for_metrics=lambda x: x,
        reduce=lambda x, reduction="sum": x,
        num_processes=1,
        sync_gradients=True,
        device=CPU,
    )
    stub = types.SimpleNamespace(
        _get_per_token_logps_and_entropies=per_token,
        aux_loss_enabled=False,
        top_entropy_quantile=1.0,
        off_policy_mask_threshold=None,
        importance_sampling_level=level,
        beta=beta,
        loss_type=loss_type,
        epsilon_low=eps_low,
        epsilon_high=eps_high,
        use_vllm=False,
        vllm_importance_sampling_correction=False,
        model=types.SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1,
        max_completion_length=max_completion_length,
        accelerator=accel,
        _metrics=metrics,
        _entropy_bonus_enabled=entropy_coef != 0.0,
        entropy_coef=entropy_coef,
        use_adaptive_entropy=False,
        args=types.SimpleNamespace(delta=None, use_bias_correction_kl=False, steps_per_generation=1, entropy_target=0.0),
    )
    inputs = dict(
        prompt_ids=torch.ones(b, 1, dtype=torch.long),
        prompt_mask=torch.ones(b, 1, dtype=torch.long),
        completion_ids=torch.ones(b, t, dtype=torch.long),
        completion_mask=mask.clone(),
        advantages=adv.clone(),
        old_per_token_logps=old.clone(),
        num_items_in_batch=torch.tensor(num_items_in_batch, dtype=DT),
    )
    if beta != 0.0:
        inputs["ref_per_token_logps"] = ref.clone()
    loss = GRPOTrainer._compute_loss(stub, None, inputs)
    loss.backward()
    m = metrics["train"]
    clip = {k: m[f"clip_ratio/{k}"][-1] for k in ["low_mean", "high_mean", "region_mean"]}
    return float(loss.detach()), leaf.grad.detach().clone(), clip


def surrogate_per_token(logp, old, adv, mask, eps_low, eps_high, level):
    """The per-token clipped surrogate of GRPOTrainer._compute_loss (before aggregation) with the
    metrics of objective/clipped_surrogate.rs, all over the masked tokens."""
    if adv.dim() == 1:
        adv = adv.unsqueeze(1)
    log_ratio = logp - old
    if level == "token":
        log_w = log_ratio
    else:
        log_w = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    coef_1 = torch.exp(log_w)
    coef_2 = torch.clamp(coef_1, 1 - eps_low, 1 + eps_high)
    loss = -torch.min(coef_1 * adv, coef_2 * adv)
    b, t = logp.shape
    loss = loss.expand(b, t) * mask
    ratio = coef_1.expand(b, t)
    advb = adv.expand(b, t)
    low = ((ratio < 1 - eps_low) & (advb < 0)).to(DT)
    high = ((ratio > 1 + eps_high) & (advb > 0)).to(DT)
    region = ((low + high) > 0).to(DT)
    n = mask.sum().clamp(min=1.0)

    def mm(x):
        return (x * mask).sum() / n

    d = logp - old
    metrics = dict(
        clip_frac_low=mm(low),
        clip_frac_high=mm(high),
        clip_frac=mm(region),
        approx_kl=mm(0.5 * d**2),  # TRL PPOTrainer approxkl, masked
        approx_kl_k3=mm(torch.expm1(d) - d),
        ratio_mean=mm(ratio),
    )
    ratio_out = torch.where(mask > 0, ratio, torch.ones_like(ratio))
    return loss, ratio_out, metrics


def ppo_trl_policy_loss(logp, old, adv, mask, cliprange):
    """TRL PPOTrainer.train policy loss and pg_clipfrac (symmetric clip, token level)."""
    padding_mask = mask == 0
    logprobs_diff = logp - old
    ratio = torch.exp(logprobs_diff)
    pg_losses = -adv * ratio
    pg_losses2 = -adv * torch.clamp(ratio, 1.0 - cliprange, 1.0 + cliprange)
    pg_loss_max = torch.max(pg_losses, pg_losses2)
    pg_loss = masked_mean(pg_loss_max, ~padding_mask)
    pg_clipfrac = masked_mean((pg_losses2 > pg_losses).float().to(DT), ~padding_mask)
    return pg_loss, pg_clipfrac


def policy_cases(rng):
    cases = []
    clips = [(0.2, 0.2), (0.2, 0.28), (0.1, 0.3), (0.3, 0.1)]
    for n in range(28):
        b, t = int(rng.integers(1, 6)), int(rng.integers(1, 8))
        kind = MASK_KINDS[n % len(MASK_KINDS)]
        m = make_mask(rng, b, t, kind)
        level = "token" if n % 2 == 0 else "sequence"
        eps_low, eps_high = clips[(n // 2) % 4]
        per_token_adv = n % 3 == 2
        old = f32(-rng.uniform(0.05, 4.0, (b, t)))
        logp = f32(np.minimum(old + rng.normal(0.0, 0.3, (b, t)), -1e-3))
        adv = f32(rng.normal(0.0, 1.0, (b, t) if per_token_adv else b))
        if n % 5 == 4 and not per_token_adv:
            adv[0] = 0.0
        beta = 0.04 if n % 4 == 1 else 0.0
        ref = f32(old + rng.normal(0.0, 0.2, (b, t)))
        entropy_coef = 0.01 if n % 4 == 3 else 0.0
        ent = f32(rng.uniform(0.0, 3.0, (b, t)))
        mcl = t + int(rng.integers(0, 5))
        items = float(max(1, int(m.sum()) + int(rng.integers(0, 20))))
        mt = t64(m)
        loss, ratio, metr = surrogate_per_token(t64(logp), t64(old), t64(adv), mt, eps_low, eps_high, level)
        trl_out = {}
        with_grad = n % 2 == 0 or n < 8
        for lt in LOSS_TYPES:
            value, grad, clip = trl_grpo_loss(
                lt, level, eps_low, eps_high, t64(logp), t64(old), t64(adv), mt, beta=beta, ref=t64(ref), entropies=t64(ent), entropy_coef=entropy_coef, max_completion_length=mcl, num_items_in_batch=items
            )
            trl_out[lt] = dict(loss=put_scalar(value))
            if with_grad:
                trl_out[lt]["grad"] = put_out(grad * mt)
                assert torch.all(grad[mt == 0] == 0)
            if level == "token" or per_token_adv:
                # TRL's token-level clip metrics are the token-weighted fractions used here
                assert abs(clip["low_mean"] - float(metr["clip_frac_low"])) < 1e-12
                assert abs(clip["high_mean"] - float(metr["clip_frac_high"])) < 1e-12
                assert abs(clip["region_mean"] - float(metr["clip_frac"])) < 1e-12
        if level == "token" and eps_low == eps_high and m.sum() > 0:
            pg_loss, pg_clipfrac = ppo_trl_policy_loss(t64(logp), t64(old), t64(adv) if per_token_adv else t64(adv).unsqueeze(1), mt, eps_low)
            bnpo = (loss * mt).sum() / mt.sum()
            assert abs(float(pg_loss) - float(bnpo)) < 1e-12
            assert abs(float(pg_clipfrac) - float(metr["clip_frac"])) < 1e-12
        cases.append(
            dict(
                name=f"policy_{n}_{level}_{kind}",
                b=b,
                t=t,
                level=level,
                eps_low=eps_low,
                eps_high=eps_high,
                logp=put_in(logp),
                old_logp=put_in(old),
                advantages=put_in(adv),
                per_token_advantages=per_token_adv,
                mask=put_mask(m),
                beta=beta,
                ref_logp=put_in(ref),
                entropy_coef=entropy_coef,
                entropies=put_in(ent),
                max_completion_length=mcl,
                num_items_in_batch=items,
                per_token_loss=put_out(loss),
                ratio=put_out(ratio),
                metrics={k: put_scalar(v) for k, v in metr.items()},
                trl=trl_out,
            )
        )
    return cases


# ---------------------------------------------------------------------------------------------
# Loss aggregation
# ---------------------------------------------------------------------------------------------


def aggregate_ref(loss, mask, name, max_completion_length, num_tokens):
    """TRL GRPOTrainer._compute_loss normalisers (accumulation 1, one process) and verl agg_loss."""
    if name == "grpo":  # verl "seq-mean-token-mean"
        return ((loss * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    if name == "bnpo":  # verl "token-mean" over the micro-batch
        return (loss * mask).sum() / mask.sum().clamp(min=1.0)
    if name == "dr_grpo":  # verl "seq-mean-token-sum-norm" with the constant = max length
        return (loss * mask).sum() / (loss.size(0) * max_completion_length)
    if name == "dapo":  # the caller's token count of the whole accumulated batch
        return (loss * mask).sum() / num_tokens
    if name == "seq_mean_token_sum":  # verl agg_loss "seq-mean-token-sum"
        return torch.sum(loss * mask, dim=-1).mean()
    raise ValueError(name)


def aggregate_cases(rng):
    cases = []
    for n in range(18):
        b, t = int(rng.integers(1, 6)), int(rng.integers(1, 9))
        kind = MASK_KINDS[n % len(MASK_KINDS)]
        m = make_mask(rng, b, t, kind)
        x = f32(rng.normal(0.0, 1.0, (b, t)))
        mcl = t + int(rng.integers(0, 6))
        ntok = float(max(1, int(m.sum()) * int(rng.integers(1, 4))))
        res = {k: put_scalar(aggregate_ref(t64(x), t64(m), k, mcl, ntok)) for k in ["grpo", "bnpo", "dr_grpo", "dapo", "seq_mean_token_sum"]}
        cases.append(dict(name=f"agg_{n}_{kind}", b=b, t=t, per_token=put_in(x), mask=put_mask(m), max_completion_length=mcl, num_tokens=ntok, results=res))
    return cases


# ---------------------------------------------------------------------------------------------
# Value loss (TRL PPOTrainer)
# ---------------------------------------------------------------------------------------------


def value_loss_trl(vpred, mb_values, mb_return, mask, cliprange_value):
    """TRL PPOTrainer.train value loss and vf_clipfrac (on the given mask)."""
    vpredclipped = torch.clamp(vpred, mb_values - cliprange_value, mb_values + cliprange_value)
    vf_losses1 = torch.square(vpred - mb_return)
    vf_losses2 = torch.square(vpredclipped - mb_return)
    vf_loss_max = torch.max(vf_losses1, vf_losses2)
    vf_loss = 0.5 * masked_mean(vf_loss_max, mask)
    vf_clipfrac = masked_mean((vf_losses2 > vf_losses1).to(DT), mask)
    return vf_loss, vf_clipfrac


def value_cases(rng):
    cases = []
    clips = [0.2, 0.5, 1.0, 0.05]
    for n in range(20):
        b, t = int(rng.integers(1, 6)), int(rng.integers(1, 8))
        kind = [k for k in MASK_KINDS if k != "empty_rows"][n % 5]
        m = make_mask(rng, b, t, kind)
        c = clips[n % 4]
        old = f32(rng.normal(0.0, 1.0, (b, t)))
        v = f32(old + rng.normal(0.0, 0.4, (b, t)))
        ret = f32(old + rng.normal(0.0, 1.0, (b, t)))
        leaf = t64(v).requires_grad_(True)
        loss, frac = value_loss_trl(leaf, t64(old), t64(ret), t64(m).bool(), c)
        loss.backward()
        cases.append(
            dict(name=f"value_{n}_{kind}", b=b, t=t, clip=c, values=put_in(v), old_values=put_in(old), returns=put_in(ret), mask=put_mask(m), loss=put_scalar(loss), clip_frac=put_scalar(frac), grad=put_out(leaf.grad))
        )
    # an all-empty mask: TRL gives 0/0; the documented value is 0 (guard)
    cases.append(dict(name="value_empty_mask", b=2, t=3, clip=0.2, values=put_in(np.ones(6)), old_values=put_in(np.zeros(6)), returns=put_in(np.ones(6) * 3), mask=[0] * 6, loss=0.0, clip_frac=0.0, grad=[0.0] * 6))
    return cases


# ---------------------------------------------------------------------------------------------
# Entropy
# ---------------------------------------------------------------------------------------------


def entropy_cases(rng):
    logits_cases, bonus = [], []
    for n, (b, t, v) in enumerate([(1, 1, 2), (2, 3, 5), (3, 2, 17), (2, 4, 9), (1, 3, 64), (2, 2, 3)]):
        z = f32(rng.normal(0.0, 3.0, (b, t, v)))
        if n == 3:
            z[0, 0, :] = f32(np.full(v, -2.5))  # uniform: entropy ln v
            z[1, 1, 0] = 60.0  # nearly one-hot
        h = entropy_from_logits(t64(z))
        logits_cases.append(dict(name=f"entropy_{n}", b=b, t=t, v=v, logits=put_in(z), entropy=put_out(h)))
    for n in range(8):
        b, t = int(rng.integers(1, 5)), int(rng.integers(1, 7))
        kind = MASK_KINDS[n % len(MASK_KINDS)]
        m = make_mask(rng, b, t, kind)
        e = f32(rng.uniform(0.0, 4.0, (b, t)))
        coef = [0.01, 0.001, 0.1, -0.05][n % 4]
        mt = t64(m)
        # GRPOTrainer._compute_loss: loss - coef * (entropies * mask).sum() / mask.sum().clamp(min=1)
        val = -coef * (t64(e) * mt).sum() / mt.sum().clamp(min=1.0)
        bonus.append(dict(name=f"entropy_bonus_{n}_{kind}", b=b, t=t, coef=coef, entropy=put_in(e), mask=put_mask(m), bonus=put_scalar(val)))
    return logits_cases, bonus


# ---------------------------------------------------------------------------------------------
# Adaptive KL controller (TRL 0.11 / verl)
# ---------------------------------------------------------------------------------------------


class AdaptiveKLController:
    """TRL 0.11 trl/trainer/utils.py AdaptiveKLController (Ziegler et al. 2019)."""

    def __init__(self, init_kl_coef, target, horizon):
        self.value = init_kl_coef
        self.target = target
        self.horizon = horizon

    def update(self, current, n_steps):
        target = self.target
        proportional_error = np.clip(current / target - 1, -0.2, 0.2)
        mult = 1 + proportional_error * n_steps / self.horizon
        self.value *= mult


def adaptive_kl_cases(rng):
    cases = []
    for n, (beta0, target, horizon, steps) in enumerate([(0.2, 6.0, 10000, 24), (0.05, 0.1, 64, 30), (1.0, 3.0, 500, 20)]):
        ctl = AdaptiveKLController(beta0, target, horizon)
        updates, betas = [], []
        for i in range(steps):
            kind = i % 5
            if kind == 0:
                kl = target * rng.uniform(0.9, 1.1)
            elif kind == 1:
                kl = target * rng.uniform(2.0, 10.0)  # clipped at +0.2
            elif kind == 2:
                kl = -abs(rng.normal(0.0, target))  # a negative k1 estimate: clipped at -0.2
            elif kind == 3:
                kl = 0.0
            else:
                kl = target * rng.uniform(0.5, 1.5)
            n_steps = int(rng.integers(1, min(horizon, 512) + 1))
            ctl.update(kl, n_steps)
            updates.append([float(kl), n_steps])
            betas.append(float(ctl.value))
        cases.append(dict(name=f"adaptive_{n}", init_beta=beta0, target=target, horizon=horizon, updates=updates, betas=betas))
    return cases


# ---------------------------------------------------------------------------------------------


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(20261120)
    meta = dict(trl_version=trl.__version__, torch_version=torch.__version__.split("+")[0])
    write("gae.json", dict(meta, cases=gae_cases(rng)))
    matrix, vector = whiten_cases(rng)
    write("whiten.json", dict(meta, matrix_cases=matrix, vector_cases=vector))
    write("group.json", dict(meta, cases=group_cases(rng)))
    write("rloo.json", dict(meta, cases=rloo_cases(rng)))
    plain, baseline = reinforce_cases(rng)
    write("reinforce_pp.json", dict(meta, cases=plain, baseline_cases=baseline))
    write("policy_loss.json", dict(meta, cases=policy_cases(rng)))
    write("aggregate.json", dict(meta, cases=aggregate_cases(rng)))
    write("value_loss.json", dict(meta, cases=value_cases(rng)))
    logits_cases, bonus = entropy_cases(rng)
    write("entropy.json", dict(meta, logits_cases=logits_cases, bonus_cases=bonus))
    write("adaptive_kl.json", dict(meta, cases=adaptive_kl_cases(rng)))


if __name__ == "__main__":
    main()
