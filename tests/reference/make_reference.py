#!/usr/bin/python3
"""Reference values for the SQL statistics library (sql/00_stats.sql) and analytics.correlate
(sql/20_correlation.sql), computed with scipy / statsmodels and, for the special functions, with
mpmath at 50 significant digits.

Run with the Debian interpreter (it has scipy, statsmodels, mpmath):

    /usr/bin/python3 tests/reference/make_reference.py

It writes tests/reference/stats_reference.json (deterministic: numpy seed 20261125; the library
versions are recorded in "meta"). tests/correlation_test.ts reads it.

Sections of the JSON:
  ln_gamma          [x, scipy.special.gammaln(x), exact]
  incomplete_beta   [x, a, b, scipy.special.betainc(a, b, x), exact]
  student_t_sf2     [t, df, 2·scipy.stats.t.sf(|t|, df) or null where scipy is off by > 1e-6, exact]
  correlation       cases {name, x, y, expected{n, pearson_r, pearson_p, pearson_ci_low,
                    pearson_ci_high, spearman_rho, spearman_p, note}} — scipy.stats.pearsonr
                    (+ .confidence_interval(0.95)) and scipy.stats.spearmanr on the pairs where both
                    values are present; null marks a missing value.
  bh                cases {p, q}: statsmodels multipletests(p, method='fdr_bh')[1] over the non-null p.
  correlate         a small daily scenario (raw rows to insert) and the rows analytics.correlate must
                    return for it, computed here with scipy + statsmodels.
"""

import datetime as dt
import hashlib
import json
import math
import os
import platform
import sys

import mpmath
import numpy as np
import scipy
import scipy.special
import scipy.stats
import scipy.stats as stats
import statsmodels.api as sm
import statsmodels
from statsmodels.stats.multitest import multipletests

SEED = 20261125
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stats_reference.json")
mpmath.mp.dps = 50


# ───────────────────────────── exact special functions (mpmath) ─────────────────────────────

def _cf_mp(x, a, b):
    """Continued fraction of I_x(a, b) (Lentz) in mpmath precision; exact once converged."""
    one = mpmath.mpf(1)
    qab, qap, qam = a + b, a + 1, a - 1
    c, d = one, one - qab * x / qap
    d = one / d
    h = d
    eps = mpmath.mpf(10) ** -45
    for m in range(1, 200000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = one + aa * d
        c = one + aa / c
        d = one / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = one + aa * d
        c = one + aa / c
        d = one / d
        de = d * c
        h *= de
        if abs(de - 1) < eps:
            return h
    raise RuntimeError("mpmath continued fraction did not converge")


def ibeta_exact(x, a, b):
    """Regularized incomplete beta I_x(a, b) to ~45 digits (x, a, b exact binary doubles)."""
    x, a, b = mpmath.mpf(x), mpmath.mpf(a), mpmath.mpf(b)
    if x == 0:
        return mpmath.mpf(0)
    if x == 1:
        return mpmath.mpf(1)
    front = mpmath.exp(a * mpmath.log(x) + b * mpmath.log(1 - x) - mpmath.log(mpmath.beta(a, b)))
    if x < (a + 1) / (a + b + 2):
        return front * _cf_mp(x, a, b) / a
    return 1 - front * _cf_mp(1 - x, b, a) / b


def t_sf2_exact(t, df):
    """2·P(T > |t|) = I_{df/(df+t²)}(df/2, ½), exactly from the double t and df."""
    t, df = abs(mpmath.mpf(t)), mpmath.mpf(df)
    x = df / (df + t * t)
    a, b = df / 2, mpmath.mpf("0.5")
    front = mpmath.exp(a * mpmath.log(x) + b * mpmath.log(1 - x) - mpmath.log(mpmath.beta(a, b)))
    if x < (a + 1) / (a + b + 2):
        return front * _cf_mp(x, a, b) / a
    return 1 - front * _cf_mp(1 - x, b, a) / b


def f(v):
    """A float for JSON (None stays None)."""
    return None if v is None else float(v)


# ───────────────────────────── special-function grids ─────────────────────────────

def ln_gamma_cases():
    xs = [1e-300, 1e-10, 1e-3, 0.1, 0.25, 0.5, 0.9, 0.999, 1.0, 1.001, 1.25, 1.5, 1.999, 2.0, 2.001,
          2.5, 3.0, 4.75, 7.3, 9.99, 10.0, 10.01, 25.5, 44.5, 100.0, 249.0, 1000.0, 12345.678, 1e5,
          1e10, 1e100]
    return [[x, float(scipy.special.gammaln(x)), float(mpmath.loggamma(mpmath.mpf(x)))] for x in xs]


def incomplete_beta_cases():
    params = [0.5, 1.0, 2.5, 10.0, 44.5, 100.0, 1000.0]
    xs = [1e-10, 1e-3, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999]
    out = []
    for a in params:
        for b in params:
            for x in xs:
                exact = ibeta_exact(x, a, b)
                if exact < mpmath.mpf("1e-300"):
                    continue  # below the normal double range
                out.append([x, a, b, float(scipy.special.betainc(a, b, x)), float(exact)])
    return out


def t_sf2_cases():
    ts = [0.0, 0.1, -0.5, 1.0, 1.96, -2.0, 3.0, 5.0, 10.0, 30.0, 100.0, 1e3, 1e5, 1e10, 1e50, 1e100,
          1e149, 1e151, 1e200, 1e299]
    dfs = [1.0, 2.0, 2.5, 3.0, 5.0, 10.0, 30.0, 88.0, 100.0, 498.0, 1000.0, 1e4]
    out = []
    for df in dfs:
        for t in ts:
            exact = t_sf2_exact(t, df)
            if exact < mpmath.mpf("1e-300"):
                continue
            scipy_v = 2.0 * float(scipy.stats.t.sf(abs(t), df))
            if abs(scipy_v - float(exact)) > 1e-6 * float(exact):
                scipy_v = None  # scipy is off here (t² overflows for |t| ≳ 1e154): compare with exact only
            out.append([t, df, scipy_v, float(exact)])
    return out


# ───────────────────────────── correlation cases ─────────────────────────────

def scipy_correlation(x, y):
    """Expected row of aoma_private.correlation_stats for arrays with None as missing."""
    pairs = [(a, b) for a, b in zip(x, y) if a is not None and b is not None]
    n = len(pairs)
    exp = {"n": n, "pearson_r": None, "pearson_p": None, "pearson_ci_low": None, "pearson_ci_high": None,
           "spearman_rho": None, "spearman_p": None, "note": None}
    if n < 4:
        exp["note"] = f"not enough data (n={n}; need at least 4)"
        return exp
    xa = np.array([p[0] for p in pairs], dtype=float)
    ya = np.array([p[1] for p in pairs], dtype=float)
    cx, cy = np.all(xa == xa[0]), np.all(ya == ya[0])
    if cx or cy:
        exp["note"] = "constant: no variation in " + ("x and y" if cx and cy else "x" if cx else "y")
        return exp
    pr = scipy.stats.pearsonr(xa, ya)
    ci = pr.confidence_interval(0.95)
    sr = scipy.stats.spearmanr(xa, ya)
    exp.update(pearson_r=f(pr.statistic), pearson_p=f(pr.pvalue), pearson_ci_low=f(ci.low),
               pearson_ci_high=f(ci.high), spearman_rho=f(sr.correlation), spearman_p=f(sr.pvalue))
    # The contract for an exact monotone relation: rho = ±1 and p = 0. scipy computes rho through
    # np.corrcoef and may land one ulp short of 1 (then p ~ 1e-64 instead of 0); snap it.
    if abs(exp["spearman_rho"]) > 1 - 4e-16:
        exp["spearman_rho"], exp["spearman_p"] = math.copysign(1.0, exp["spearman_rho"]), 0.0
    return exp


def rounded(a, digits=4):
    return [None if v is None else float(round(float(v), digits)) for v in a]


def correlation_cases(rng):
    cases = []

    def add(name, x, y):
        cases.append({"name": name, "x": x, "y": y, "expected": scipy_correlation(x, y)})

    for n in (5, 10, 30, 90, 500):
        x = rng.normal(size=n)
        y = 0.3 * x + rng.normal(size=n)
        add(f"random normal n={n}", rounded(x), rounded(y))
    for n in (10, 90):
        x = rng.normal(size=n)
        add(f"independent normal n={n}", rounded(x), rounded(rng.normal(size=n)))
    # strong correlation: tiny p-values, down to ~1e-290 (redrawn while p underflows below 1e-300)
    for n, noise in ((90, 0.1), (90, 0.01), (500, 0.5), (500, 0.3), (500, 0.28), (300, 0.12), (200, 0.05)):
        while True:
            x = rounded(rng.normal(size=n))
            y = rounded(np.array(x) + noise * rng.normal(size=n))
            if scipy.stats.pearsonr(x, y).pvalue > 1e-300:
                break
        add(f"strong n={n} noise={noise}", x, y)
    x = rng.normal(size=60)
    add("negative n=60", rounded(x), rounded(-0.7 * x + 0.5 * rng.normal(size=60)))
    # ties (Spearman's average ranks)
    for n in (12, 30, 90):
        x = rng.integers(0, 4, size=n).astype(float)
        y = x + rng.integers(0, 3, size=n)
        add(f"ties n={n}", x.tolist(), y.astype(float).tolist())
    # counts like the feature views have
    x = rng.poisson(3.0, size=90).astype(float)
    add("poisson counts n=90", x.tolist(), (rng.poisson(1.0 + 0.2 * x)).astype(float).tolist())
    # missing values: pairs with a null drop out
    x = rounded(rng.normal(size=25))
    y = rounded(np.array(x, dtype=float) * 0.5 + rng.normal(size=25))
    for i in (0, 3, 7, 19):
        x[i] = None
    for i in (3, 11, 24):
        y[i] = None
    add("with nulls n=25", x, y)
    # edge cases
    add("perfect line", [float(i) for i in range(1, 11)], [2.0 * i + 1 for i in range(1, 11)])
    add("monotone nonlinear", [float(i) for i in range(1, 13)], [-(i ** 3) * 1.0 for i in range(1, 13)])
    add("n=3", [1.0, 2.0, 3.0], [2.0, 1.0, 3.0])
    add("n=4 minimum", [1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0])
    add("nulls leave 3 pairs", [1.0, None, 3.0, 4.0, 5.0], [2.0, 1.0, None, 3.0, 6.0])
    add("constant x", [2.0] * 8, [float(i) for i in range(8)])
    add("constant y", [float(i) for i in range(8)], [0.0] * 8)
    add("constant x and y", [1.5] * 6, [7.0] * 6)
    add("classic 5", [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 1.0, 4.0, 3.0, 5.0])
    return cases


# ───────────────────────────── Benjamini–Hochberg ─────────────────────────────

def bh(p):
    vals = [v for v in p if v is not None]
    q = iter(multipletests(vals, method="fdr_bh")[1].tolist()) if vals else iter([])
    return [None if v is None else float(next(q)) for v in p]


def bh_cases(rng):
    cases = []
    for m in (1, 2, 5, 20, 200):
        p = rng.uniform(size=m) ** 3
        cases.append(p.tolist())
    p = (rng.uniform(size=30) ** 4).tolist()
    for i in (2, 9, 17, 29):
        p[i] = None
    cases.append(p)
    cases.append([0.01, 0.04, None, 0.03])
    cases.append([0.02, 0.02, 0.02, 0.5, 0.5, 1.0, 0.0])   # ties, an exact 0 and 1
    cases.append([1e-300, 1e-200, 0.049, 0.051, 0.9])
    cases.append([None, None])
    return [{"p": [f(v) for v in c], "q": bh(c)} for c in cases]


# ───────────────────────────── correlate scenario ─────────────────────────────

def partial_correlation(x, y, g):
    """Partial correlation of x and y given season dummies g (sql/05_seasonal.sql): residuals from
    the season means, Pearson on them with df = n - 2 - (seasons - 1); Spearman the same on average
    ranks. The Pearson p-value is cross-checked against statsmodels OLS y ~ x + C(g)."""
    x, y, g = np.asarray(x, float), np.asarray(y, float), np.asarray(g)
    n, k = len(x), len(np.unique(g)) - 1
    df = n - 2 - k

    def resid(v):
        out = v.copy()
        for s in np.unique(g):
            out[g == s] = v[g == s] - v[g == s].mean()
        return out

    def corr_p(a, b):
        r = float(np.sum(a * b) / np.sqrt(np.sum(a * a) * np.sum(b * b)))
        tt = r * np.sqrt(df / ((1 - r) * (1 + r)))
        return r, float(2 * stats.t.sf(abs(tt), df))

    r, p = corr_p(resid(x), resid(y))
    rho, sp = corr_p(resid(stats.rankdata(x)), resid(stats.rankdata(y)))
    dummies = np.column_stack([(g == s).astype(float) for s in np.unique(g)])
    ols = sm.OLS(y, np.column_stack([x, dummies])).fit()
    assert abs(ols.pvalues[0] - p) <= 1e-9 * max(p, 1e-300), (ols.pvalues[0], p)
    z, h = np.arctanh(r), stats.norm.ppf(0.975) / np.sqrt(n - 3 - k)
    return {"n": n, "pearson_r": r, "pearson_p": p, "pearson_ci_low": float(np.tanh(z - h)),
            "pearson_ci_high": float(np.tanh(z + h)), "spearman_rho": rho, "spearman_p": sp, "note": None}


def correlate_scenario(rng):
    """42 UTC days from Monday 2026-03-02: asset volume drives next-day failures (lag 1)."""
    start = dt.date(2026, 3, 2)
    days = [start + dt.timedelta(days=i) for i in range(42)]
    t = np.arange(42)
    volume = np.round(800 + 300 * np.sin(t / 4.0) + rng.normal(0, 80, size=42)).astype(int)
    commits = rng.integers(5, 40, size=42)
    failures = np.zeros(42, dtype=int)
    for i in range(42):
        previous = volume[i - 1] if i > 0 else 800
        lam = max(0.1, (previous - 450) / 100.0) + (1.0 if days[i].isoweekday() == 1 else 0.0)
        failures[i] = rng.poisson(lam)
    is_monday = np.array([1 if d.isoweekday() == 1 else 0 for d in days])

    metrics, incidents, git = [], [], []
    for i, d in enumerate(days):
        iso = d.isoformat()
        metrics.append({"timestamp": f"{iso}T12:00:00Z", "asset_volume": int(volume[i])})
        for k in range(int(failures[i])):
            incidents.append({"incident_key": f"TEST-INC-{iso}-{k}", "started_at": f"{iso}T09:{k:02d}:00Z"})
        for k in range(int(commits[i])):
            sha = hashlib.sha1(f"{iso}/{k}".encode()).hexdigest()
            git.append({"sha": sha, "committed_at": f"{iso}T10:{k:02d}:00Z"})

    date_from, date_to, max_lag = "2026-03-04", "2026-04-12", 2
    series = {"asset_volume": volume.astype(float), "commits": commits.astype(float),
              "is_monday": is_monday.astype(float)}
    kinds = {"asset_volume": "driver", "commits": "driver", "is_monday": "calendar"}
    target = failures.astype(float)
    in_range = [i for i, d in enumerate(days) if date_from <= d.isoformat() <= date_to]

    weekday = np.array([d.isoweekday() for d in days])

    def expected_rows(adjust):
        rows = []
        for name in sorted(series):
            lags = [0] if kinds[name] == "calendar" else list(range(max_lag + 1))
            for lag in lags:
                idx = [i for i in in_range if i - lag >= 0]
                x = [float(series[name][i - lag]) for i in idx]
                y = [float(target[i]) for i in idx]
                if adjust == "seasonal" and kinds[name] != "calendar":
                    e = partial_correlation(x, y, [int(weekday[i]) for i in idx])
                    e["adjusted_for"] = "weekday"
                else:
                    e = scipy_correlation(x, y)
                    e["adjusted_for"] = None
                rows.append({"feature": name, "lag": lag, **e})
        pvals = [r["pearson_p"] for r in rows] + [r["spearman_p"] for r in rows]
        q = bh(pvals)
        m = len(rows)
        for i, r in enumerate(rows):
            r["pearson_q"], r["spearman_q"] = q[i], q[m + i]
        with_p = [r for r in rows if r["pearson_q"] is not None]
        without = [r for r in rows if r["pearson_q"] is None]
        with_p.sort(key=lambda r: (r["pearson_q"], -abs(r["pearson_r"]), r["feature"], r["lag"]))
        without.sort(key=lambda r: (r["feature"], r["lag"]))
        for k, r in enumerate(with_p + without, start=1):
            r["rank"] = k
        return sorted(with_p + without, key=lambda r: r["rank"])

    return {
        "description": "42 UTC days from Monday 2026-03-02; failures on day t depend on asset volume of day t-1 "
                       "and on Mondays. Insert the rows (after emptying the raw tables inside a transaction), run "
                       "analytics.refresh_features(), then call analytics.correlate with 'call'.",
        "days": [d.isoformat() for d in days],
        "raw": {"aoma_system_metrics": metrics, "incidents": incidents, "git_commits": git},
        "series": {"failure_count": failures.tolist(), "asset_volume": volume.tolist(),
                   "commits": commits.tolist(), "is_monday": is_monday.tolist()},
        "call": {"target": "failure_count", "features": ["commits", "asset_volume", "is_monday", "commits"],
                 "max_lag": max_lag, "date_from": date_from, "date_to": date_to, "grain": "day"},
        "expected": expected_rows("none"),
        "expected_seasonal": expected_rows("seasonal"),
    }


def main():
    rng = np.random.default_rng(SEED)
    ref = {
        "meta": {
            "generator": "tests/reference/make_reference.py",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
            "mpmath": mpmath.__version__,
            "seed": SEED,
            "notes": "exact = mpmath at 50 digits (continued fraction of I_x(a,b) iterated to 1e-45); "
                     "scipy values as scipy computes them. Correlation inputs are rounded to 4 decimals "
                     "before scipy sees them, so SQL and scipy get identical doubles.",
        },
        "ln_gamma": ln_gamma_cases(),
        "incomplete_beta": incomplete_beta_cases(),
        "student_t_sf2": t_sf2_cases(),
        "correlation": correlation_cases(rng),
        "bh": bh_cases(rng),
        "correlate": correlate_scenario(rng),
    }
    with open(OUT, "w") as fh:
        json.dump(ref, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")
    print(f"wrote {OUT}: {os.path.getsize(OUT)} bytes, "
          f"{len(ref['ln_gamma'])} ln_gamma, {len(ref['incomplete_beta'])} incomplete_beta, "
          f"{len(ref['student_t_sf2'])} t_sf2, {len(ref['correlation'])} correlation, {len(ref['bh'])} bh cases",
          file=sys.stderr)


if __name__ == "__main__":
    main()
