/**
 * Incidents of the demo quarter: Poisson per day with the planted multipliers (or the null rate).
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { Day, DemoVariant, pickKey, sortBy, timeInDay } from "./common.ts";
import type { IncidentRow } from "../db/rows.ts";
import { Rng, ln } from "./random.ts";
import truth from "./truth.json" with { type: "json" };

// ───────────────────────────── incidents ─────────────────────────────

export const INCIDENT_SUMMARIES: Record<string, string[]> = {
  "aoma-mesh": [
    "Processing queue stalled",
    "Worker pool crash-looping",
    "Asset processing backlog above SLA",
    "Processing jobs failing with storage timeouts",
    "Sorting step rejecting uploads",
  ],
  "aoma-api": ["Upload API returning 5xx", "API latency p95 above 5 s", "Auth token refresh failing"],
  "aoma-ingest": ["Ingest pipeline dropping chunks", "Upload sessions expiring early"],
  "aoma-transcoder": ["Transcoder nodes out of memory", "Transcode queue not draining"],
};

export interface IncidentDraft {
  started: number;
  resolved: number | null;
  severity: IncidentRow["severity"];
  service: string;
  summary: string;
  row?: IncidentRow;
}

export function draftIncidents(seed: number, variant: DemoVariant, days: Day[], asOf: number): IncidentDraft[] {
  const cfg = truth.incidents;
  const rng = Rng.derive(seed, "incidents");
  const out: IncidentDraft[] = [];
  for (const day of days) {
    const lambda = variant === "planted" ? cfg.base_rate_per_day * day.multiplier : cfg.null_rate_per_day;
    const n = rng.poisson(lambda);
    for (let k = 0; k < n; k++) {
      const started = timeInDay(rng, day.start, truth.hourly_shape.weights);
      const minutes = rng.lognormal(ln(cfg.duration_minutes_lognormal.median), cfg.duration_minutes_lognormal.sigma);
      const resolved = started + Math.max(1, Math.round(minutes * 60)) * 1000;
      const severity = pickKey(rng, cfg.severity_weights);
      const service = pickKey(rng, cfg.service_weights as Record<string, number>);
      out.push({
        started,
        resolved: resolved < asOf ? resolved : null,
        severity,
        service,
        summary: rng.choice(INCIDENT_SUMMARIES[service]),
      });
    }
  }
  return sortBy(out, (d) => d.started);
}
