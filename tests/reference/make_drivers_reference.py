#!/usr/bin/python3
"""Reference values for analytics.explain_drivers (sql/50_drivers.sql), from an independent
numpy implementation of the same method, with statsmodels and scipy for every statistic they can
give:

  * the Poisson fits (IRLS here) are checked against statsmodels GLM(Poisson, offset) to 1e-8;
  * the rate ratios and 95% CIs of the model's terms are statsmodels' (params, bse with
    scale = the quasi-Poisson dispersion);
  * two-sided normal tails are scipy.stats.norm.sf.

The method (see the top of sql/50_drivers.sql): steps 1[x >= t] of every candidate (driver
feature at lag 0..max_lag, calendar indicator), cuts leaving >= max(5, ceil(n/10)) days on each
side; score statistic z = U / sqrt(phi * I_eff); p of the maximum over the cuts by the Lausen,
Sauerbrei & Schumacher (1994) bound, capped by Bonferroni; forward selection while the best
p < 0.01 (at most 6 terms); every selected threshold searched again given the other terms until
none moves (at most 10 passes); the backward check (the weakest term leaves while its final
p x candidates >= 0.05, the passes again); all of it again while the model changes (stepwise, at
most 5 rounds, a term that left never returns); final tests given every other selected term with the final model's
dispersion; Benjamini-Hochberg q (statsmodels multipletests) over all candidates.

Input: tests/reference/drivers_input.json (the demo quarter's daily features, seed 1, both
variants, and seed 275 planted: there the commits step enters only at the second round). Output: tests/reference/drivers_reference.json. Run with Debian's interpreter:

    /usr/bin/python3 tests/reference/make_drivers_reference.py
"""
import json
import os
import platform

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.multitest import multipletests

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVERS = ["asset_volume", "churn", "commits", "deployments", "files_changed", "log_warnings", "merges",
           "processing_attempts", "processing_duration_avg", "service_commits", "tickets_bug", "tickets_created",
           "tickets_priority_high", "tickets_resolved", "tickets_story", "tickets_task"]
# analytics.feature_catalog.overlaps_with: features that may count a target's own records are no
# candidates for it (sql/10_features.sql)
OVERLAPS = {"processing_failure_rate": ["processing_attempts"], "processing_failures": ["processing_attempts"],
            "deployment_failures": ["deployments"]}
CALENDAR = ["is_friday", "is_monday", "is_saturday", "is_sunday", "is_thursday", "is_tuesday", "is_wednesday", "is_weekend"]
Z975 = 1.959963984540054


def poisson_fit(y, off, X):
    b = np.zeros(X.shape[1])
    b[0] = np.log(max(y.sum(), 0.5) / np.exp(off).sum())
    for _ in range(100):
        eta = off + X @ b
        mu = np.exp(eta)
        z = eta - off + (y - mu) / mu
        M = X.T @ (mu[:, None] * X)
        nb = np.linalg.solve(M, X.T @ (mu * z))
        done = np.max(np.abs(nb - b)) < 1e-10
        b = nb
        if done:
            break
    mu = np.exp(off + X @ b)
    M = X.T @ (mu[:, None] * X)
    x2 = float(np.sum((y - mu) ** 2 / mu))
    ref = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(tol=1e-12)
    assert np.allclose(ref.params, b, rtol=1e-8, atol=1e-8), (ref.params, b)
    return b, mu, M, x2


def scan(x, y, mu, X, M, phi, min_side, binary):
    n = len(y)
    L = np.linalg.cholesky(M)
    Q = np.linalg.solve(L, X.T).T
    order = sorted(range(n), key=lambda i: (-x[i], i))
    cu = cw = 0.0
    v = np.zeros(X.shape[1])
    best = None
    prev = None
    ts = []
    cuts = 0
    for r in range(n - 1):
        i = order[r]
        cu += y[i] - mu[i]
        cw += mu[i]
        v = v + mu[i] * Q[i]
        if x[i] == x[order[r + 1]]:
            continue
        k = r + 1
        if k < min_side or n - k < min_side:
            continue
        info = cw - v @ v
        if info <= 1e-9 * cw:
            continue
        cuts += 1
        if prev is not None:
            pv, pinfo = prev
            cross = pinfo + pv @ pv - pv @ v
            rho = cross / np.sqrt(pinfo * info)
            ts.append(np.sqrt(max(0.0, 1 - rho * rho)))
        prev = (v.copy(), info)
        z = cu / np.sqrt(phi * info)
        if best is None or abs(z) > abs(best["z"]):
            best = dict(z=z, threshold=x[i], below=x[order[r + 1]], n_high=k, u=cu, info=info)
    if best is None:
        return None
    b = abs(best["z"])
    p1 = 2 * stats.norm.sf(b)
    if cuts > 1 and not binary:
        d = sum(np.exp(-b * b / 2) / np.pi * (t - (b * b / 4 - 1) * t ** 3 / 6) for t in ts)
        p1 = min(1.0, p1 + max(d, 0.0), cuts * p1)
    best["p"] = p1
    return best


def explain(data, target, max_lag, max_terms=6):
    cols = data["columns"]
    rows = data["rows"]
    col = lambda name: np.array([np.nan if r[cols.index(name)] is None else float(r[cols.index(name)]) for r in rows])
    if target == "processing_failure_rate":
        y_all, e_all = col("processing_failures"), col("processing_attempts")
    else:
        y_all, e_all = col(target), np.ones(len(rows))
    idx = [i for i in range(max_lag, len(rows)) if not np.isnan(y_all[i]) and e_all[i] > 0]
    n = len(idx)
    y = y_all[idx]
    off = np.log(e_all[idx])
    cands = []
    for name in sorted(n for n in DRIVERS + CALENDAR if n not in OVERLAPS.get(target, [])):
        binary = name in CALENDAR
        for lag in range(0, 1 if binary else max_lag + 1):
            series = col(name)
            x = np.array([series[i - lag] for i in idx])
            x = np.where(np.isnan(x), -np.inf, x)
            if len(set(x)) < 2:
                continue
            cands.append((name, lag, binary, x))
    min_side = max(5, int(np.ceil(0.1 * n)))

    def design(terms):
        return np.column_stack([np.ones(n)] + [(cands[c][3] >= t).astype(float) for c, t in terms])

    entered, dropped = [], []
    # stepwise: forward selection, the threshold passes and the backward check again while the
    # model changes (at most 5 rounds); a term that left does not come back
    for rnd in range(5):
        changed = added = False
        while len(entered) < max_terms:
            X = design(entered)
            b, mu, M, x2 = poisson_fit(y, off, X)
            phi = max(1.0, x2 / (n - X.shape[1]))
            best = None
            for c, (name, lag, binary, x) in enumerate(cands):
                if c in [e[0] for e in entered] or c in dropped:
                    continue
                s = scan(x, y, mu, X, M, phi, min_side, binary)
                if s and (best is None or s["p"] < best[1]["p"]):
                    best = (c, s)
            if best is None or best[1]["p"] >= 0.01:
                break
            entered.append((best[0], best[1]["threshold"]))
            added = True
        if rnd > 0 and not added:
            break
        # backward check: after the threshold passes, the term with the largest final p (given all the
        # others, the whole model's dispersion) leaves while p × candidates >= 0.05; the passes run again
        while True:
            # every selected threshold searched again given all the other terms, until none moves
            for _ in range(10):
                moved = False
                for k in range(len(entered)):
                    c = entered[k][0]
                    others = [e for e in entered if e[0] != c]
                    Xo = design(others)
                    _, mu_o, M_o, x2_o = poisson_fit(y, off, Xo)
                    s = scan(cands[c][3], y, mu_o, Xo, M_o, max(1.0, x2_o / (n - Xo.shape[1])), min_side, cands[c][2])
                    if s is None or s["threshold"] == entered[k][1]:
                        continue
                    entered[k] = (c, s["threshold"])
                    moved = changed = True
                if not moved:
                    break
            X = design(entered)
            _, _, _, x2 = poisson_fit(y, off, X)
            phi_full = max(1.0, x2 / (n - X.shape[1]))
            final_p = []
            for k, (c, t) in enumerate(entered):
                others = [e for e in entered if e[0] != c]
                Xo = design(others)
                _, mu_o, M_o, _ = poisson_fit(y, off, Xo)
                final_p.append(scan(cands[c][3], y, mu_o, Xo, M_o, phi_full, min_side, cands[c][2])["p"])
            if not entered or max(final_p) * len(cands) < 0.05:
                break
            dropped.append(entered[int(np.argmax(final_p))][0])
            del entered[int(np.argmax(final_p))]
            changed = True
        if not changed:
            break

    X = design(entered)
    b, mu, M, x2 = poisson_fit(y, off, X)
    phi_full = max(1.0, x2 / (n - X.shape[1]))
    glm = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(tol=1e-12, scale=phi_full)
    out = {}
    for c, (name, lag, binary, x) in enumerate(cands):
        if c in [e[0] for e in entered]:
            continue
        s = scan(x, y, mu, X, M, phi_full, min_side, binary)
        if not s:
            continue
        est, se = s["u"] / s["info"], np.sqrt(phi_full / s["info"])
        out[c] = dict(threshold=s["threshold"], below=s["below"], days_high=s["n_high"], z=s["z"], p_value=s["p"],
                      rate_ratio=np.exp(est), ci_low=np.exp(est - Z975 * se), ci_high=np.exp(est + Z975 * se),
                      in_model=False, entry_order=None)
    for k, (c, t) in enumerate(entered):
        others = [e for e in entered if e[0] != c]
        Xo = design(others)
        _, mu_o, M_o, _ = poisson_fit(y, off, Xo)
        s = scan(cands[c][3], y, mu_o, Xo, M_o, phi_full, min_side, cands[c][2])
        x = cands[c][3]
        out[c] = dict(threshold=t, below=float(np.max(x[x < t])), days_high=int(np.sum(x >= t)), z=s["z"],
                      p_value=s["p"], rate_ratio=float(np.exp(glm.params[k + 1])),
                      ci_low=float(np.exp(glm.params[k + 1] - Z975 * glm.bse[k + 1])),
                      ci_high=float(np.exp(glm.params[k + 1] + Z975 * glm.bse[k + 1])),
                      in_model=True, entry_order=k + 1)
    keys = sorted(out)
    q = multipletests([out[c]["p_value"] for c in keys], method="fdr_bh")[1]
    for c, qv in zip(keys, q):
        out[c]["q_value"] = float(qv)
    ranked = sorted(keys, key=lambda c: (out[c]["p_value"], -abs(out[c]["z"]), cands[c][0], cands[c][1]))
    result = []
    for rank, c in enumerate(ranked, 1):
        r = dict(rank=rank, feature=cands[c][0], lag=cands[c][1], n=n)
        r.update({k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in out[c].items()})
        result.append(r)
    return result


def main():
    with open(os.path.join(HERE, "drivers_input.json")) as f:
        data = json.load(f)
    cases = []
    for variant, target, max_lag in (("planted", "processing_failure_rate", 1), ("null", "processing_failure_rate", 1),
                                     ("planted", "failure_count", 1), ("planted_seed275", "processing_failure_rate", 1)):
        cases.append(dict(variant=variant, target=target, max_lag=max_lag, rows=explain(data[variant], target, max_lag)))
    bs = [0.0, 0.5, 1.0, 1.96, 2.5, 3.0, 4.0, 5.5, 8.0, 12.0, 20.0, 30.0]
    normal = [[b, float(2 * stats.norm.sf(b))] for b in bs]
    meta = dict(python=platform.python_version(), numpy=np.__version__, scipy=scipy.__version__,
                statsmodels=statsmodels.__version__)
    with open(os.path.join(HERE, "drivers_reference.json"), "w") as f:
        json.dump(dict(meta=meta, normal_sf2=normal, explain_drivers=cases), f, indent=1)
        f.write("\n")
    for case in cases:
        top = [(r["feature"], r["lag"], r["threshold"], round(r["rate_ratio"], 3), r["q_value"]) for r in case["rows"][:4]]
        print(case["variant"], case["target"], top)


if __name__ == "__main__":
    main()
