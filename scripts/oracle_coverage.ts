/**
 * The coverage ceiling of issue 10's planted-truth check, without a database: for each generator
 * seed, the demo quarter's daily failed and total processing attempts (every asset type but 360RA,
 * whose legacy cohort fails on its own in the last 14 days) with the planted indicators themselves —
 * Monday, previous-day asset volume > 1,200, service commits > 15 (src/demo/truth.json) — written
 * as CSV for scripts/oracle_coverage.py, which fits the correctly specified quasi-Poisson model with
 * statsmodels and counts how often its 95% intervals cover the planted multipliers.
 *
 * Usage: deno run -A scripts/oracle_coverage.ts 1 400 /tmp/oracle.csv
 *        /usr/bin/python3 scripts/oracle_coverage.py /tmp/oracle.csv
 */
import { planDays } from "../src/demo/common.ts";
import { draftAttempts } from "../src/demo/processing.ts";

const [a, b] = Deno.args.slice(0, 2).map(Number);
const out = Deno.args[2] ?? "/tmp/oracle.csv";
const lines = ["seed,day,mon,hp,busy,n,y"];
for (let seed = a; seed <= b; seed++) {
  const days = planDays(seed);
  const attempts = draftAttempts(seed, "planted", days, days[days.length - 1].start + 86_400_000);
  const n = new Array(days.length).fill(0), y = new Array(days.length).fill(0);
  for (const x of attempts) {
    if (x.assetType === "360RA") continue;
    n[x.day.index]++;
    if (x.failed) y[x.day.index]++;
  }
  for (const d of days) lines.push([seed, d.index, +d.monday, +d.highVolumePrev, +d.highCommits, n[d.index], y[d.index]].join(","));
}
Deno.writeTextFileSync(out, lines.join("\n") + "\n");
console.log(`${out}: seeds ${a}..${b}, ${lines.length - 1} days`);
