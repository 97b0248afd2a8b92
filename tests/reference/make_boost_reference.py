#!/usr/bin/python3
"""Reference values for the boosted stumps (sql/73_boosted_stumps.sql), from an independent numpy
implementation of the same algorithm. Writes tests/reference/boost_reference.json.
Run: /usr/bin/python3 tests/reference/make_boost_reference.py

The algorithm (second-order gradient boosting of depth-1 trees, as in XGBoost with max_depth 1):
- start: F = link(mean): logit of the mean (binomial), log(Σy / Σexposure) (poisson, plus the log
  exposure as offset), the mean (gaussian);
- each round: g, h per row (binomial p − y, p(1 − p); poisson μ − y, μ; gaussian F − y, 1); for every
  predictor, candidate thresholds are its distinct values u_1 < … < u_U except the smallest, thinned
  to u[⌊k·U/bins⌋] (k = 1 … bins − 1, 0-based) when U > bins; a split sends x < t left, x ≥ t right, needs
  min_rows on each side, and gains G_L²/(H_L + λ) + G_R²/(H_R + λ) − G²/(H + λ); the best gain wins
  (ties: the earlier predictor, then the smaller threshold); each side moves F by −rate·G/(H + λ);
  no split with a positive gain ends the boosting;
- deviance: binomial −2Σ(y ln p + (1 − y) ln(1 − p)), poisson 2Σ(y ln(y/μ) − (y − μ)), gaussian Σ(y − F)²;
- permutation importance of predictor j: the training deviance with column j rotated by ⌊n/2⌋
  rows (row i takes row (i + ⌊n/2⌋) mod n's value), minus the deviance, ÷ n.
"""
import json
import os

import numpy as np


def boost(X, y, off, family, rounds, rate, lam, bins, min_rows):
    n, p = X.shape
    if family == "binomial":
        m = y.mean()
        base = np.log(m / (1 - m))
    elif family == "poisson":
        base = np.log(y.sum() / np.exp(off).sum())
    else:
        base = y.mean()
    F = np.full(n, base)
    cands = []
    for j in range(p):
        u = np.unique(X[:, j])[1:] if len(np.unique(X[:, j])) > 1 else np.array([])
        uu = np.unique(X[:, j])
        U = len(uu)
        if U > bins:
            c = np.array(sorted(set(uu[(k * U) // bins] for k in range(1, bins))))
        else:
            c = u
        cands.append(c)
    stumps = []
    for _ in range(rounds):
        g, h = grad(F, y, off, family)
        G, H = g.sum(), h.sum()
        best = None
        for j in range(p):
            for t in cands[j]:
                left = X[:, j] < t
                nl = left.sum()
                if nl < min_rows or n - nl < min_rows:
                    continue
                gl, hl = g[left].sum(), h[left].sum()
                gr, hr = G - gl, H - hl
                gain = gl * gl / (hl + lam) + gr * gr / (hr + lam) - G * G / (H + lam)
                if gain > 1e-12 and (best is None or gain > best[0] + 1e-12 * abs(best[0])):
                    best = (gain, j, t, -rate * gl / (hl + lam), -rate * gr / (hr + lam))
        if best is None:
            break
        _, j, t, vl, vr = best
        F = F + np.where(X[:, j] < t, vl, vr)
        stumps.append({"feature": j + 1, "threshold": float(t), "left": float(vl), "right": float(vr), "gain": float(best[0])})
    return base, stumps, F


def grad(F, y, off, family):
    if family == "binomial":
        pr = 1 / (1 + np.exp(-F))
        return pr - y, pr * (1 - pr)
    if family == "poisson":
        mu = np.exp(F + off)
        return mu - y, mu
    return F - y, np.ones_like(F)


def predict(X, base, stumps):
    F = np.full(X.shape[0], base)
    for s in stumps:
        F = F + np.where(X[:, s["feature"] - 1] < s["threshold"], s["left"], s["right"])
    return F


def deviance(F, y, off, family):
    if family == "binomial":
        pr = 1 / (1 + np.exp(-F))
        return float(-2 * np.sum(y * np.log(pr) + (1 - y) * np.log(1 - pr)))
    if family == "poisson":
        mu = np.exp(F + off)
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / mu), 0.0)
        return float(2 * np.sum(ylog - (y - mu)))
    return float(np.sum((y - F) ** 2))


def main():
    rng = np.random.default_rng(20261202)
    cases = {}
    n = 200
    X = np.column_stack([rng.normal(1165, 280, n).round(), (np.arange(n) % 7 == 0).astype(float), rng.poisson(15, n).astype(float)])
    expo = rng.poisson(400, n).astype(float) + 50
    lam_t = 0.01 * np.where(X[:, 0] > 1200, 3.0, 1.0) * np.where(X[:, 1] == 1, 2.3, 1.0)
    yp = rng.poisson(lam_t * expo).astype(float)
    yb = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-1 + 1.5 * (X[:, 0] > 1200) + 0.8 * X[:, 1])))).astype(float)
    for name, y, family, off in [("poisson", yp, "poisson", np.log(expo)), ("binomial", yb, "binomial", np.zeros(n))]:
        base, stumps, F = boost(X, y, off, family, rounds=40, rate=0.1, lam=1.0, bins=16, min_rows=10)
        dev = deviance(F, y, off, family)
        imp = []
        for j in range(X.shape[1]):
            Xp = X.copy()
            Xp[:, j] = np.roll(X[:, j], -(n // 2))
            imp.append((deviance(predict(Xp, base, stumps), y, off, family) - dev) / n)
        cases[name] = {"family": family, "rows": np.column_stack([y, X, expo]).tolist(), "rounds": 40, "rate": 0.1, "lambda": 1.0,
                       "bins": 16, "min_rows": 10, "base": float(base), "stumps": stumps, "deviance": dev, "importance": imp}
    out = {"generator": "tests/reference/make_boost_reference.py", "numpy": np.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boost_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=float)
    print("wrote", path)


if __name__ == "__main__":
    main()
