#!/usr/bin/python3
"""Reference values for the model metrics (sql/71_model_eval.sql), from numpy and scipy 1.10.

Writes tests/reference/metrics_reference.json. Run: /usr/bin/python3 tests/reference/make_metrics_reference.py

Binary cases (y in {0, 1}, p a probability): AUC = Mann–Whitney U / (n1·n0) (scipy.stats.mannwhitneyu,
mid-ranks for ties), Brier score, the base-rate forecast's Brier and the skill 1 − Brier/base, log loss
(p clipped to [1e-15, 1 − 1e-15]), accuracy and balanced accuracy of "p ≥ threshold", the confusion
matrix, the majority-class accuracy, and the calibration table of scikit-learn's calibration_curve
(strategy uniform: bin = number of inner edges linspace(0, 1, bins + 1)[1:-1] below p, searchsorted
left) with the expected calibration error Σ n_b/n · |observed_b − predicted_b|.
Count cases (y ≥ 0, mu > 0): MAE, RMSE, mean Poisson deviance 2·mean(y·ln(y/mu) − (y − mu)).
Cross-validation (analytics.cross_validate_glm): 160 time-ordered rows, logistic; the later half cut
into 4 consecutive blocks (block f = rows start + ⌊(f−1)·h/4⌋ … start + ⌊f·h/4⌋ − 1, h = ⌊n/2⌋, start =
n − h); each predicted by statsmodels' Logit fitted on every earlier row; the baseline is the
training base rate. Per fold and pooled: the binary metrics above.
"""
import statsmodels.api as sm
import json
import os

import numpy as np
import scipy
from scipy import stats


def binary(y, p, threshold, bins):
    y = np.asarray(y, float)
    p = np.asarray(p, float)
    n1, n0 = int(y.sum()), int(len(y) - y.sum())
    auc = stats.mannwhitneyu(p[y == 1], p[y == 0], alternative="two-sided").statistic / (n1 * n0)
    b = y.mean()
    brier = np.mean((p - y) ** 2)
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    pred = (p >= threshold).astype(float)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    edges = np.linspace(0.0, 1.0, bins + 1)
    ids = np.searchsorted(edges[1:-1], p)
    table = []
    ece = 0.0
    for k in range(bins):
        m = ids == k
        if m.sum() == 0:
            continue
        table.append({"bin": k + 1, "n": int(m.sum()), "predicted": float(p[m].mean()), "observed": float(y[m].mean())})
        ece += m.sum() / len(y) * abs(y[m].mean() - p[m].mean())
    return {
        "n": len(y), "positives": n1, "base_rate": b, "auc": auc, "brier": brier, "brier_baseline": np.mean((b - y) ** 2),
        "brier_skill": 1 - brier / np.mean((b - y) ** 2),
        "log_loss": -np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)),
        "log_loss_baseline": -np.mean(y * np.log(b) + (1 - y) * np.log(1 - b)),
        "accuracy": (tp + tn) / len(y), "balanced_accuracy": 0.5 * (tp / (tp + fn) + tn / (tn + fp)),
        "majority_accuracy": max(b, 1 - b), "tp": tp, "fp": fp, "tn": tn, "fn": fn, "calibration": table, "ece": ece,
    }


def counts(y, mu):
    y = np.asarray(y, float)
    mu = np.asarray(mu, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(y / mu), 0.0)
    return {"mae": np.mean(np.abs(y - mu)), "rmse": np.sqrt(np.mean((y - mu) ** 2)), "poisson_deviance": 2 * np.mean(ylog - (y - mu))}


def main():
    rng = np.random.default_rng(20261202)
    cases = {}
    # a calibrated-ish model with ties (probabilities rounded to 0.05)
    x = rng.normal(0, 1, 400)
    p = 1 / (1 + np.exp(-(-1 + 1.3 * x)))
    y = (rng.uniform(size=400) < p).astype(float)
    p_obs = np.round(np.clip(p + rng.normal(0, 0.05, 400), 0.001, 0.999) * 20) / 20
    cases["ties"] = {"y": y.tolist(), "p": p_obs.tolist(), "threshold": 0.5, "bins": 10, "expected": binary(y, p_obs, 0.5, 10)}
    # a rare outcome, threshold 0.2, 5 bins
    p2 = 1 / (1 + np.exp(-(-3 + 1.5 * rng.normal(0, 1, 300))))
    y2 = (rng.uniform(size=300) < p2).astype(float)
    cases["rare"] = {"y": y2.tolist(), "p": p2.tolist(), "threshold": 0.2, "bins": 5, "expected": binary(y2, p2, 0.2, 5)}
    mu = rng.uniform(0.5, 8, 200)
    yc = rng.poisson(mu).astype(float)
    base = np.full(200, yc.mean())
    cases_c = {"poisson": {"y": yc.tolist(), "mu": mu.tolist(), "expected": counts(yc, mu), "baseline": base.tolist(),
                           "expected_baseline": counts(yc, base)}}
    n = 160
    t = np.arange(n)
    X = np.column_stack([rng.normal(0, 1, n), (t % 7 == 0).astype(float)])
    pr = 1 / (1 + np.exp(-(-0.8 + 1.1 * X[:, 0] + 1.2 * X[:, 1])))
    yb = (rng.uniform(size=n) < pr).astype(float)
    h = n // 2
    start = n - h
    folds, all_y, all_p = [], [], []
    for f in range(1, 5):
        lo = start + ((f - 1) * h) // 4
        hi = start + (f * h) // 4 if f < 4 else n
        r = sm.Logit(yb[:lo], sm.add_constant(X[:lo])).fit(disp=0, tol=1e-12, maxiter=100)
        pf = r.predict(sm.add_constant(X[lo:hi], has_constant="add"))
        folds.append({"fold": f, "train_rows": lo, "test_rows": hi - lo, "params": r.params.tolist(), "metrics": binary(yb[lo:hi], pf, 0.5, 10)})
        all_y += yb[lo:hi].tolist()
        all_p += pf.tolist()
    cases_cv = {"rows": np.column_stack([t, yb, X]).tolist(), "folds": folds, "pooled": binary(np.array(all_y), np.array(all_p), 0.5, 10)}
    out = {"generator": "tests/reference/make_metrics_reference.py", "numpy": np.__version__, "scipy": scipy.__version__,
           "binary": cases, "counts": cases_c, "cv": cases_cv}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=float)
    print("wrote", path)


if __name__ == "__main__":
    main()
