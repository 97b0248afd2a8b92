#!/usr/bin/python3
"""Is the threshold-adjusted p-value of analytics.explain_drivers honest under the null?

Simulates daily series with no effect (Poisson failures on exposure, optionally overdispersed by
a Gamma day effect), scans one candidate feature for its best step 1[x >= t] exactly as
sql/50_drivers.sql does (tests/reference/make_drivers_reference.py's scan: score statistic,
quasi-Poisson dispersion, Lausen-Sauerbrei-Schumacher 1994 bound capped by Bonferroni), and
reports how often p < 0.05 and p < 0.01. A calibrated (or conservative) test rejects at most at
the nominal rate. Feature shapes: continuous normal, negative-binomial counts like commits, a
low-cardinality count like deployments, and a binary indicator.

Usage: /usr/bin/python3 scripts/drivers_calibration.py [--sims 2000] [--days 89]
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "reference"))
from make_drivers_reference import poisson_fit, scan  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sims", type=int, default=2000)
    ap.add_argument("--days", type=int, default=89)
    args = ap.parse_args()
    rng = np.random.default_rng(20261125)
    n = args.days
    shapes = {
        "normal(1165, 280)": lambda: np.round(rng.normal(1165, 280, n)),
        "neg. binomial mean 15, sd 6": lambda: rng.negative_binomial(15 / (36 / 15 - 1), 1 / (36 / 15), n).astype(float),
        "poisson mean 1 (0..4)": lambda: rng.poisson(1.0, n).astype(float),
        "indicator, 1 day in 7": lambda: (np.arange(n) % 7 == 0).astype(float),
    }
    min_side = max(5, int(np.ceil(0.1 * n)))
    print(f"{args.sims} simulations of {n} days each; share with p < 0.05 / p < 0.01 (nominal 0.05 / 0.01)")
    print(f"{'feature':32} {'dispersion':>10} {'p<0.05':>8} {'p<0.01':>8}")
    for overdispersion in (0.0, 0.1):
        for name, draw in shapes.items():
            ps = []
            for _ in range(args.sims):
                exposure = rng.poisson(465, n).astype(float)
                lam = 0.05 * exposure * (rng.gamma(1 / overdispersion, overdispersion, n) if overdispersion else 1.0)
                y = rng.poisson(lam).astype(float)
                x = draw()
                X = np.ones((n, 1))
                off = np.log(exposure)
                _, mu, M, x2 = poisson_fit(y, off, X)
                phi = max(1.0, x2 / (n - 1))
                s = scan(x, y, mu, X, M, phi, min_side, name.startswith("indicator"))
                ps.append(1.0 if s is None else s["p"])
            ps = np.array(ps)
            label = "gamma sd 0.32" if overdispersion else "none"
            print(f"{name:32} {label:>10} {np.mean(ps < 0.05):8.3f} {np.mean(ps < 0.01):8.3f}")


if __name__ == "__main__":
    main()
