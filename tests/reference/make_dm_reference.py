#!/usr/bin/python3
"""Reference values for aoma_private.baseline_test (sql/74_predictive.sql): the Diebold-Mariano test
of a loss differential d (baseline's loss minus the candidate's, per cross-validated day).

Independent implementation: the standard error of the mean of d from statsmodels' OLS of d on a
constant with a HAC (Newey-West, Bartlett kernel) covariance, maxlags = floor(4 (n/100)^(2/9)), no
small-sample correction; the Harvey-Leybourne-Newbold factor sqrt((n-1)/n); scipy's Student t
quantile t.ppf(0.95, n-1). Writes tests/reference/dm_reference.json.

Usage: /usr/bin/python3 tests/reference/make_dm_reference.py
"""
import json
import math
import os

import numpy as np
import scipy
import statsmodels
import statsmodels.api as sm
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))


def dm(d):
    d = np.asarray(d, dtype=float)
    n = len(d)
    lags = int(math.floor(4 * (n / 100.0) ** (2 / 9)))
    fit = sm.OLS(d, np.ones(n)).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False})
    se = float(fit.bse[0])
    t = math.sqrt((n - 1) / n) * float(d.mean()) / se
    q = float(stats.t.ppf(0.95, n - 1))
    return dict(gain=float(d.mean()), se=se, days=n, lags=lags, t=t, t_crit=q, beats=bool(t > q))


def main():
    rng = np.random.default_rng(20261203)
    cases = []
    # an autocorrelated differential with a small positive mean (45 days: 5 folds of 9)
    e = rng.normal(0, 1, 45)
    d = np.empty(45)
    d[0] = e[0]
    for i in range(1, 45):
        d[i] = 0.5 * d[i - 1] + e[i]
    cases.append(("ar1_45", (0.3 + d).tolist()))
    # a clear gain (planted-like) and a null-like differential of 12 days
    cases.append(("gain_45", (2.0 + rng.normal(0, 1, 45)).tolist()))
    cases.append(("null_12", rng.normal(0, 1, 12).tolist()))
    cases.append(("worse_20", (rng.normal(0, 1, 20) - 0.2).tolist()))
    out = {
        "meta": {"script": "tests/reference/make_dm_reference.py", "numpy": np.__version__, "scipy": scipy.__version__,
                 "statsmodels": statsmodels.__version__},
        "cases": [dict(name=name, d=vals, expected=dm(vals)) for name, vals in cases],
    }
    with open(os.path.join(HERE, "dm_reference.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
