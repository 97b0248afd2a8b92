#!/usr/bin/python3
"""Reference values for the SQL model fits (sql/70_models.sql), from Debian's statsmodels 0.13.

Writes tests/reference/glm_reference.json: per case the data (rows of y, x1..xk[, exposure]) and
what statsmodels reports for it. Run: /usr/bin/python3 tests/reference/make_glm_reference.py

Cases
- longley_ols: the Longley data (16 rows, 6 predictors, condition number of the raw design 4.9e9):
  OLS with a constant — coefficients, classical and HC0–HC3 standard errors, t, p, 95% CIs, R²,
  adjusted R², F and its p, SSR, log-likelihood, AIC, BIC; and the condition number of the
  standardised design (numpy), the one the SQL reports.
- hetero_ols: 300 seeded rows, 3 predictors, noise whose spread grows with x1 (so HC differs).
- spector_logit: the Spector & Mazzeo data (32 rows): Logit — coefficients, SE, z, p, CIs,
  log-likelihood, null log-likelihood, AIC, deviance; and a what-if score (GLM Binomial
  get_prediction at x = (3.5, 25, 1): the mean and its 95% interval).
- ridge (l2): hetero_ols at l2 = 0.1 (closed form) and spector_logit at l2 = 0.05 (scipy trust-exact),
  objective deviance/2 + n·l2/2·Σ (sd_j·β_j)², sd_j the population sd, the intercept unpenalised.
- exposure_poisson: 400 seeded rows, 3 predictors, exposure: GLM Poisson with offset log(exposure)
  — coefficients, SE, z, p, CIs, deviance, Pearson χ², log-likelihood, AIC; and quasi-Poisson (scale
  = Pearson χ² / df_resid) standard errors.
- trials_binomial: 240 seeded cells (asset segment × day in miniature: a 0/1 segment flag, a 0/1
  day flag, a driver), each with trials (attempts, 1..80) and successes (failures): GLM Binomial on
  [successes, trials − successes] — coefficients, SE, z, p, CIs, deviance (against the saturated
  model), Pearson χ², log-likelihood (with the binomial coefficients), AIC.
"""
import json
import os

import numpy as np
import statsmodels
import statsmodels.api as sm
from scipy import optimize


def ols_case(y, X):
    Xc = sm.add_constant(X, has_constant="add")
    r = sm.OLS(y, Xc).fit()
    ci = r.conf_int(0.05)
    Z = (X - X.mean(0)) / X.std(0)
    out = {
        "params": r.params.tolist(), "bse": r.bse.tolist(), "tvalues": r.tvalues.tolist(),
        "pvalues": r.pvalues.tolist(), "ci_low": ci[:, 0].tolist(), "ci_high": ci[:, 1].tolist(),
        "rsquared": r.rsquared, "rsquared_adj": r.rsquared_adj, "fvalue": r.fvalue, "f_pvalue": r.f_pvalue,
        "ssr": r.ssr, "llf": r.llf, "aic": r.aic, "bic": r.bic, "df_resid": r.df_resid, "nobs": r.nobs,
        "cond_standardised": float(np.linalg.cond(Z)),
    }
    for hc in ("HC0", "HC1", "HC2", "HC3"):
        out[hc.lower() + "_se"] = getattr(r, hc + "_se").tolist()
    return out


def main():
    cases = {}
    d = sm.datasets.longley.load_pandas()
    y, X = d.endog.values.astype(float), d.exog.values.astype(float)
    cases["longley_ols"] = {"family": "gaussian", "rows": np.column_stack([y, X]).tolist(), "statsmodels": ols_case(y, X)}

    rng = np.random.default_rng(20261202)
    n = 300
    X = np.column_stack([rng.uniform(0, 10, n), rng.normal(5, 2, n), rng.integers(0, 2, n).astype(float)])
    y = 3 + 0.8 * X[:, 0] - 0.5 * X[:, 1] + 2 * X[:, 2] + rng.normal(0, 1, n) * (0.3 + 0.3 * X[:, 0])
    cases["hetero_ols"] = {"family": "gaussian", "rows": np.column_stack([y, X]).tolist(), "statsmodels": ols_case(y, X)}

    d = sm.datasets.spector.load_pandas()
    y, X = d.endog.values.astype(float), d.exog.values.astype(float)
    r = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12, maxiter=100)
    ci = r.conf_int(0.05)
    cases["spector_logit"] = {"family": "binomial", "rows": np.column_stack([y, X]).tolist(), "statsmodels": {
        "params": r.params.tolist(), "bse": r.bse.tolist(), "tvalues": r.tvalues.tolist(), "pvalues": r.pvalues.tolist(),
        "ci_low": ci[:, 0].tolist(), "ci_high": ci[:, 1].tolist(), "llf": r.llf, "llnull": r.llnull, "aic": r.aic,
        "deviance": -2 * r.llf, "df_resid": r.df_resid, "nobs": r.nobs,
    }}
    # what-if scoring: the expected probability at x = (3.5, 25, 1) with its 95% interval (GLM Binomial,
    # delta method on the linear predictor, through the inverse link)
    g = sm.GLM(y, sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
    frame = g.get_prediction(np.array([[1.0, 3.5, 25.0, 1.0]])).summary_frame(alpha=0.05)
    cases["spector_logit"]["score"] = {"conditions": {"x1": 3.5, "x2": 25, "x3": 1}, "mean": float(frame["mean"].iloc[0]),
                                       "ci_low": float(frame["mean_ci_lower"].iloc[0]), "ci_high": float(frame["mean_ci_upper"].iloc[0])}

    n = 400
    X = np.column_stack([rng.normal(0, 1, n), rng.integers(0, 2, n).astype(float), rng.uniform(800, 1600, n)])
    exposure = rng.integers(50, 500, n).astype(float)
    rate = np.exp(-3 + 0.4 * X[:, 0] + 0.8 * X[:, 1] + 0.001 * X[:, 2])
    y = rng.poisson(rate * exposure).astype(float)
    m = sm.GLM(y, sm.add_constant(X), family=sm.families.Poisson(), exposure=exposure)
    r = m.fit(tol=1e-12, maxiter=100)
    ci = r.conf_int(0.05)
    rq = m.fit(tol=1e-12, maxiter=100, scale="X2")
    cases["exposure_poisson"] = {"family": "poisson", "rows": np.column_stack([y, X, exposure]).tolist(), "statsmodels": {
        "params": r.params.tolist(), "bse": r.bse.tolist(), "tvalues": r.tvalues.tolist(), "pvalues": r.pvalues.tolist(),
        "ci_low": ci[:, 0].tolist(), "ci_high": ci[:, 1].tolist(), "deviance": r.deviance, "pearson_chi2": r.pearson_chi2,
        "llf": r.llf, "aic": r.aic, "df_resid": r.df_resid, "nobs": r.nobs,
        "quasi_scale": rq.scale, "quasi_bse": rq.bse.tolist(), "quasi_pvalues": rq.pvalues.tolist(),
    }}

    # ridge (l2): minimise deviance/2 + n·l2/2·Σ (sd_j β_j)², sd_j the predictor's population sd, the
    # intercept free — OLS in closed form, logistic by scipy's trust-exact with the exact Hessian
    hx = np.array(cases["hetero_ols"]["rows"])
    y, X = hx[:, 0], hx[:, 1:]
    lam, n = 0.1, len(y)
    Xc, yc = X - X.mean(0), y - y.mean()
    b = np.linalg.solve(Xc.T @ Xc + n * lam * np.diag(X.var(0)), Xc.T @ yc)
    cases["hetero_ols"]["ridge"] = {"l2": lam, "params": [float(y.mean() - X.mean(0) @ b)] + b.tolist()}
    sp = np.array(cases["spector_logit"]["rows"])
    y, X = sp[:, 0], sm.add_constant(sp[:, 1:])
    lam, n = 0.05, len(y)
    pen = np.concatenate([[0.0], n * lam * sp[:, 1:].var(0)])

    def obj(beta):
        eta = X @ beta
        return np.sum(np.logaddexp(0, eta) - y * eta) + 0.5 * np.sum(pen * beta ** 2)

    def grad(beta):
        mu = 1 / (1 + np.exp(-(X @ beta)))
        return X.T @ (mu - y) + pen * beta

    def hess(beta):
        mu = 1 / (1 + np.exp(-(X @ beta)))
        return X.T @ (X * (mu * (1 - mu))[:, None]) + np.diag(pen)

    r = optimize.minimize(obj, np.zeros(X.shape[1]), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-12})
    cases["spector_logit"]["ridge"] = {"l2": lam, "params": r.x.tolist(), "gradient_norm": float(np.abs(grad(r.x)).max())}

    # grouped binomial: successes of trials per cell (its own stream: the cases above stay as they were)
    g = np.random.default_rng(20261203)
    n = 240
    X = np.column_stack([g.integers(0, 2, n).astype(float), g.integers(0, 2, n).astype(float), g.normal(0, 1, n)])
    trials = g.integers(1, 81, n).astype(float)
    p = 1 / (1 + np.exp(-(-2.8 + 1.9 * X[:, 0] + 0.8 * X[:, 1] + 0.3 * X[:, 2])))
    y = g.binomial(trials.astype(int), p).astype(float)
    r = sm.GLM(np.column_stack([y, trials - y]), sm.add_constant(X), family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
    ci = r.conf_int(0.05)
    cases["trials_binomial"] = {"family": "binomial", "exposure": True, "rows": np.column_stack([y, X, trials]).tolist(), "statsmodels": {
        "params": r.params.tolist(), "bse": r.bse.tolist(), "tvalues": r.tvalues.tolist(), "pvalues": r.pvalues.tolist(),
        "ci_low": ci[:, 0].tolist(), "ci_high": ci[:, 1].tolist(), "deviance": r.deviance, "null_deviance": r.null_deviance,
        "pearson_chi2": r.pearson_chi2, "llf": r.llf, "aic": r.aic, "df_resid": r.df_resid, "nobs": r.nobs,
    }}

    out = {"generator": "tests/reference/make_glm_reference.py", "statsmodels": statsmodels.__version__,
           "numpy": np.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "glm_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=float)
    print("wrote", path)


if __name__ == "__main__":
    main()
