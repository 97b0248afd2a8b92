#!/usr/bin/python3
"""The coverage ceiling of issue 10's planted-truth check (see scripts/oracle_coverage.ts).

Per seed: statsmodels GLM Poisson of the day's failed attempts with ln(attempts) as offset on the
planted indicators (previous-day volume > 1,200, Monday, service commits > 15), dispersion = Pearson
X2 / df (quasi-Poisson, as analytics.fit_glm), 95% Wald intervals of exp(beta); covered when the
interval holds the planted multiplier (3, 2.3, 1.33). Prints the coverage per effect and per block
of 40 seeds, and over all seeds.

Usage: /usr/bin/python3 scripts/oracle_coverage.py /tmp/oracle.csv
"""
import csv
import sys
from collections import defaultdict

import numpy as np
import statsmodels.api as sm

TRUTH = {"hp": 3.0, "mon": 2.3, "busy": 1.33}


def main(path):
    by_seed = defaultdict(list)
    with open(path) as f:
        for r in csv.DictReader(f):
            by_seed[int(r["seed"])].append(r)
    covered = {}
    for seed, rows in sorted(by_seed.items()):
        X = sm.add_constant(np.array([[float(r[k]) for k in TRUTH] for r in rows]))
        y = np.array([float(r["y"]) for r in rows])
        off = np.log(np.array([float(r["n"]) for r in rows]))
        fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=off).fit(scale="X2")
        ci = np.exp(fit.conf_int())
        covered[seed] = [bool(ci[i + 1, 0] <= m <= ci[i + 1, 1]) for i, m in enumerate(TRUTH.values())]
    seeds = sorted(covered)
    for i, k in enumerate(TRUTH):
        c = sum(covered[s][i] for s in seeds)
        print(f"{k:5s} (x{TRUTH[k]}): {c}/{len(seeds)} = {100 * c / len(seeds):.1f}%")
    for lo in range(seeds[0], seeds[-1] + 1, 40):
        block = [s for s in seeds if lo <= s < lo + 40]
        c = sum(sum(covered[s]) for s in block)
        print(f"seeds {lo}-{block[-1]}: {c}/{3 * len(block)} = {100 * c / (3 * len(block)):.1f}%")
    c = sum(sum(v) for v in covered.values())
    print(f"all {len(seeds)} seeds: {c}/{3 * len(seeds)} = {100 * c / (3 * len(seeds)):.1f}%")


if __name__ == "__main__":
    main(sys.argv[1])
