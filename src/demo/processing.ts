/**
 * Asset-processing attempts (with the planted failure probabilities and the 360RA cohort) and the
 * hourly system metrics derived from them.
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { DAY, Day, DemoVariant, Filled, HOUR, dayMs, fill, instantiate, iso, pickKey, randomAssetId, round, sortBy, timeInDay } from "./common.ts";
import type { SystemMetricRow, ProcessingAttemptRow } from "../db/rows.ts";
import { Rng } from "./random.ts";
import truth from "./truth.json" with { type: "json" };

// ───────────────────────────── processing attempts ─────────────────────────────

export interface AttemptDraft {
  day: Day;
  started: number;
  finished: number;
  assetId: string;
  assetType: string;
  uploaded: number;
  state: ProcessingAttemptRow["migration_state"];
  failed: boolean;
  error: Filled | null;
}

export function draftAttempts(seed: number, variant: DemoVariant, days: Day[], asOf: number): AttemptDraft[] {
  const cfg = truth.processing;
  const cohort = truth.effects.cohort_360ra;
  const rng = Rng.derive(seed, "attempts");
  const outcome = Rng.derive(seed, "attempt-outcomes");
  const errRng = Rng.derive(seed, "attempt-errors");
  const migration = dayMs(cfg.migration_date);
  const windowStart = dayMs(cohort.window_start);
  const types = cfg.asset_types;
  const typeWeights = types.map((t) => t.weight);
  const errWeights = cfg.error_templates.map((t) => t.weight);
  const cohortError = instantiate(cohort.error_template, [cohort.error_message.split("type ")[1].split(" not")[0]]);
  if (cohortError.message !== cohort.error_message) {
    throw new Error(
      `Cannot generate the demo: "${cohort.error_message}" does not match template "${cohort.error_template}"`,
    );
  }
  const out: AttemptDraft[] = [];
  for (const day of days) {
    const n = rng.poisson(day.weekend ? cfg.attempts_per_weekend_day : cfg.attempts_per_weekday);
    for (let k = 0; k < n; k++) {
      const started = timeInDay(rng, day.start, truth.hourly_shape.weights);
      const type = types[rng.weightedIndex(typeWeights)];
      let uploaded: number;
      let state: AttemptDraft["state"];
      if (rng.bernoulli(cfg.old_catalog_share)) {
        const [a, b] = cfg.old_catalog_upload_age_days;
        uploaded = migration - Math.round(rng.between(a, b) * DAY / 1000) * 1000;
        state = pickKey(rng, cfg.old_catalog_migration_state_weights);
      } else {
        const [a, b] = cfg.new_upload_delay_minutes;
        uploaded = started - Math.round(rng.between(a, b) * 60) * 1000;
        state = "migrated";
      }
      const seconds = type.median_seconds * rng.lognormal(0, cfg.duration_sigma);
      const assetId = randomAssetId(rng);
      const inCohort = variant === "planted" && type.type === cohort.asset_type && state === cohort.migration_state &&
        started >= windowStart;
      const p = inCohort
        ? cohort.failure_probability
        : variant === "planted"
        ? cfg.base_failure_probability * day.multiplier
        : cfg.null_failure_probability;
      const failed = outcome.uniform() < p;
      let error: Filled | null = null;
      let duration = seconds;
      if (failed) {
        error = inCohort ? cohortError : fill(errRng, cfg.error_templates[errRng.weightedIndex(errWeights)], {
          assetId,
          assetType: type.type,
        });
        const [fa, fb] = cfg.failed_duration_fraction;
        duration = seconds * errRng.between(fa, fb);
      }
      out.push({
        day,
        started,
        // Nothing happens after as_of: an attempt still running then is cut at the last second.
        finished: Math.min(asOf - 1000, started + Math.max(1, Math.round(duration * 1000))),
        assetId,
        assetType: type.type,
        uploaded,
        state,
        failed,
        error,
      });
    }
  }
  return sortBy(out, (a) => a.started);
}

export function attemptRows(attempts: AttemptDraft[]): ProcessingAttemptRow[] {
  return attempts.map((a, i) => ({
    attempt_id: `PA-${String(i + 1).padStart(7, "0")}`,
    asset_id: a.assetId,
    asset_type: a.assetType,
    uploaded_at: iso(a.uploaded),
    migration_state: a.state,
    started_at: iso(a.started),
    finished_at: iso(a.finished),
    status: a.failed ? "failed" : "succeeded",
    error_template_id: a.error?.templateId ?? null,
    error_message: a.error?.message ?? null,
  }));
}

// ───────────────────────────── hourly metrics ─────────────────────────────

export function metricRows(seed: number, days: Day[], attempts: AttemptDraft[]): SystemMetricRow[] {
  const cfg = truth.metrics;
  const rng = Rng.derive(seed, "metrics");
  const first = days[0].start;
  const hours = days.length * 24;
  const n = new Array<number>(hours).fill(0);
  const seconds = new Array<number>(hours).fill(0);
  const errors = new Array<number>(hours).fill(0);
  for (const a of attempts) {
    const h = Math.floor((a.started - first) / HOUR);
    n[h]++;
    seconds[h] += (a.finished - a.started) / 1000;
    if (a.failed) errors[h]++;
  }
  const rows: SystemMetricRow[] = [];
  for (const day of days) {
    const split = new Array<number>(24).fill(0);
    for (let i = 0; i < day.volume; i++) split[rng.weightedIndex(truth.hourly_shape.weights)]++;
    for (let hr = 0; hr < 24; hr++) {
      const h = day.index * 24 + hr;
      const processing = n[h] > 0 ? seconds[h] / n[h] : cfg.idle_processing_time_seconds;
      const score = 100 - 0.04 * processing - 2.5 * errors[h] + rng.normal(0, cfg.score_noise_sd);
      rows.push({
        source: cfg.source,
        timestamp: iso(day.start + hr * HOUR),
        asset_volume: split[hr],
        processing_time: round(processing, 3),
        error_count: errors[h],
        performance_score: round(Math.min(100, Math.max(0, score)), 2),
      });
    }
  }
  return rows;
}
