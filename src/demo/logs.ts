/**
 * System log events of the demo quarter and their message templates.
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { Day, Filled, fill, instantiate, iso, sortBy, timeInDay } from "./common.ts";
import { IncidentDraft } from "./incidents.ts";
import { AttemptDraft } from "./processing.ts";
import type { MessageTemplateRow, LogEventRow } from "../db/rows.ts";
import { Rng } from "./random.ts";
import { createHash } from "node:crypto";
import truth from "./truth.json" with { type: "json" };

// ───────────────────────────── logs and templates ─────────────────────────────

export interface LogDraft {
  source: string;
  ts: number;
  level: LogEventRow["level"];
  service: string;
  host: string;
  filled: Filled;
}

export function logRows(
  seed: number,
  days: Day[],
  attempts: AttemptDraft[],
  incidents: IncidentDraft[],
): { logs: LogEventRow[]; templates: MessageTemplateRow[] } {
  const cfg = truth.logs;
  const rng = Rng.derive(seed, "logs");
  const errRng = Rng.derive(seed, "error-logs");
  const drafts: LogDraft[] = [];
  const bg = cfg.background_templates;
  const bgWeights = bg.map((t) => t.weight);
  for (const day of days) {
    const n = rng.poisson(cfg.background_per_day);
    for (let k = 0; k < n; k++) {
      const t = bg[rng.weightedIndex(bgWeights)];
      drafts.push({
        source: "aoma-mesh/app",
        ts: timeInDay(rng, day.start, truth.hourly_shape.weights),
        level: t.level as LogEventRow["level"],
        service: "aoma-mesh",
        host: `aoma-app-0${1 + rng.int(4)}`,
        filled: fill(rng, t, {}),
      });
    }
  }
  for (const a of attempts) {
    if (!a.error) continue;
    drafts.push({
      source: "aoma-mesh/worker",
      ts: a.finished,
      level: "ERROR",
      service: "aoma-mesh",
      host: `aoma-worker-0${1 + errRng.int(6)}`,
      filled: a.error,
    });
  }
  for (const inc of incidents) {
    const probes = 5;
    drafts.push({
      source: "aoma-mesh/health",
      ts: inc.started,
      level: "ERROR",
      service: inc.service,
      host: "aoma-monitor-01",
      filled: instantiate(cfg.incident_template, [`'${inc.service}'`, String(3 + errRng.int(3)), String(probes)]),
    });
  }
  const sorted = sortBy(drafts, (d) => d.ts);
  const lineNo = new Map<string, number>();
  const templates = new Map<string, MessageTemplateRow>();
  const logs = sorted.map((d): LogEventRow => {
    const line = (lineNo.get(d.source) ?? 0) + 1;
    lineNo.set(d.source, line);
    const ts = iso(d.ts);
    const seenBefore = templates.get(d.filled.template);
    if (seenBefore) {
      seenBefore.last_seen = ts;
      seenBefore.occurrences++;
    } else {
      templates.set(d.filled.template, {
        template_id: d.filled.templateId,
        template: d.filled.template,
        first_seen: ts,
        last_seen: ts,
        occurrences: 1,
      });
    }
    return {
      source: d.source,
      event_key: createHash("md5").update(`${d.source}|${ts}|${line}`).digest("hex").slice(0, 24),
      ts,
      level: d.level,
      service: d.service,
      host: d.host,
      template_id: d.filled.templateId,
      message: d.filled.message,
      params: d.filled.params,
    };
  });
  const templateRows = [...templates.values()].sort((a, b) => (a.template_id < b.template_id ? -1 : 1));
  return { logs, templates: templateRows };
}
