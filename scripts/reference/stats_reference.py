#!/usr/bin/env python3
"""Reference values for crates/cxr-stats, from scikit-learn, SciPy and (through
stats_reference.R) R's pROC.

Writes, under crates/cxr-stats/tests/reference/:
  datasets.json  the inputs (small, deterministic: numpy seed 20200716)
  sklearn.json   roc_curve(drop_intermediate=False), roc_auc_score (full and max_fpr),
                 scipy mannwhitneyu U, scipy binomtest Wilson / exact intervals
  proc.json      pROC: AUC, DeLong variance and CI, paired DeLong roc.test,
                 coords("best") for youden / closest.topleft with best.weights

Regenerate (from the repository root):
  /work/main/.venv/bin/pip install scikit-learn scipy numpy   # once
  apt-get install -y r-base-core r-cran-proc r-cran-jsonlite  # once (Debian)
  .venv/bin/python scripts/reference/stats_reference.py
The Rust tests only read the JSON files; they need neither Python nor R.
"""
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import scipy
import sklearn
from scipy.stats import binomtest, mannwhitneyu
from sklearn.metrics import roc_auc_score, roc_curve

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "cxr-stats", "tests", "reference")


def datasets():
    rng = np.random.default_rng(20200716)
    out = {}
    # Continuous scores, moderate separation, no ties.
    n = 200
    y = rng.random(n) < 0.3
    s = rng.normal(0, 1, n) + 1.2 * y
    out["continuous"] = (s, y)
    # Heavy ties: scores rounded to one decimal.
    n = 60
    y = rng.random(n) < 0.4
    s = np.round(1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.0 * y))), 1)
    out["ties"] = (s, y)
    # Imbalanced, like the paper (covid ~19 %), probabilities in [0, 1].
    n = 300
    y = rng.random(n) < 0.19
    s = 1 / (1 + np.exp(-(rng.normal(-2, 1.2, n) + 3.5 * y)))
    out["imbalanced"] = (s, y)
    # Perfect separation.
    out["perfect"] = (np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.9, 0.95]),
                      np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool))
    # All scores equal.
    out["all_equal"] = (np.full(7, 0.5), np.array([1, 0, 1, 0, 0, 1, 0], dtype=bool))
    # Tiny.
    out["tiny"] = (np.array([0.2, 0.9, 0.4, 0.4, 0.7]), np.array([0, 1, 0, 1, 1], dtype=bool))
    return out


def paired():
    rng = np.random.default_rng(7160)
    n = 150
    y = rng.random(n) < 0.35
    latent = rng.normal(0, 1, n) + 1.3 * y
    a = latent + rng.normal(0, 0.6, n)
    b = 0.6 * latent + rng.normal(0, 1.0, n)
    return {"labels": y.tolist(), "a": a.tolist(), "b": b.tolist()}


def main():
    os.makedirs(OUT, exist_ok=True)
    data = datasets()
    ds = {name: {"scores": s.tolist(), "labels": [bool(v) for v in y]} for name, (s, y) in data.items()}
    pair = paired()
    with open(os.path.join(OUT, "datasets.json"), "w") as f:
        json.dump({"generator": "scripts/reference/stats_reference.py", "binary": ds, "paired": pair}, f, indent=1)

    sk = {"versions": {"scikit-learn": sklearn.__version__, "scipy": scipy.__version__, "numpy": np.__version__},
          "binary": {}, "proportions": []}
    for name, (s, y) in data.items():
        fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
        entry = {
            "fpr": fpr.tolist(),
            "tpr": tpr.tolist(),
            # +inf is not JSON: written as null (it is always the first threshold).
            "thresholds": [None if math.isinf(t) else float(t) for t in thr],
            "auc": float(roc_auc_score(y, s)),
            "mann_whitney_u": float(mannwhitneyu(s[y], s[~y], alternative="two-sided").statistic),
            "partial_auc_mcclish": {str(m): float(roc_auc_score(y, s, max_fpr=m)) for m in (0.1, 0.25, 0.5)},
        }
        sk["binary"][name] = entry
    for k, n in [(0, 10), (1, 10), (5, 10), (10, 10), (81, 263), (1440, 1568), (72, 6766), (947, 1130), (3, 7)]:
        for level in (0.95, 0.9):
            r = binomtest(k, n)
            w = r.proportion_ci(confidence_level=level, method="wilson")
            e = r.proportion_ci(confidence_level=level, method="exact")
            sk["proportions"].append({"k": k, "n": n, "level": level,
                                      "wilson": [w.low, w.high], "exact": [e.low, e.high]})
    with open(os.path.join(OUT, "sklearn.json"), "w") as f:
        json.dump(sk, f, indent=1)

    rscript = shutil.which("Rscript")
    if rscript is None:
        print("Rscript not found: proc.json not regenerated", file=sys.stderr)
        return
    subprocess.run([rscript, os.path.join(ROOT, "scripts", "reference", "stats_reference.R"),
                    os.path.join(OUT, "datasets.json"), os.path.join(OUT, "proc.json")], check=True)


if __name__ == "__main__":
    main()
