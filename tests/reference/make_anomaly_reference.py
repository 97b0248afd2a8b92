#!/usr/bin/python3
"""Reference values for analytics.anomaly_scores / analytics.anomaly_events (sql/80_anomaly.sql),
from an independent numpy implementation of the same method, point by point (plain loops over the
history, where the SQL is one set-based query), with scipy for the score's t distribution:

  * level m_t = median of the non-null values among the L points before t (L = 48 without
    seasonality, L = season with it), at least min(12, ceil(L/2)) of them;
  * seasonal offset o_t = median over j = 1..8 (t - j*season >= first point) of x[t - j*season] -
    m[t - j*season], at least 3 of them; expected e_t = m_t + o_t (o_t = 0 without seasonality);
  * sigma_t from the absolute residuals |x_u - e_u| of the 288 points before t (at least 12):
    numpy.quantile(., 0.99) / 2.5758 (numpy.quantile(., 0.90) / 1.6449 while fewer than 100
    residuals), else 1.2533 * mean, else max(1e-6 * |e_t|, 1e-12); for a count series (counts =
    True) at least sqrt(max(e_t, mean of the non-null values among the 288 points before t, 0)),
    the Poisson noise floor;
  * z_t = (x_t - e_t) / sigma_t (in the watched direction; |z| capped at 1e12);
  * range z: once at least 288 non-null values precede t, with lo / hi their min / max and
    d = x_t - hi ('up'), lo - x_t ('down') or the larger of both ('both'): 80 * d / (hi - lo) when
    d > 0 and hi > lo (capped at 1e12), 1e12 when d > 0 and hi == lo, else 0;
  * Z = max(z, range z) (None when z is None); score = 1 - 2 * scipy.stats.t.sf(Z, df=3);
    anomalous <=> Z >= 2 / sensitivity; band: e_t -/+ (2 / sensitivity) * sigma_t, narrowed to
    [lo - c*(hi - lo)/80, hi + c*(hi - lo)/80] (c = 2 / sensitivity) once the range rule is on;
  * events, walking the anomalous points in time order: a point opens a new event when it is more
    than 3 positions after the previous anomalous point and more than L positions (L = 48, or the
    season) after the first point of the current event, else it joins the current event; peak =
    highest score (earliest on ties); severity high >= 0.999, medium >= 0.99, else low.

Series: a synthetic hourly series (season 24, 24 days, daily pattern + noise, three planted
spikes, a level shift, and null gaps), scored with season 24 both ways and 'up' only; sparse daily
counts (Poisson 0.6 a day for 84 days, then 4.8 a day: the Poisson floor), season 7; and NAB's
realAWSCloudwatch iio_us-east-1_i-a2eb1cd9_NetworkIn (1,243 points, 5 minutes apart; MIT,
numenta/NAB commit ea702d75, via ../shared/data/nab-aws), scored without seasonality. The input
series (first timestamp, step, values) are stored in the output, so tests/anomaly_test.ts needs
nothing else; the outputs are stored as columns, one entry per point. Run with Debian's interpreter:

    /usr/bin/python3 tests/reference/make_anomaly_reference.py

Output: tests/reference/anomaly_reference.json.
"""
import json
import math
import os

import numpy as np
import pandas as pd
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
NAB = os.path.join(HERE, "..", "..", "..", "shared", "data", "nab-aws", "iio_us-east-1_i-a2eb1cd9_NetworkIn.csv")


def med(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return (float(np.median(xs)), len(xs)) if xs else (None, 0)


def detect(vals, season=0, sensitivity=0.5, direction="both", counts=False):
    n = len(vals)
    x = [None if v is None else float(v) for v in vals]
    L = 48 if season == 0 else season
    l_min = min(12, math.ceil(L / 2))
    level = [None] * n
    mean = [None] * n
    for t in range(n):
        m, c = med(x[max(0, t - L):t])
        level[t] = m if c >= l_min else None
        window = [v for v in x[max(0, t - 288):t] if v is not None]
        mean[t] = float(np.mean(window)) if window else None
    dev = [None if x[t] is None or level[t] is None else x[t] - level[t] for t in range(n)]
    expected = [None] * n
    for t in range(n):
        if level[t] is None:
            continue
        if season == 0:
            expected[t] = level[t]
        else:
            o, c = med([dev[t - j * season] for j in range(1, 9) if t - j * season >= 0])
            expected[t] = level[t] + o if c >= 3 else None
    absres = [None if x[t] is None or expected[t] is None else abs(x[t] - expected[t]) for t in range(n)]
    cut = 2 / sensitivity
    rows = []
    for t in range(n):
        hist = np.array([r for r in absres[max(0, t - 288):t] if r is not None])
        e = expected[t]
        sigma = None
        if e is not None and len(hist) >= 12:
            q = float(np.quantile(hist, 0.99)) / 2.5758 if len(hist) >= 100 else float(np.quantile(hist, 0.90)) / 1.6449
            sigma = q if q > 0 else (1.2533 * float(hist.mean()) if hist.mean() > 0 else max(1e-6 * abs(e), 1e-12))
            if counts:
                sigma = max(sigma, math.sqrt(max(e, mean[t] if mean[t] is not None else 0.0, 0.0)))
        past = [v for v in x[:t] if v is not None]
        rng_on = len(past) >= 288
        lo, hi = (min(past), max(past)) if rng_on else (None, None)
        score, anomalous = None, False
        if sigma is not None and x[t] is not None:
            z = (x[t] - e) / sigma
            zd = {"up": max(z, 0.0), "down": max(-z, 0.0), "both": abs(z)}[direction]
            zd = min(zd, 1e12)
            zx = 0.0
            if rng_on:
                d = {"up": x[t] - hi, "down": lo - x[t], "both": max(x[t] - hi, lo - x[t])}[direction]
                if d > 0:
                    zx = min(80 * d / (hi - lo), 1e12) if hi > lo else 1e12
            Z = max(zd, zx)
            score = 1 - 2 * float(stats.t.sf(Z, 3))
            anomalous = bool(Z >= cut)
        lower = e - cut * sigma if sigma is not None and direction != "up" else None
        upper = e + cut * sigma if sigma is not None and direction != "down" else None
        if rng_on and lower is not None:
            lower = max(lower, lo - cut / 80 * (hi - lo))
        if rng_on and upper is not None:
            upper = min(upper, hi + cut / 80 * (hi - lo))
        rows.append({"idx": t + 1, "value": x[t], "expected": e, "lower": lower, "upper": upper,
                     "score": score, "anomalous": anomalous, "event": None})
    # events
    ev, last, start = 0, None, None
    for r in rows:
        if r["anomalous"]:
            if last is None or (r["idx"] - last > 3 and r["idx"] - start > L):
                ev += 1
                start = r["idx"]
            r["event"] = ev
            last = r["idx"]
    events = []
    for k in range(1, ev + 1):
        pts = [r for r in rows if r["event"] == k]
        peak = max(pts, key=lambda r: (r["score"], -r["idx"]))
        ups = [r["value"] > r["expected"] for r in pts]
        downs = [r["value"] < r["expected"] for r in pts]
        s = peak["score"]
        events.append({"event": k, "started_idx": pts[0]["idx"], "ended_idx": pts[-1]["idx"], "peak_idx": peak["idx"],
                       "peak_value": peak["value"], "peak_expected": peak["expected"], "peak_score": s,
                       "points": len(pts), "direction": "up" if all(ups) else "down" if all(downs) else "mixed",
                       "severity": "high" if s >= 0.999 else "medium" if s >= 0.99 else "low"})
    return rows, events


def synthetic():
    rng = np.random.default_rng(20261203)
    n = 24 * 24
    t = np.arange(n)
    v = 100 + 20 * np.sin(2 * np.pi * t / 24) + 8 * (t % 24 == 9) + rng.normal(0, 2, n)
    v[300] += 40          # spikes
    v[420] -= 35
    v[470] += 25
    v[500:] += 30         # a level shift that stays
    vals = [round(float(a), 6) for a in v]
    for g in (100, 101, 102, 350, 505):   # gaps
        vals[g] = None
    return "2026-01-05T00:00:00Z", 60, vals


def daily_counts():
    # sparse daily counts (Poisson 0.6 a day, a weekly pattern) for 84 days, then 14 days at 4.8 a day
    rng = np.random.default_rng(20261204)
    lam = np.array([0.6 * (1.5 if d % 7 == 0 else 1.0) for d in range(98)])
    lam[84:] = 4.8
    return "2026-08-26T00:00:00Z", 1440, [float(v) for v in rng.poisson(lam)]


def nab():
    df = pd.read_csv(NAB)
    ts = pd.to_datetime(df["timestamp"])
    assert (ts.diff().dropna() == pd.Timedelta(minutes=5)).all(), "the NAB series is no longer 5 minutes apart"
    return ts.iloc[0].strftime("%Y-%m-%dT%H:%M:%SZ"), 5, [float(v) for v in df["value"]]


def main():
    series = {}
    for key, (start, step, vals) in {"synthetic": synthetic(), "nab_iio": nab(), "counts": daily_counts()}.items():
        series[key] = {"start": start, "step_minutes": step, "values": vals}
    cases = []
    for name, key, season, sens, direction, counts in [
        ("synthetic hourly, season 24", "synthetic", 24, 0.5, "both", False),
        ("synthetic hourly, season 24, up only, sensitivity 0.7", "synthetic", 24, 0.7, "up", False),
        ("NAB iio_us-east-1_i-a2eb1cd9_NetworkIn, no season", "nab_iio", 0, 0.5, "both", False),
        ("synthetic hourly, season 24, down only, sensitivity 0.8", "synthetic", 24, 0.8, "down", False),
        ("sparse daily counts, season 7, counts (the Poisson floor)", "counts", 7, 0.5, "both", True),
        ("sparse daily counts, season 7, not counted as counts", "counts", 7, 0.5, "both", False),
    ]:
        rows, events = detect(series[key]["values"], season, sens, direction, counts)
        # columns, not rows of objects: a third of the size
        cols = {k: [r[k] for r in rows] for k in ("expected", "lower", "upper", "score", "anomalous", "event")}
        cases.append({"name": name, "series": key, "season": season, "sensitivity": sens, "direction": direction, "counts": counts,
                      **cols, "events": events})
    out = {"generator": "tests/reference/make_anomaly_reference.py", "numpy": np.__version__,
           "scipy": __import__("scipy").__version__, "series": series, "cases": cases}
    with open(os.path.join(HERE, "anomaly_reference.json"), "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    for c in cases:
        print(c["name"], "anomalous points", sum(c["anomalous"]), "events", len(c["events"]))


if __name__ == "__main__":
    main()
