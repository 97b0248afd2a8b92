/**
 * Issue 11's acceptance of the root-cause analysis (sql/83_root_cause.sql), measured over generator
 * seeds (default 41..64). For each seed and variant: loads the demo quarter into a scratch database
 * (aoma_rca_accept), runs analytics.root_cause_segments() with its defaults (the last 14 days against
 * the 60 before) and records:
 *   - planted: is cause 1 the 360RA legacy cohort (asset_type 360RA and migration_state legacy, with
 *     or without the upload cohort)? Does its window failure-rate interval cover the planted 0.40, and
 *     its support interval (share of the window's attempts) cover the cohort's expected share
 *     (src/demo/truth.json: 160 expected cohort attempts over the window's expected attempts)? Is the
 *     first template of analytics.root_cause_templates(cause 1) "AssetUploadTask type <*> not
 *     supported"? Does analytics.root_cause_timeline put the change within a day of the planted
 *     window start?
 *   - null: does any segment pass q < 0.05 (it should not)? How many causes are reported?
 *   - both: analytics.root_cause_segments('log_errors') — planted: is cause 1 the cohort's error
 *     template? null: no segment at q < 0.05 and no cause?
 *   - both: the anomaly detector on the cohort's daily failures (analytics.detect_anomaly_events(
 *     'processing_failures', asset_type 360RA, migration_state legacy), defaults: the last 28 days):
 *     planted — an upward event starting within 2 days of the planted window start; null — any event.
 * Prints one line per seed and variant and a summary.
 * Usage (local cluster up): deno run -A scripts/rca_acceptance.ts [--seeds 41-64] [--variants planted,null]
 */
import postgres from "postgres";
import { migrateAll } from "../src/db/migrate.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { DEMO_TRUTH } from "../src/demo/generate.ts";
import { loadDemo } from "../src/demo/load.ts";

const arg = (name: string, dflt: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : dflt;
};
const [s0, s1] = arg("seeds", "41-64").split("-").map(Number);
const variants = arg("variants", "planted,null").split(",") as ("planted" | "null")[];
const adminUrl = Deno.env.get("AOMA_BENCH_ADMIN_URL") ?? "postgresql://postgres:postgres@127.0.0.1:54322/postgres";
const NAME = "aoma_rca_accept";

const cohort = DEMO_TRUTH.effects.cohort_360ra;
const windowStart = Date.parse(cohort.window_start);
// expected attempts in the cohort's window (weekday/weekend means over its 14 days)
let expectedWindowAttempts = 0;
for (let d = 0; d < cohort.window_days; d++) {
  const wd = new Date(windowStart + d * 86_400_000).getUTCDay();
  expectedWindowAttempts += wd === 0 || wd === 6 ? DEMO_TRUTH.processing.attempts_per_weekend_day : DEMO_TRUTH.processing.attempts_per_weekday;
}
const expectedShare = cohort.expected_cohort_attempts_in_window / expectedWindowAttempts;

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const url = adminUrl.replace(/\/[^/?]+(\?|$)/, `/${NAME}$1`);
const tally = {
  planted: { n: 0, first: 0, rate: 0, share: 0, template: 0, change: 0, all: 0, anomaly: 0, logTemplate: 0 },
  null: { n: 0, clean: 0, noAnomaly: 0, logClean: 0 },
};
const EVENTS_SQL = "select started, event_direction from analytics.detect_anomaly_events('processing_failures', asset_type => '360RA', migration_state => 'legacy')";
for (let seed = s0; seed <= s1; seed++) {
  for (const variant of variants) {
    await admin.unsafe(`drop database if exists ${NAME} with (force)`);
    await admin.unsafe(`create database ${NAME}`);
    const db = await openPostgres(url);
    try {
      await migrateAll(db);
      await loadDemo(db, { seed, variant });
      const t0 = performance.now();
      const segs = await db.query<Record<string, unknown>>("select *, to_jsonb(vals) as vals_json from analytics.root_cause_segments() order by rank");
      const ms = Math.round(performance.now() - t0);
      const causes = segs.filter((s) => s.cause_rank !== null);
      const events = await db.query<{ started: Date | string; event_direction: string }>(EVENTS_SQL);
      // the same rise seen in the error log lines (target log_errors): cause 1 should be the template
      const logCauses = await db.query<{ cause_rank: number; vals: (string | null)[]; q_value: number }>(
        "select cause_rank, to_jsonb(vals) as vals, q_value from analytics.root_cause_segments('log_errors') where cause_rank is not null or q_value < 0.05 order by rank",
      );
      const logFirst = logCauses[0]?.cause_rank === 1 && logCauses[0].vals[2] === cohort.error_template;
      if (variant === "null") {
        tally.null.noAnomaly += +(events.length === 0);
        tally.null.logClean += +(logCauses.length === 0);
        const sig = segs.filter((s) => s.q_value !== null && Number(s.q_value) < 0.05).length;
        tally.null.n++;
        if (sig === 0) tally.null.clean++;
        console.log(`seed ${seed} null: ${sig} segments with q < 0.05, ${causes.length} causes (${ms} ms); ${events.length} anomaly events; ` +
          `log_errors: ${logCauses.length} segments with q < 0.05 or a cause`);
        continue;
      }
      const c = causes[0] as Record<string, unknown> | undefined;
      const vals = (c?.vals_json ?? []) as (string | null)[];
      const first = !!c && vals[0] === "360RA" && vals[1] === "legacy" && vals[3] === null && (vals[2] === null || /^uploaded before/.test(vals[2]));
      const rate = !!c && Number(c.window_rate_lo) <= cohort.failure_probability && cohort.failure_probability <= Number(c.window_rate_hi);
      const share = !!c && Number(c.support_lo) <= expectedShare && expectedShare <= Number(c.support_hi);
      let template = false, change = false;
      if (c) {
        const [t] = await db.query<{ template: string }>("select template from analytics.root_cause_templates(segment => array(select jsonb_array_elements_text($1::text::jsonb)))", [JSON.stringify(vals)]);
        template = t?.template === cohort.error_template;
        const tl = await db.query<{ day: string }>("select day::text as day from analytics.root_cause_timeline(segment => array(select jsonb_array_elements_text($1::text::jsonb))) where is_change", [JSON.stringify(vals)]);
        change = !!tl[0] && Math.abs(Date.parse(tl[0].day) - windowStart) <= 86_400_000;
      }
      const p = tally.planted;
      const anomaly = events.some((e) => e.event_direction === "up" && Math.abs(new Date(e.started).getTime() - windowStart) <= 2 * 86_400_000);
      p.anomaly += +anomaly;
      p.logTemplate += +logFirst;
      p.n++;
      p.first += +first; p.rate += +rate; p.share += +share; p.template += +template; p.change += +change;
      p.all += +(first && rate && share && template);
      console.log(`seed ${seed} planted: cause1 ${JSON.stringify(vals)} rate ${Number(c?.window_rate).toFixed(3)} [${Number(c?.window_rate_lo).toFixed(3)}, ${Number(c?.window_rate_hi).toFixed(3)}] ` +
        `support [${Number(c?.support_lo).toFixed(4)}, ${Number(c?.support_hi).toFixed(4)}] vs ${expectedShare.toFixed(4)}; first ${first} rate ${rate} share ${share} template ${template} change ${change}; ${causes.length} causes (${ms} ms); anomaly ${anomaly} ${JSON.stringify(events.map((e) => new Date(e.started).toISOString().slice(0, 10)))}; log_errors cause 1 template ${logFirst}`);
    } catch (e) {
      console.log(`seed ${seed} ${variant}: ERROR ${(e as Error).message}`);
    } finally {
      await db.close();
    }
  }
}
await admin.unsafe(`drop database if exists ${NAME} with (force)`);
await admin.end();
console.log(JSON.stringify(tally));
