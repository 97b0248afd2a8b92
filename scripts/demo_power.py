#!/usr/bin/python3
"""How detectable are the planted effects of the demo quarter (src/demo/truth.json)?

For seeds 1..N of both variants, builds the daily series from the generated rows (incidents per
UTC day, Monday, previous-day asset volume > 1,200, service commits > 15 and the raw service
commit count) and asks two questions per seed:
  1. a plain daily Pearson correlation of incidents with each driver: p < 0.05?
  2. a Poisson GLM with the three indicators together: coefficient p < 0.05, and its rate ratio.
Prints the share of seeds where each effect is detected (power in "planted", false-positive
rate in "null") and the mean estimated rate ratio. Reference statistics come from scipy and
statsmodels (Debian's /usr/bin/python3).

Usage: /usr/bin/python3 scripts/demo_power.py [--seeds 40]
"""
import argparse
import json
import os
import subprocess

import numpy as np
import statsmodels.api as sm
from scipy import stats

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DENO = os.path.join(ROOT, "node_modules", ".bin", "deno")

# Prints one JSON line per (variant, seed): the daily series computed from the generated rows.
SERIES_TS = """
import { DEMO_TRUTH as truth, generateDemo } from "%(root)s/src/demo/generate.ts";
const [n] = Deno.args.map(Number);
const day = (iso: string) => iso.slice(0, 10);
for (const variant of ["planted", "null"] as const) {
  for (let seed = 1; seed <= n; seed++) {
    const { tables } = generateDemo({ variant, seed });
    const start = Date.parse(truth.calendar.start_date + "T00:00:00Z");
    const dates = Array.from({ length: truth.calendar.days }, (_, i) => new Date(start + i * 86400000).toISOString().slice(0, 10));
    const count = (keys: string[]) => { const m = new Map<string, number>(); for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1); return dates.map((d) => m.get(d) ?? 0); };
    const service = new Set(tables.repositories.filter((r) => r.is_service).map((r) => r.repo));
    const vol = new Map<string, number>();
    for (const m of tables.aoma_system_metrics) vol.set(day(m.timestamp), (vol.get(day(m.timestamp)) ?? 0) + (m.asset_volume ?? 0));
    console.log(JSON.stringify({
      variant, seed,
      incidents: count(tables.incidents.map((i) => day(i.started_at))),
      service_commits: count(tables.git_commits.filter((c) => service.has(c.repo)).map((c) => day(c.committed_at))),
      volume: dates.map((d) => vol.get(d) ?? 0),
      weekday: dates.map((d) => new Date(d + "T00:00:00Z").getUTCDay()),
    }));
  }
}
"""


def series(n_seeds):
    script = SERIES_TS % {"root": ROOT}
    out = subprocess.run(
        [DENO, "run", "-A", "--config", os.path.join(ROOT, "deno.json"), "-", str(n_seeds)],
        input=script, capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def analyse(s, truth):
    fx = truth["effects"]
    y = np.array(s["incidents"][1:], dtype=float)  # day 0 has no previous day
    monday = np.array([w == 1 for w in s["weekday"][1:]], dtype=float)
    high_prev = np.array([v > fx["asset_volume"]["threshold"] for v in s["volume"][:-1]], dtype=float)
    commits = np.array(s["service_commits"][1:], dtype=float)
    high_commits = (commits > fx["service_commits"]["threshold"]).astype(float)
    corr = {
        "monday": stats.pearsonr(monday, y).pvalue,
        "asset_volume": stats.pearsonr(np.array(s["volume"][:-1], dtype=float), y).pvalue,
        "service_commits": stats.pearsonr(commits, y).pvalue,
    }
    X = sm.add_constant(np.column_stack([monday, high_prev, high_commits]))
    fit = sm.GLM(y, X, family=sm.families.Poisson()).fit()
    glm = {
        name: (fit.pvalues[i + 1], float(np.exp(fit.params[i + 1])))
        for i, name in enumerate(["monday", "asset_volume", "service_commits"])
    }
    return corr, glm


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=40)
    args = ap.parse_args()
    with open(os.path.join(ROOT, "src", "demo", "truth.json")) as f:
        truth = json.load(f)
    rows = series(args.seeds)
    print(f"seeds 1..{args.seeds}; share of seeds with p < 0.05 (planted: power, null: false positives)")
    print(f"{'variant':8} {'effect':16} {'corr p<.05':>10} {'GLM p<.05':>10} {'GLM rate ratio':>15} {'truth':>6}")
    for variant in ("planted", "null"):
        res = [analyse(s, truth) for s in rows if s["variant"] == variant]
        for name, key in (("monday", "monday"), ("asset_volume", "asset_volume"), ("service_commits", "service_commits")):
            corr = np.mean([r[0][name] < 0.05 for r in res])
            glm = np.mean([r[1][name][0] < 0.05 for r in res])
            rr = np.mean([r[1][name][1] for r in res])
            expected = truth["effects"][key]["multiplier"] if variant == "planted" else 1.0
            print(f"{variant:8} {name:16} {corr:10.2f} {glm:10.2f} {rr:15.3f} {expected:6.2f}")


if __name__ == "__main__":
    main()
