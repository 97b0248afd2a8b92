"""The statsmodels ETS loop the forecasting benches compare with (bench/forecast_m4.ts,
bench/forecast_speed.ts): for every series, statsmodels ETSModel (error="add") fitted by its own
MLE for each form the SQL function tries (trend N/A/Ad × season N/A/M, multiplicative season only
for positive series), the lowest AICc kept, then point forecasts and its analytic prediction
intervals at the requested levels. Run with Debian's python3 (statsmodels 0.13).

Usage: /usr/bin/python3 bench/forecast_statsmodels.py IN.json OUT.json
IN: {"season": 24, "horizon": 48, "levels": [80, 95], "series": {"H1": [..], ...}}
OUT: {"seconds": wall time of the loop, "series": {"H1": {"model": "AAdM", "point": [..],
     "lower": [[..] per level], "upper": [[..] per level]}}}; a series whose every fit fails gets
     {"error": "..."}.
"""
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

warnings.filterwarnings("ignore")


def forms(y, m):
    out = [(None, False, None), ("add", False, None), ("add", True, None)]
    if m > 1:
        seasons = ["add"] + (["mul"] if y.min() > 0 else [])
        for s in seasons:
            out += [(None, False, s), ("add", False, s), ("add", True, s)]
    return out


def best_fit(y, m):
    best = None
    for trend, damped, season in forms(y, m):
        try:
            res = ETSModel(y, error="add", trend=trend, damped_trend=damped, seasonal=season,
                           seasonal_periods=m if season else None).fit(disp=False)
        except Exception:  # a form statsmodels cannot fit is skipped, as the SQL skips it
            continue
        if np.isfinite(res.aicc) and (best is None or res.aicc < best.aicc):
            best = res
    return best


def main():
    spec = json.load(open(sys.argv[1]))
    m, h, levels = spec["season"], spec["horizon"], spec["levels"]
    out = {}
    t0 = time.perf_counter()
    for name, values in spec["series"].items():
        y = pd.Series(np.asarray(values, dtype=float))  # a Series: get_prediction needs an index
        res = best_fit(y, m)
        if res is None:
            out[name] = {"error": "no form could be fitted"}
            continue
        pred = res.get_prediction(start=len(y), end=len(y) + h - 1)
        lower, upper = [], []
        for lv in levels:
            frame = pred.summary_frame(alpha=1 - lv / 100)
            lower.append(frame["pi_lower"].tolist())
            upper.append(frame["pi_upper"].tolist())
        out[name] = {"model": res.model.short_name, "point": pred.predicted_mean.tolist(),
                     "lower": lower, "upper": upper}
    seconds = time.perf_counter() - t0
    json.dump({"seconds": seconds, "series": out}, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
