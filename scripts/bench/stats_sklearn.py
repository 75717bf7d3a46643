#!/usr/bin/env python3
"""The work of crates/cxr-eval/benches/stats.rs (`evaluate_2000_rounds`), done with
scikit-learn in a Python loop, for docs/performance-stats.md.

8,334 patients, covid-19 prevalence 18.8 %, bacterial 13.5 % (the paper's Table 3), one
image each. Work timed:
  confusion matrix; per class (one-vs-rest): roc_auc_score, DeLong variance (fast
  rank-based, scipy.stats.rankdata), roc_curve, the accuracy-maximising cut-off and the
  Table 3 metrics there; then B stratified bootstrap rounds (patients resampled within
  each class), each recomputing global and mean class accuracy and, per class,
  roc_auc_score, roc_curve, cut-off and metrics; percentile intervals at the end.

Usage: .venv/bin/python scripts/bench/stats_sklearn.py [--rounds 2000] [--repeats 1]
"""
import argparse
import time

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import confusion_matrix, roc_auc_score, roc_curve


def paper_patients(seed=2020, n=8334):
    rng = np.random.default_rng(seed)
    u = rng.random(n)
    label = np.where(u < 0.188, 1, np.where(u < 0.188 + 0.135, 2, 0))
    logits = 1.1 * rng.normal(size=(n, 3)) + 2.6 * np.eye(3)[label]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return label, e / e.sum(axis=1, keepdims=True)


def delong_var(scores, y):
    pos, neg = scores[y], scores[~y]
    m, n = len(pos), len(neg)
    tz = rankdata(np.concatenate([pos, neg]))
    tx, ty = rankdata(pos), rankdata(neg)
    v10 = (tz[:m] - tx) / n
    v01 = 1 - (tz[m:] - ty) / m
    return np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n


def class_metrics(y, s):
    auc = roc_auc_score(y, s)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    p, n = y.sum(), (~y).sum()
    tp, fp = tpr * p, fpr * n
    acc = (tp + n - fp) / (p + n)
    j = tpr - fpr
    # max accuracy; ties -> higher J -> higher threshold (first index)
    order = np.lexsort((np.arange(len(acc)), -j, -acc))
    i = order[0]
    tp, fp = tp[i], fp[i]
    tn, fn = n - fp, p - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        sens, spec = tp / p, tn / n
        return [auc, sens, fp / n, spec, tp / (tp + fp), tn / (tn + fn),
                sens / (1 - spec), (1 - sens) / spec, 2 * tp / (2 * tp + fp + fn), (tp + tn) / (p + n)]


def accuracies(label, pred):
    cm = confusion_matrix(label, pred, labels=[0, 1, 2])
    per = np.diag(cm) / cm.sum(axis=1)
    return np.trace(cm) / cm.sum(), per.mean()


def evaluate(label, probs, rounds, seed=1):
    pred = probs.argmax(axis=1)
    out = {"acc": accuracies(label, pred)}
    for c in range(3):
        y = label == c
        out[c] = class_metrics(y, probs[:, c]), delong_var(probs[:, c], y)
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(label == c) for c in range(3)]
    reps = []
    for _ in range(rounds):
        idx = np.concatenate([rng.choice(s, size=len(s), replace=True) for s in strata])
        l, p = label[idx], probs[idx]
        row = list(accuracies(l, pred[idx]))
        for c in range(3):
            row += class_metrics(l == c, p[:, c])
        reps.append(row)
    reps = np.array(reps)
    out["ci"] = np.nanpercentile(reps, [2.5, 97.5], axis=0)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args()
    label, probs = paper_patients()
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        out = evaluate(label, probs, a.rounds)
        times.append(time.perf_counter() - t0)
    t = min(times)
    print(f"sklearn loop: {a.rounds} rounds, n={len(label)}: {t:.3f} s "
          f"({1e3 * t / max(a.rounds, 1):.2f} ms/round); covid AUC {out[1][0][0]:.4f}")


if __name__ == "__main__":
    main()
