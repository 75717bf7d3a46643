#!/usr/bin/env python3
"""Temperature scaling (Guo et al. 2017), the peer of
`cxr_stats::calibration::fit_temperature`, computed with numpy and scipy.

    make peers
    .venv/bin/python scripts/reference/temperature_reference.py

Writes crates/cxr-stats/tests/reference/b_temperature.json: a deliberately
over-confident three-class fixture (true logits times 3, labels drawn from the true
probabilities), the mean negative log-likelihood at a few temperatures
(`scipy.special.log_softmax`), and the temperature that minimises it, found as the root
of the derivative in beta = 1/T with `scipy.optimize.brentq` (xtol 1e-15) and checked
against `scipy.optimize.minimize_scalar`.
"""
import json
import pathlib

import numpy as np
import scipy
from scipy.optimize import brentq, minimize_scalar
from scipy.special import log_softmax, softmax

REF = pathlib.Path(__file__).resolve().parents[2] / "crates/cxr-stats/tests/reference"


def nll(z, y, t):
    return float(-np.mean(log_softmax(z / t, axis=1)[np.arange(len(y)), y]))


def dnll_dbeta(z, y, beta):
    p = softmax(beta * z, axis=1)
    return float(np.mean((p * z).sum(axis=1) - z[np.arange(len(y)), y]))


def main() -> None:
    rng = np.random.default_rng(20)
    n, k = 240, 3
    true_logits = rng.normal(0.0, 1.2, size=(n, k)) + np.array([0.3, 0.0, -0.2])
    p_true = softmax(true_logits, axis=1)
    y = np.array([rng.choice(k, p=row) for row in p_true])
    z = 3.0 * true_logits  # over-confident: sharper than the truth
    beta = brentq(lambda b: dnll_dbeta(z, y, b), 1e-3, 1e3, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    t = 1.0 / beta
    check = minimize_scalar(lambda t: nll(z, y, t), bounds=(0.01, 100.0), method="bounded",
                            options={"xatol": 1e-10})
    assert abs(check.x - t) < 1e-5, (check.x, t)
    out = {
        "meta": {"peer": "scipy", "version": scipy.__version__, "numpy": np.__version__,
                 "data": "rng(20): 240 x 3 logits x 3 (over-confident), labels from the true softmax"},
        "logits": [[float(v) for v in row] for row in z],
        "labels": [int(v) for v in y],
        "nll_at": [{"temperature": tt, "nll": nll(z, y, tt)} for tt in (0.5, 1.0, 2.0, 3.0, 10.0)],
        "temperature": t,
        "nll_before": nll(z, y, 1.0),
        "nll_after": nll(z, y, t),
    }
    (REF / "b_temperature.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
