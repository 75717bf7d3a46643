#!/usr/bin/env python3
"""Reference values for cxr-stats part B (hypothesis, design, calibration, missing).

Writes small JSON fixtures under crates/cxr-stats/tests/reference/ (files b_*.json) from
peer implementations, so that the Rust tests need no Python:

* b_hypothesis.json  - scipy.stats ttest_ind (equal_var True/False), chi2_contingency
                       (correction True/False), fisher_exact.
* b_design.json      - statsmodels TTestIndPower / NormalIndPower, scipy nct.cdf, and the
                       Buderer / Hajian-Tilaki / Hanley-McNeil / Obuchowski formulas
                       evaluated with scipy's normal quantiles.
* b_calibration.json - scikit-learn brier_score_loss and calibration_curve (uniform and
                       quantile bins); ECE/MCE and net benefit from those bins in numpy.
* b_missing.json     - Little's MCAR test: pyampute's implementation (pairwise-available
                       mean and covariance) and an independent numpy EM implementation
                       (ML mean and covariance, as R naniar::mcar_test via norm::em.norm).

R-based references (pwr, power.prop.test, mice) are in stats_reference_b.R.

Regenerate (from the repository root):

    .venv/bin/pip install scipy numpy pandas statsmodels scikit-learn pyampute
    .venv/bin/python scripts/reference/stats_reference_b.py

Versions used for the committed fixtures are recorded in each file's "meta" entry.
"""

import json
import os
import sys

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
import sklearn
import statsmodels
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "cxr-stats", "tests", "reference")


def meta(**extra):
    m = {
        "generator": "scripts/reference/stats_reference_b.py",
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }
    m.update(extra)
    return m


def dump(name, obj):
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote", path)


def r3(x):
    return [round(float(v), 3) for v in x]


# --------------------------------------------------------------------------------------
# hypothesis
# --------------------------------------------------------------------------------------
def hypothesis():
    rng = np.random.default_rng(20200716)
    samples = [
        (r3(rng.normal(65.0, 16.1, 40)), r3(rng.normal(51.8, 15.1, 55))),
        (r3(rng.normal(0.0, 1.0, 8)), r3(rng.normal(0.5, 3.0, 5))),
        (r3(rng.exponential(2.0, 30)), r3(rng.exponential(2.5, 300))),
        ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]),
        # one constant group: Welch and Student still defined
        ([3.0, 3.0, 3.0, 3.0], [1.0, 2.0, 4.0, 7.0]),
        # 0/1 indicators (the paper's "t-test" on gender)
        ([1.0] * 13 + [0.0] * 9, [1.0] * 7 + [0.0] * 17),
    ]
    ttests = []
    for a, b in samples:
        for equal_var in (True, False):
            r = st.ttest_ind(a, b, equal_var=equal_var)
            ci = r.confidence_interval(0.95)
            ci90 = r.confidence_interval(0.90)
            ttests.append(
                {
                    "a": a,
                    "b": b,
                    "equal_var": equal_var,
                    "statistic": float(r.statistic),
                    "pvalue": float(r.pvalue),
                    "df": float(r.df),
                    "ci95": [float(ci.low), float(ci.high)],
                    "ci90": [float(ci90.low), float(ci90.high)],
                    "mean_a": float(np.mean(a)),
                    "mean_b": float(np.mean(b)),
                    "sd_a": float(np.std(a, ddof=1)),
                    "sd_b": float(np.std(b, ddof=1)),
                }
            )
    # From summary statistics: paper Table 2 / Supp Table 1 (age).
    summary = []
    for ma, sa, na, mb, sb, nb in [
        (65.0, 16.1, 3156, 51.8, 15.1, 13509),
        (54.0, 16.2, 8134, 57.2, 17.5, 200),
    ]:
        for equal_var in (True, False):
            r = st.ttest_ind_from_stats(ma, sa, na, mb, sb, nb, equal_var=equal_var)
            summary.append(
                {
                    "mean_a": ma, "sd_a": sa, "n_a": na,
                    "mean_b": mb, "sd_b": sb, "n_b": nb,
                    "equal_var": equal_var,
                    "statistic": float(r.statistic),
                    "pvalue": float(r.pvalue),
                }
            )

    tables = [
        [[12, 5], [7, 15]],
        [[1834, 3156 - 1834], [6705, 13509 - 6705]],  # Table 2, males
        [[4197, 8134 - 4197], [88, 200 - 88]],  # Supp Table 1, males
        [[1, 1], [1, 3]],  # |O - E| < 0.5: Yates brings X2 to 0
        [[0, 10], [6, 4]],  # empty cell
        [[10, 20, 30], [25, 15, 5]],
        [[3, 0, 7, 2], [5, 9, 0, 4], [8, 2, 6, 1]],  # 3x4 with empty cells
        [[100, 200]],  # one row: df 0
    ]
    chi2 = []
    for t in tables:
        for corr in (True, False):
            r = st.chi2_contingency(np.array(t), correction=corr)
            chi2.append(
                {
                    "table": t,
                    "correction": corr,
                    "statistic": float(r.statistic),
                    "pvalue": float(r.pvalue),
                    "df": int(r.dof),
                    "expected": [[float(v) for v in row] for row in r.expected_freq],
                }
            )

    fisher_tables = [
        [[12, 5], [7, 15]],
        [[8, 2], [1, 5]],
        [[3, 3], [3, 3]],  # symmetric: p = 1
        [[0, 10], [6, 4]],
        [[10, 0], [0, 10]],
        [[1834, 3156 - 1834], [6705, 13509 - 6705]],
        [[4197, 8134 - 4197], [88, 200 - 88]],
        [[2, 7], [8, 2]],
        [[5, 5], [5, 6]],
        [[1, 0], [0, 0]],  # zero margin: p = 1, odds ratio undefined
    ]
    fisher = []
    for t in fisher_tables:
        r = st.fisher_exact(t)
        orr = float(r.statistic)
        fisher.append(
            {
                "table": t,
                "odds_ratio": None if np.isnan(orr) else ("inf" if np.isinf(orr) else orr),
                "pvalue": float(r.pvalue),
            }
        )
    dump(
        "b_hypothesis.json",
        {"meta": meta(), "ttest": ttests, "ttest_summary": summary, "chi2": chi2, "fisher": fisher},
    )


# --------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------
def design():
    z = st.norm.ppf
    tpow = TTestIndPower()
    ttest_power = []
    for d, n, alpha in [(0.5, 64, 0.05), (0.2, 100, 0.05), (0.8, 10.5, 0.01), (1.5, 4, 0.05), (0.3, 500, 0.1)]:
        ttest_power.append(
            {"d": d, "n": n, "alpha": alpha,
             "power": float(tpow.power(d, nobs1=n, alpha=alpha, ratio=1.0, alternative="two-sided"))}
        )
    ttest_n = []
    for d, alpha, power in [(0.5, 0.05, 0.8), (0.2, 0.05, 0.9), (0.8, 0.01, 0.95), (1.0, 0.05, 0.95)]:
        n = tpow.solve_power(effect_size=d, nobs1=None, alpha=alpha, power=power, ratio=1.0)
        ttest_n.append({"d": d, "alpha": alpha, "power": power, "n": float(np.asarray(n).item())})
    nct = []
    for t, df, ncp in [(1.0, 10.0, 0.5), (-1.0, 10.0, 0.5), (2.5, 5.0, 3.0), (1.96, 126.0, 2.83),
                       (-2.0, 30.0, -1.0), (0.0, 7.0, 1.2), (4.0, 3.5, 1.0), (10.0, 50.0, 8.0)]:
        nct.append({"t": t, "df": df, "ncp": ncp, "cdf": float(st.nct.cdf(t, df, ncp))})
    npow = NormalIndPower()
    two_prop = []
    for p1, p2, n, alpha in [(0.581, 0.496, 200, 0.05), (0.516, 0.44, 150, 0.05), (0.8, 0.9, 100, 0.01)]:
        h = float(proportion_effectsize(p1, p2))
        pw = float(npow.power(h, nobs1=n, alpha=alpha, ratio=1.0, alternative="two-sided"))
        nn = float(np.asarray(npow.solve_power(effect_size=h, nobs1=None, alpha=alpha, power=0.9, ratio=1.0)).item())
        two_prop.append({"p1": p1, "p2": p2, "n": n, "alpha": alpha, "h": h, "power": pw, "n_for_power_0.9": nn})

    # Closed-form formulas, evaluated with scipy's quantiles.
    buderer = []
    for se, prev, d, alpha in [(0.8, 0.189, 0.05, 0.05), (0.8, 3156 / 16665, 0.05, 0.05),
                               (0.9, 0.1, 0.03, 0.05), (0.95, 0.5, 0.02, 0.01)]:
        cases = z(1 - alpha / 2) ** 2 * se * (1 - se) / d ** 2
        buderer.append({"se": se, "prevalence": prev, "precision": d, "alpha": alpha,
                        "cases_exact": cases, "total_exact": cases / prev})
    power_se = []
    for se0, se1, prev, alpha, power, two in [(0.8, 0.9, 0.189, 0.05, 0.95, True),
                                              (0.7, 0.8, 0.189, 0.05, 0.95, True),
                                              (0.7, 0.8, 0.189, 0.05, 0.8, False)]:
        za = z(1 - alpha / 2) if two else z(1 - alpha)
        zb = z(power)
        cases = (za * np.sqrt(se0 * (1 - se0)) + zb * np.sqrt(se1 * (1 - se1))) ** 2 / (se1 - se0) ** 2
        power_se.append({"se0": se0, "se1": se1, "prevalence": prev, "alpha": alpha, "power": power,
                         "two_sided": two, "cases_exact": float(cases), "total_exact": float(cases / prev)})
    hm = []
    for auc, npos, nneg in [(0.986, 1568, 6766), (0.8, 50, 50), (0.7, 20, 80)]:
        q1 = auc / (2 - auc)
        q2 = 2 * auc ** 2 / (1 + auc)
        v = (auc * (1 - auc) + (npos - 1) * (q1 - auc ** 2) + (nneg - 1) * (q2 - auc ** 2)) / (npos * nneg)
        hm.append({"auc": auc, "n_pos": npos, "n_neg": nneg, "variance": v})
    obu = []
    for auc, ratio in [(0.5, 1.0), (0.8, 1.0), (0.9, 4.3), (0.986, 4.3)]:
        a = 1.414 * z(auc)
        v = 0.0099 * np.exp(-a * a / 2) * ((5 * a * a + 8) + (a * a + 8) / ratio)
        obu.append({"auc": auc, "ratio": ratio, "variance": float(v)})
    dump(
        "b_design.json",
        {"meta": meta(statsmodels=statsmodels.__version__), "ttest_power": ttest_power, "ttest_n": ttest_n,
         "nct_cdf": nct, "two_proportion": two_prop, "buderer": buderer, "power_sensitivity": power_se,
         "hanley_mcneil": hm, "obuchowski": obu},
    )


# --------------------------------------------------------------------------------------
# calibration
# --------------------------------------------------------------------------------------
def calibration():
    rng = np.random.default_rng(7)
    n = 400
    p = np.round(rng.beta(0.6, 1.8, n), 4)
    y = (rng.uniform(size=n) < np.clip(p * 1.2, 0, 1)).astype(int)
    cases = []
    for strategy in ("uniform", "quantile"):
        for n_bins in (5, 10):
            prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
            # Bin edges and counts exactly as sklearn builds them.
            if strategy == "quantile":
                edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
            else:
                edges = np.linspace(0.0, 1.0, n_bins + 1)
            ids = np.searchsorted(edges[1:-1], p)
            counts = np.bincount(ids, minlength=len(edges))[: n_bins]
            nz = counts[counts > 0]
            gaps = np.abs(prob_true - prob_pred)
            cases.append({
                "strategy": strategy,
                "n_bins": n_bins,
                "edges": [float(v) for v in edges],
                "counts": [int(c) for c in counts],
                "prob_true": [float(v) for v in prob_true],
                "prob_pred": [float(v) for v in prob_pred],
                "ece": float(np.sum(nz / n * gaps)),
                "mce": float(np.max(gaps)),
            })
    thresholds = [0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9]
    prev = y.mean()
    nb = []
    for t in thresholds:
        pos = p >= t
        tp = np.sum(pos & (y == 1))
        fp = np.sum(pos & (y == 0))
        w = t / (1 - t)
        nb.append({"threshold": t, "model": float(tp / n - fp / n * w),
                   "treat_all": float(prev - (1 - prev) * w)})
    dump(
        "b_calibration.json",
        {"meta": meta(sklearn=sklearn.__version__), "y_true": [int(v) for v in y], "y_prob": [float(v) for v in p],
         "brier": float(brier_score_loss(y, p)), "reliability": cases, "net_benefit": nb},
    )


# --------------------------------------------------------------------------------------
# missing: Little's MCAR test
# --------------------------------------------------------------------------------------
def em_mvn(x, tol=1e-12, max_iter=10000):
    """ML mean/covariance of a multivariate normal with missing values (EM)."""
    n, p = x.shape
    obs = ~np.isnan(x)
    mu = np.nanmean(x, axis=0)
    sigma = np.diag(np.nanvar(x, axis=0))
    for _ in range(max_iter):
        t1 = np.zeros(p)
        t2 = np.zeros((p, p))
        for i in range(n):
            o = obs[i]
            m = ~o
            xi = x[i].copy()
            c = np.zeros((p, p))
            if m.any():
                soo = sigma[np.ix_(o, o)]
                smo = sigma[np.ix_(m, o)]
                b = smo @ np.linalg.inv(soo) if o.any() else np.zeros((m.sum(), 0))
                xi[m] = mu[m] + (b @ (x[i, o] - mu[o]) if o.any() else 0)
                c[np.ix_(m, m)] = sigma[np.ix_(m, m)] - (b @ smo.T if o.any() else 0)
            t1 += xi
            t2 += np.outer(xi, xi) + c
        new_mu = t1 / n
        new_sigma = t2 / n - np.outer(new_mu, new_mu)
        done = max(np.max(np.abs(new_mu - mu)), np.max(np.abs(new_sigma - sigma))) < tol
        mu, sigma = new_mu, new_sigma
        if done:
            break
    return mu, sigma


def little(x, mu, sigma):
    n, p = x.shape
    obs = ~np.isnan(x)
    keys = [tuple(r) for r in obs]
    d2 = 0.0
    df = 0
    for key in sorted(set(keys)):
        o = np.array(key)
        if not o.any():
            continue
        rows = x[[k == key for k in keys]][:, o]
        diff = rows.mean(axis=0) - mu[o]
        d2 += len(rows) * diff @ np.linalg.solve(sigma[np.ix_(o, o)], diff)
        df += o.sum()
    df -= p
    return float(d2), int(df), float(st.chi2.sf(d2, df))


def missing():
    from pyampute.exploration.mcar_statistical_tests import MCARTest

    rng = np.random.default_rng(1988)
    cases = []
    for name, n, mech in [("mcar", 120, "mcar"), ("mar", 150, "mar")]:
        cov = np.array([[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]])
        x = rng.multivariate_normal([50.0, 10.0, 0.0], cov * [[100, 10, 10], [10, 1, 1], [10, 1, 1]], n)
        x = np.round(x, 3)
        if mech == "mcar":
            mask = rng.uniform(size=x.shape) < 0.15
            mask[:, 0] = False
        else:
            # column 1 missing when column 0 is large; column 2 when column 1 is small
            mask = np.zeros_like(x, dtype=bool)
            mask[:, 1] = x[:, 0] > np.quantile(x[:, 0], 0.7)
            mask[:, 2] = (x[:, 1] < np.quantile(x[:, 1], 0.2)) & ~mask[:, 1]
        x[mask] = np.nan
        mu, sigma = em_mvn(x)
        d2, df, pv = little(x, mu, sigma)
        df_ = pd.DataFrame(x, columns=["a", "b", "c"])
        pw_mu = df_.mean().to_numpy()
        pw_cov = df_.cov().to_numpy()
        pd2, pdf, ppv = little(x, pw_mu, pw_cov)
        p_pyampute = float(MCARTest(method="little").little_mcar_test(df_))
        cases.append({
            "name": name,
            "data": [[None if np.isnan(v) else float(v) for v in row] for row in x],
            "em_mean": [float(v) for v in mu],
            "em_cov": [[float(v) for v in row] for row in sigma],
            "em_statistic": d2, "em_df": df, "em_pvalue": pv,
            "pairwise_mean": [float(v) for v in pw_mu],
            "pairwise_cov": [[float(v) for v in row] for row in pw_cov],
            "pairwise_statistic": pd2, "pairwise_df": pdf, "pairwise_pvalue": ppv,
            "pyampute_pvalue": p_pyampute,
        })
    import pyampute  # noqa: F401

    dump("b_missing.json", {"meta": meta(pandas=pd.__version__, pyampute="0.0.3"), "little": cases})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    which = sys.argv[1:] or ["hypothesis", "design", "calibration", "missing"]
    for w in which:
        globals()[w]()
