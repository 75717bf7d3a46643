#!/usr/bin/env python3
"""Reference values for cxr-stats part C (agreement of paired classifications).

Writes crates/cxr-stats/tests/reference/c_agreement.json from peer implementations, so
that the Rust tests (crates/cxr-stats/tests/agreement.rs) need no Python:

* "mcnemar" - statsmodels.stats.contingency_tables.mcnemar on [[a, b], [c, d]] (a and d
              do not enter the test): exact=True p-value (binomial test of b against
              b + c trials at 1/2) and exact=False, correction=True statistic and p-value
              (chi-square with continuity correction; R mcnemar.test agrees except at
              b = c, where it drops the correction). statsmodels gives statistic inf
              and p-value 0 for b + c = 0 (1/0); that raw output is kept as the string
              "inf". Each exact p-value is also summed term by term in
              mpmath at 50 digits ("exact_pvalue_mpmath"), an independent check of scipy's
              binom.cdf for n up to ~1e9.
* "kappa"   - statsmodels.stats.inter_rater.cohens_kappa (simple, unweighted): kappa,
              std_kappa, std_kappa0, kappa_low / kappa_upp (95 %), z_value,
              pvalue_two_sided; a 90 % interval kappa -/+ norm.isf(0.05) * std_kappa; and
              scikit-learn cohen_kappa_score on the label sequences expanded from the
              table (row index = first rater, column index = second), which must equal
              kappa.
* "kappa_degenerate" - tables where kappa or its z statistic is undefined, with what the
              peers return there (NaN is written as null), so the tests document them.

Regenerate (from the repository root):

    .venv/bin/pip install scipy numpy statsmodels scikit-learn mpmath
    .venv/bin/python scripts/reference/stats_reference_c.py

Versions used for the committed fixture are recorded in its "meta" entry.
"""

import json
import math
import os
import sys
import warnings

import mpmath as mp
import numpy as np
import scipy
import scipy.stats as st
import sklearn
import statsmodels
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.inter_rater import cohens_kappa

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "cxr-stats", "tests", "reference")


def meta(**extra):
    m = {
        "generator": "scripts/reference/stats_reference_c.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "statsmodels": statsmodels.__version__,
        "sklearn": sklearn.__version__,
        "mpmath": mp.__version__,
    }
    m.update(extra)
    return m


def dump(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", path)


def nan_to_none(x):
    x = float(x)
    return None if math.isnan(x) else x


# --------------------------------------------------------------------------------------
# McNemar
# --------------------------------------------------------------------------------------
def exact_two_sided_mpmath(b, c):
    """min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2), summed at 50 digits."""
    with mp.workdps(50):
        n, k = b + c, min(b, c)
        term = mp.exp(mp.loggamma(n + 1) - mp.loggamma(k + 1) - mp.loggamma(n - k + 1) - n * mp.log(2))
        total = mp.mpf(0)
        i = k
        while True:
            total += term
            if i == 0:
                break
            ratio = mp.mpf(i) / (n - i + 1)  # pmf(i - 1) / pmf(i), decreasing as i falls
            term *= ratio
            i -= 1
            if ratio < 1 and term * ratio / (1 - ratio) < total * mp.mpf("1e-30"):
                total += term  # the bound covers the rest
                break
        return float(min(mp.mpf(1), 2 * total))


def mcnemar_cases():
    pairs = [
        (0, 0), (0, 1), (1, 0), (0, 5), (5, 0), (1, 1), (3, 3), (7, 8), (10, 2), (12, 30),
        (400, 350), (2000, 1700),
        (1, 120),  # p ~ 1e-34
        (30, 900),  # p ~ 6e-224
        (50_000, 49_000),
        (5_000_000, 4_994_000),
        (500_000_000, 499_950_000),  # n just under MAX_EXACT_TOTAL = 1e9
    ]
    cases = []
    for b, c in pairs:
        table = [[17, b], [c, 4]]  # a, d arbitrary
        exact = mcnemar(table, exact=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 1 / 0 at b + c = 0
            chi = mcnemar(table, exact=False, correction=True)
        stat = float(chi.statistic)
        cases.append({
            "b": b,
            "c": c,
            "exact_pvalue": float(exact.pvalue),
            "exact_pvalue_mpmath": exact_two_sided_mpmath(b, c),
            "chi2": "inf" if math.isinf(stat) else stat,
            "chi2_pvalue": float(chi.pvalue),
        })
    return cases


# --------------------------------------------------------------------------------------
# Cohen's kappa
# --------------------------------------------------------------------------------------
def expand(table):
    """Label sequences (first rater, second rater) with table[i][j] pairs (i, j), row-major."""
    y1, y2 = [], []
    for i, row in enumerate(table):
        for j, v in enumerate(row):
            y1 += [i] * v
            y2 += [j] * v
    return y1, y2


def kappa_cases():
    tables = [
        ("2x2", [[45, 15], [25, 15]]),
        ("2x2 large", [[4000, 120], [300, 1800]]),
        ("3x3", [[22, 2, 2], [3, 14, 4], [1, 5, 17]]),
        ("3x3 zero row", [[10, 3, 2], [0, 0, 0], [4, 1, 12]]),
        ("perfect agreement", [[10, 0, 0], [0, 7, 0], [0, 0, 3]]),
        ("kappa < 0", [[2, 8], [7, 3]]),
        ("4x4 sparse", [[5, 0, 1, 0], [0, 3, 0, 2], [1, 0, 4, 0], [0, 1, 0, 6]]),
        # truth (normal, bacterial, covid) in rows, classifier in columns, 500 units
        ("classifier vs truth", [[230, 18, 4], [22, 131, 9], [3, 8, 75]]),
    ]
    cases = []
    for name, t in tables:
        k = len(t)
        r = cohens_kappa(np.array(t))
        y1, y2 = expand(t)
        sk = float(cohen_kappa_score(y1, y2, labels=list(range(k))))
        assert abs(sk - r.kappa) <= 1e-12 * max(1.0, abs(r.kappa)), (name, sk, r.kappa)
        d90 = st.norm.isf(0.05) * r.std_kappa
        cases.append({
            "name": name,
            "table": t,
            "n": int(np.sum(t)),
            "kappa": float(r.kappa),
            "std_kappa": float(r.std_kappa),
            "std_kappa0": float(r.std_kappa0),
            "kappa_low": float(r.kappa_low),
            "kappa_upp": float(r.kappa_upp),
            "z_value": float(r.z_value),
            "pvalue_two_sided": float(r.pvalue_two_sided),
            "ci90": [float(r.kappa - d90), float(r.kappa + d90)],
            "sklearn_kappa": sk,
        })
    return cases


def kappa_degenerate():
    tables = [
        ("both raters use one class (expected agreement 1)", [[10, 0], [0, 0]]),
        ("first rater constant", [[3, 2], [0, 0]]),
        ("second rater constant", [[4, 0, 0], [1, 0, 0], [6, 0, 0]]),
        ("no class used by both (expected agreement 0)", [[0, 5], [0, 0]]),
    ]
    cases = []
    for name, t in tables:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = cohens_kappa(np.array(t))
            y1, y2 = expand(t)
            sk = cohen_kappa_score(y1, y2, labels=list(range(len(t))))
        cases.append({
            "name": name,
            "table": t,
            "statsmodels_kappa": nan_to_none(r.kappa),
            "statsmodels_std_kappa": nan_to_none(r.std_kappa),
            "statsmodels_kappa_low": nan_to_none(r.kappa_low),
            "statsmodels_kappa_upp": nan_to_none(r.kappa_upp),
            "statsmodels_std_kappa0": nan_to_none(r.std_kappa0),
            "statsmodels_z_value": nan_to_none(r.z_value),
            "sklearn_kappa": nan_to_none(sk),
        })
    return cases


def agreement():
    dump(
        "c_agreement.json",
        {"meta": meta(), "mcnemar": mcnemar_cases(), "kappa": kappa_cases(),
         "kappa_degenerate": kappa_degenerate()},
    )


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    agreement()
