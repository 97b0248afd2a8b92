"""The pandas + statsmodels side of bench/models_fit.ts: the same rows the SQL fits read, taken out of
PostgreSQL and fitted in Python, end to end. There is no Python PostgreSQL driver on this machine, so
the rows come the way a notebook without one would get them: `psql -c "\\copy (select ...) to stdout
with csv"` piped straight into pandas.read_csv (the "read_sql" part). Then statsmodels OLS and Logit
on x1..x5 plus a constant, each timed separately (design matrix + fit + the summary quantities a user
reads: params, bse, t/z, p-values, CIs, R²/F or llf, AIC/BIC; no null model, which the SQL side
computes and this side does not), and then OLS's HC0–HC3 standard errors, timed apart (ols_hc_s).

Run with Debian's python3 (pandas 1.5, statsmodels 0.13):
    /usr/bin/python3 bench/models_fit.py URL RELATION
URL: a libpq connection string or URI that psql accepts; RELATION: the table with x1..x5, y, yb.
Prints one JSON object: {"rows", "import_s", "read_s", "ols_s", "ols_hc_s", "logit_s", "ols_e2e_s" (read + OLS),
"ols_hc_e2e_s" (read + OLS + its HC0–HC3 standard errors),
"logit_e2e_s" (read + logit), "total_s" (read + both), "ols_params" and "logit_params" (constant
first, then x1..x5), "logit_iterations"}. Times are wall clock after the imports (import_s apart).
"""
import time

t_import = time.perf_counter()
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels.api as sm  # noqa: E402

IMPORT_S = time.perf_counter() - t_import
X = ["x1", "x2", "x3", "x4", "x5"]
COLS = X + ["y", "yb"]


def read_rows(url, relation):
    """psql's \\copy to stdout, streamed into pandas.read_csv; fails loudly if psql does."""
    copy = f"\\copy (select {', '.join(COLS)} from {relation}) to stdout with csv"
    proc = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", copy],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    df = pd.read_csv(proc.stdout, header=None, names=COLS, dtype=np.float64)
    err = proc.stderr.read().decode()
    if proc.wait() != 0:
        raise SystemExit(f"psql failed: {err}")
    return df


def main():
    url, relation = sys.argv[1], sys.argv[2]
    t0 = time.perf_counter()
    df = read_rows(url, relation)
    t1 = time.perf_counter()

    design = sm.add_constant(df[X], prepend=True, has_constant="add")
    ols = sm.OLS(df["y"], design).fit()
    _ = (ols.params, ols.bse, ols.tvalues, ols.pvalues, ols.conf_int(0.05), ols.rsquared, ols.rsquared_adj,
         ols.fvalue, ols.f_pvalue, ols.llf, ols.aic, ols.bic, ols.condition_number)
    t2 = time.perf_counter()
    _ = (ols.HC0_se, ols.HC1_se, ols.HC2_se, ols.HC3_se)
    t2h = time.perf_counter()

    design = sm.add_constant(df[X], prepend=True, has_constant="add")
    logit = sm.Logit(df["yb"], design).fit(disp=0)
    _ = (logit.params, logit.bse, logit.tvalues, logit.pvalues, logit.conf_int(0.05), logit.llf, logit.aic, logit.bic)
    t3 = time.perf_counter()

    read_s, ols_s, ols_hc_s, logit_s = t1 - t0, t2 - t1, t2h - t2, t3 - t2h
    print(json.dumps({
        "rows": len(df),
        "import_s": IMPORT_S,
        "read_s": read_s,
        "ols_s": ols_s,
        "ols_hc_s": ols_hc_s,
        "ols_hc_e2e_s": read_s + ols_s + ols_hc_s,
        "logit_s": logit_s,
        "ols_e2e_s": read_s + ols_s,
        "logit_e2e_s": read_s + logit_s,
        "total_s": t3 - t0,  # read + OLS + its HC + logit
        "ols_params": [float(v) for v in ols.params],
        "logit_params": [float(v) for v in logit.params],
        "logit_iterations": int(logit.mle_retvals.get("iterations", -1)),
    }))


if __name__ == "__main__":
    main()
