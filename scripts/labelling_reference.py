#!/usr/bin/env python3
"""Reference values for crates/pref-data/src/labelling (agreement and Bradley-Terry).

Writes crates/pref-data/tests/labelling/reference.json with:
- krippendorff_alpha: alpha at the four levels from the `krippendorff` PyPI package
  (0.9), for Krippendorff (2011) section C and a seeded random matrix with missing values;
- cohen_kappa: sklearn.metrics.cohen_kappa_score (unweighted, linear, quadratic);
- bradley_terry: scores maximising the Bradley-Terry log-likelihood (plus the
  "virtual games" log-prior alpha * sum(theta - 2 log(1 + e^theta)) when prior_games > 0)
  with scipy's BFGS on the exact gradient -- an independent method from the Rust MM code.

Run:  .venv-torch/bin/python -m pip install krippendorff scikit-learn scipy
      .venv-torch/bin/python scripts/labelling_reference.py
"""

import json
import pathlib

import krippendorff
import numpy as np
import scipy.optimize
import sklearn
from sklearn.metrics import cohen_kappa_score

OUT = pathlib.Path(__file__).resolve().parents[1] / "crates/pref-data/tests/labelling/reference.json"
LEVELS = ["nominal", "ordinal", "interval", "ratio"]


def alpha_case(name, data):
    arr = np.array([[np.nan if v is None else v for v in row] for row in data], dtype=float)
    return {
        "name": name,
        "data": data,
        "alpha": {lvl: float(krippendorff.alpha(reliability_data=arr, level_of_measurement=lvl)) for lvl in LEVELS},
    }


def krippendorff_cases(rng):
    n = None
    k2011 = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    # A random matrix: 5 coders x 20 units, a latent value per unit plus noise, 30% missing.
    latent = rng.integers(1, 6, size=20)
    rand = []
    for _ in range(5):
        row = []
        for u in range(20):
            if rng.random() < 0.3:
                row.append(None)
            else:
                v = int(np.clip(latent[u] + rng.choice([-1, 0, 0, 0, 1]), 1, 5))
                row.append(v)
        rand.append(row)
    return [alpha_case("krippendorff_2011_section_c", k2011), alpha_case("random_5x20_missing", rand)]


def kappa_cases(rng):
    cases = []
    yes, no = 0, 1
    first = [yes] * 20 + [yes] * 5 + [no] * 10 + [no] * 15
    second = [yes] * 20 + [no] * 5 + [yes] * 10 + [no] * 15
    cases.append({"name": "wikipedia_50", "first": first, "second": second, "n_classes": 2, "weights": None})
    truth = rng.integers(0, 4, size=60)
    a = [int(t if rng.random() < 0.7 else rng.integers(0, 4)) for t in truth]
    b = [int(np.clip(t + rng.choice([-1, 0, 0, 1]), 0, 3)) for t in truth]
    for w in [None, "linear", "quadratic"]:
        cases.append({"name": f"random_4_classes_{w}", "first": a, "second": b, "n_classes": 4, "weights": w})
    for c in cases:
        c["kappa"] = float(cohen_kappa_score(c["first"], c["second"], labels=list(range(c["n_classes"])), weights=c["weights"]))
    return cases


def bt_fit(n, comps, alpha):
    comps = np.array(comps, dtype=float)
    w, l, wt = comps[:, 0].astype(int), comps[:, 1].astype(int), comps[:, 2]

    def f(theta):
        d = theta[l] - theta[w]
        nll = np.sum(wt * np.logaddexp(0.0, d))
        p = 1.0 / (1.0 + np.exp(-d))  # P(loser beats winner)
        g = np.zeros(n)
        np.add.at(g, w, -wt * p)
        np.add.at(g, l, wt * p)
        if alpha > 0:
            nll -= alpha * np.sum(theta - 2.0 * np.logaddexp(0.0, theta))
            g -= alpha * (1.0 - 2.0 / (1.0 + np.exp(-theta)))
        return nll, g

    def hess(theta):
        d = theta[l] - theta[w]
        c = wt / (1.0 + np.exp(-d)) / (1.0 + np.exp(d))
        h = np.zeros((n, n))
        np.add.at(h, (w, w), c)
        np.add.at(h, (l, l), c)
        np.add.at(h, (w, l), -c)
        np.add.at(h, (l, w), -c)
        if alpha > 0:
            s = 1.0 / (1.0 + np.exp(-theta))
            h[np.diag_indices(n)] += 2.0 * alpha * s * (1.0 - s)
        return h

    res = scipy.optimize.minimize(f, np.zeros(n), jac=True, method="BFGS", options={"gtol": 1e-10, "maxiter": 10000})
    x = res.x
    for _ in range(5):  # Newton polish (least squares: the MLE Hessian is singular along 1)
        x = x - np.linalg.lstsq(hess(x), f(x)[1], rcond=None)[0]
    theta = x - x.mean()
    gnorm = np.abs(f(x)[1]).max()
    assert gnorm < 1e-8, (res, gnorm)
    ll = -float(np.sum(wt * np.logaddexp(0.0, theta[l] - theta[w])))
    return [float(t) for t in theta], ll


def bt_cases(rng):
    cases = []

    def add(name, n, comps, alpha):
        scores, ll = bt_fit(n, comps, alpha)
        cases.append({"name": name, "n_items": n, "comparisons": comps, "prior_games": alpha, "scores": scores, "log_likelihood": ll})

    # Four items, strongly connected, unit weights.
    four = [(0, 1), (0, 1), (1, 0), (1, 2), (1, 2), (2, 1), (2, 3), (3, 2), (0, 3), (0, 2), (3, 0), (2, 0), (0, 2)]
    add("four_items_mle", 4, [[a, b, 1.0] for a, b in four], 0.0)
    # Ties as half a win each way, and a weighted win.
    add("ties_and_weights_mle", 3, [[0, 1, 2.0], [1, 0, 1.0], [1, 2, 0.5], [2, 1, 0.5], [2, 0, 1.0], [0, 2, 3.0]], 0.0)
    # Item 3 never wins: no finite MLE; the prior makes it finite.
    add("never_winning_with_prior", 4, [[0, 1, 1.0], [1, 0, 1.0], [1, 2, 1.0], [2, 0, 1.0], [0, 3, 1.0], [2, 3, 1.0]], 0.1)
    # Random comparisons among 6 items from known strengths, with a prior.
    strength = np.array([1.0, 0.5, 0.0, 0.0, -0.5, -1.0])
    comps = []
    for _ in range(60):
        i, j = rng.choice(6, size=2, replace=False)
        p = 1.0 / (1.0 + np.exp(strength[j] - strength[i]))
        comps.append([int(i), int(j), 1.0] if rng.random() < p else [int(j), int(i), 1.0])
    add("random_six_items_prior", 6, comps, 1.0)
    return cases


def main():
    rng = np.random.default_rng(20240901)
    out = {
        "generator": "scripts/labelling_reference.py",
        "versions": {
            "krippendorff": getattr(krippendorff, "__version__", "0.9.0"),
            "sklearn": sklearn.__version__,
            "scipy": scipy.__version__,
            "numpy": np.__version__,
        },
        "krippendorff_alpha": krippendorff_cases(rng),
        "cohen_kappa": kappa_cases(rng),
        "bradley_terry": bt_cases(rng),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {OUT}")
    for c in out["krippendorff_alpha"]:
        print(c["name"], {k: round(v, 4) for k, v in c["alpha"].items()})
    for c in out["cohen_kappa"]:
        print(c["name"], round(c["kappa"], 4))
    for c in out["bradley_terry"]:
        print(c["name"], [round(s, 4) for s in c["scores"]])


if __name__ == "__main__":
    main()
