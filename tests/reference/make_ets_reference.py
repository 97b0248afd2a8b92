"""Reference values for the ETS engine of sql/60_forecast.sql, from statsmodels' ETSModel
(Debian python3-statsmodels 0.13, error="add"), written to tests/reference/ets_reference.json.

1. fixed: every supported form (trend N / A / Ad × season N / A / M) with fixed smoothing
   parameters and fixed initial states, on real data (the first 120 hours of M4 series H1, season
   24): filtered states (level, trend, season after each observation), fitted values,
   log-likelihood and 48 point forecasts. tests/forecast_test.ts asserts 1e-8 relative.
2. fitted: 20 real series (season 7) — daily sums of the first ten M4 hourly series (29-40
   days, positive: every form) and daily counts of Kafka and ZooKeeper bug reports created and
   resolved (jira-apache, five 120-day windows from 2014 on; counts with zeros: additive forms) —
   statsmodels' maximised log-likelihood and AICc for every form it can fit, and the form with the
   lowest AICc. The test asserts that the SQL optimiser's log-likelihood for that form is at least
   statsmodels' − 1e-6 relative; bench/forecast_fitted_parity.ts compares every form and the
   choice.

Run: /usr/bin/python3 tests/reference/make_ets_reference.py (needs ../shared/data next to the repo).
"""
import csv
import json
import os
import warnings
from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
import statsmodels
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data")
FORMS = [(t, s) for s in ("N", "A", "M") for t in ("N", "A", "Ad")]


def sm_model(y, trend, season, m, **kw):
    return ETSModel(y, error="add", trend=None if trend == "N" else "add", damped_trend=trend == "Ad",
                    seasonal={"N": None, "A": "add", "M": "mul"}[season],
                    seasonal_periods=m if season != "N" else None, **kw)


def m4_hourly():
    ys = {}
    with open(os.path.join(DATA, "m4-hourly", "train.csv")) as f:
        for r in csv.DictReader(f):
            ys.setdefault(r["series"], []).append(float(r["value"]))
    return ys


def own_recursion(y, trend, season, m, par, x0):
    """The recursion as sql/60_forecast.sql writes it, x0 = [l, b, s_-1, ..., s_-m]."""
    alpha, beta, gamma, phi = par
    phi = phi if trend == "Ad" else 1.0
    beta = beta if trend != "N" else 0.0
    l, b = x0[0], (x0[1] if trend != "N" else 0.0)
    buf = [x0[1 + m - j] for j in range(m)] if season != "N" else [0.0]
    ms = m if season != "N" else 1
    fitted = []
    for t, yt in enumerate(y):
        lf = l + phi * b
        s = buf[t % ms]
        yh = lf if season == "N" else (lf * s if season == "M" else lf + s)
        e = yt - yh
        k = e / s if season == "M" else e
        l, b = lf + alpha * k, phi * b + beta * k
        if season == "M":
            buf[t % ms] = s + gamma * e / l  # statsmodels 0.13: the updated level, not lf
        elif season == "A":
            buf[t % ms] = s + gamma * e
        fitted.append(yh)
    return np.array(fitted)


def fixed_cases(y, m):
    out = []
    day = y[:m]
    for trend, season in FORMS:
        par = [0.3, 0.05 if trend != "N" else 0.0, 0.1 if season != "N" else 0.0, 0.9 if trend == "Ad" else 1.0]
        lvl = float(np.mean(day))
        b0 = 0.5 if trend != "N" else 0.0
        if season == "A":
            seas_chrono = [float(v - lvl) for v in day]  # s_-m .. s_-1
        elif season == "M":
            seas_chrono = [float(v / lvl) for v in day]
        else:
            seas_chrono = []
        x0 = [lvl, b0] + seas_chrono[::-1]  # [l, b, s_-1 .. s_-m]
        kw = dict(initialization_method="known", initial_level=lvl)
        if trend != "N":
            kw["initial_trend"] = b0
        if season != "N":
            kw["initial_seasonal"] = np.array(seas_chrono)
        model = sm_model(y, trend, season, m, **kw)
        params = [par[0]] + ([par[1]] if trend != "N" else []) + ([par[2]] if season != "N" else []) \
            + ([par[3]] if trend == "Ad" else [])
        res = model.smooth(np.array(params))
        fitted = np.asarray(res.fittedvalues)
        mine = own_recursion(y, trend, season, m, par, x0)
        if season != "N" and np.max(np.abs(mine - fitted)) > 1e-6 * np.max(np.abs(fitted)):
            # statsmodels takes initial_seasonal in the other order in this version (GH 7893)
            model = sm_model(y, trend, season, m, **{**kw, "initial_seasonal": np.array(seas_chrono[::-1])})
            res = model.smooth(np.array(params))
            fitted = np.asarray(res.fittedvalues)
        assert np.max(np.abs(mine - fitted)) <= 1e-9 * np.max(np.abs(fitted)), (trend, season)
        states = np.asarray(res.states)
        out.append({
            "trend": trend, "season": season, "m": m, "par": par, "x0": x0,
            "level": states[:, 0].tolist(),
            "trend_state": states[:, 1].tolist() if trend != "N" else None,
            "season_state": states[:, -1].tolist() if season != "N" else None,
            "fitted": fitted.tolist(), "loglike": float(res.llf),
            "forecast": np.asarray(res.forecast(48)).tolist(),
        })
    return out


def jira_daily(path, start, days):
    created, resolved = Counter(), Counter()
    with open(path, encoding="utf-8", errors="replace") as f:
        for r in csv.DictReader(f, delimiter=";"):
            for col, cnt in (("CreationDate", created), ("ResolutionDate", resolved)):
                if r.get(col):
                    cnt[datetime.strptime(r[col][:10], "%Y-%m-%d").date()] += 1
    span = [start + timedelta(days=i) for i in range(days)]
    return [float(created[d]) for d in span], [float(resolved[d]) for d in span]


def fitted_cases(hourly):
    series = []
    for name in list(hourly)[:10]:
        h = hourly[name]
        series.append((f"M4 {name} daily sums", [float(sum(h[i:i + 24])) for i in range(0, len(h) - 23, 24)]))
    for proj, fname in (("Kafka", "kafka-jira-bug-fix-dataset.csv"), ("ZooKeeper", "zookeeper-jira-bug-fix-dataset.csv")):
        for k, start in enumerate((date(2014, 1, 6), date(2015, 1, 5), date(2016, 1, 4))):
            if len(series) >= 20:
                break
            c, r = jira_daily(os.path.join(DATA, "jira-apache", fname), start, 120)
            series.append((f"{proj} bugs created per day from {start}", c))
            if len(series) < 20 and not (proj == "ZooKeeper" and k == 2):
                series.append((f"{proj} bugs resolved per day from {start}", r))
    out = []
    for name, y in series[:20]:
        y = np.asarray(y)
        forms = {}
        for trend, season in FORMS:
            if season == "M" and y.min() <= 0:
                continue
            try:
                res = sm_model(y, trend, season, 7).fit(disp=False)
            except Exception:
                continue
            forms[f"{trend},{season}"] = {"loglike": float(res.llf), "aicc": float(res.aicc)}
        chosen = min(forms, key=lambda f: forms[f]["aicc"])
        out.append({"name": name, "m": 7, "y": y.tolist(), "forms": forms, "chosen": chosen})
    return out


def main():
    hourly = m4_hourly()
    ref = {
        "generator": f"tests/reference/make_ets_reference.py, statsmodels {statsmodels.__version__}",
        "fixed_y": hourly["H1"][:120],
        "fixed": fixed_cases(np.asarray(hourly["H1"][:120]), 24),
        "fitted": fitted_cases(hourly),
    }
    with open(os.path.join(HERE, "ets_reference.json"), "w") as f:
        json.dump(ref, f)
    print(len(ref["fixed"]), "fixed forms;", len(ref["fitted"]), "fitted series:",
          Counter(c["chosen"] for c in ref["fitted"]))


if __name__ == "__main__":
    main()
