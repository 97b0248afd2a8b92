/**
 * Jira tickets of the demo quarter: background tickets by weekday plus one Incident ticket per
 * incident.
 * Part of the generator in src/demo/generate.ts (see there for the whole picture).
 */
import { DAY, Day, HOUR, iso, pickKey, sortBy, timeInDay } from "./common.ts";
import { Person } from "./people.ts";
import { IncidentDraft } from "./incidents.ts";
import type { JiraIssueRow } from "../db/rows.ts";
import { Rng, ln } from "./random.ts";
import truth from "./truth.json" with { type: "json" };

// ───────────────────────────── Jira ─────────────────────────────

export const JIRA_PHRASES: Record<string, string[]> = {
  Bug: [
    "progress bar stuck at 99%",
    "duplicate assets after retry",
    "wrong territory on export",
    "timeout when saving large manifest",
    "ISRC not validated on bulk edit",
    "404 on asset preview",
    "sorting order lost after refresh",
    "checksum mismatch on re-upload",
  ],
  Story: [
    "bulk edit of release metadata",
    "resume interrupted uploads",
    "360RA preview in the browser",
    "per-label upload quotas",
    "export audit trail as CSV",
    "migrate legacy assets on demand",
  ],
  Task: [
    "rotate storage credentials",
    "upgrade ffmpeg on workers",
    "tune worker pool size",
    "clean up orphaned upload sessions",
    "document the migration runbook",
    "add alert on queue depth",
  ],
  "Sub-task": [
    "write integration test",
    "update API docs",
    "add metrics",
    "review error messages",
    "backfill migration state",
    "add feature flag",
  ],
};

export interface TicketDraft {
  created: number;
  type: string;
  priority: string;
  components: string[];
  labels: string[];
  summary: string;
  resolved: number | null;
  status: string;
  updated: number;
  reporter: string;
  assignee: string | null;
  points: number | null;
  incident?: IncidentDraft;
}

export function draftTickets(
  seed: number,
  days: Day[],
  incidents: IncidentDraft[],
  people: Person[],
  asOf: number,
): TicketDraft[] {
  const cfg = truth.jira;
  const rng = Rng.derive(seed, "jira");
  const out: TicketDraft[] = [];
  const close = (created: number, days: number, resolvedAt: number | null) => {
    const resolved = resolvedAt ?? created + Math.round(days * DAY / 1000) * 1000;
    if (resolved < asOf) {
      return {
        resolved,
        status: pickKey(rng, cfg.resolved_status_weights as Record<string, number>),
        updated: resolved,
      };
    }
    const updated = Math.min(asOf - 1000, created + Math.round(rng.exponential(3 * DAY) / 1000) * 1000);
    return { resolved: null, status: pickKey(rng, cfg.open_status_weights as Record<string, number>), updated };
  };
  for (const day of days) {
    const n = rng.poisson(cfg.per_weekday * (day.weekend ? cfg.weekend_factor : 1));
    for (let k = 0; k < n; k++) {
      const created = timeInDay(rng, day.start, truth.hourly_shape.weights);
      const type = pickKey(rng, cfg.type_weights as Record<string, number>);
      const components = [pickKey(rng, cfg.component_weights as Record<string, number>)];
      if (rng.bernoulli(0.3)) {
        const second = pickKey(rng, cfg.component_weights as Record<string, number>);
        if (second !== components[0]) components.push(second);
      }
      const labels: string[] = [];
      for (let j = rng.int(4); j > 0; j--) {
        const l = rng.choice(cfg.labels);
        if (!labels.includes(l)) labels.push(l);
      }
      const priority = pickKey(rng, cfg.priority_weights as Record<string, number>);
      const resolutionDays = rng.lognormal(
        ln(cfg.resolution_days_median[type as keyof typeof cfg.resolution_days_median]),
        cfg.resolution_sigma,
      );
      const summary = `${components[0]}: ${rng.choice(JIRA_PHRASES[type])}`;
      const reporter = rng.choice(people).name;
      const assignee = rng.bernoulli(0.85) ? rng.choice(people).name : null;
      const points = type === "Story" ? rng.choice([1, 2, 3, 5, 8, 13]) : null;
      out.push({
        created,
        type,
        priority,
        components,
        labels,
        summary,
        reporter,
        assignee,
        points,
        ...close(created, resolutionDays, null),
      });
    }
  }
  // One Incident ticket per incident.
  const irng = Rng.derive(seed, "jira-incidents");
  const [dmin, dmax] = truth.incidents.jira_ticket_delay_minutes;
  const priorityOf = { critical: "Highest", major: "High", minor: "Medium" } as const;
  for (const inc of incidents) {
    const created = Math.min(asOf - 1000, inc.started + Math.round(irng.between(dmin, dmax) * 60) * 1000);
    const resolvedAt = inc.resolved === null ? null : inc.resolved + Math.round(irng.between(5, 120) * 60) * 1000;
    const done = resolvedAt !== null && resolvedAt < asOf;
    out.push({
      created,
      type: "Incident",
      priority: priorityOf[inc.severity],
      components: [inc.service === "aoma-api" ? "API" : inc.service === "aoma-ingest" ? "Upload" : "Processing"],
      labels: ["incident", `sev-${inc.severity}`],
      summary: `[${inc.severity.toUpperCase()}] ${inc.summary}`,
      resolved: done ? resolvedAt : null,
      status: done ? "Done" : irng.choice(["In Progress", "Investigating"]),
      updated: done ? resolvedAt : Math.min(asOf - 1000, created + HOUR),
      reporter: "AOMA On-call",
      assignee: irng.choice(people).name,
      points: null,
      incident: inc,
    });
  }
  return sortBy(out, (t) => t.created);
}

export function ticketRows(tickets: TicketDraft[]): { rows: JiraIssueRow[]; keys: string[] } {
  const cfg = truth.jira;
  const keys = tickets.map((_, i) => `${cfg.project}-${cfg.first_number + i}`);
  const rows = tickets.map((t, i): JiraIssueRow => ({
    issue_key: keys[i],
    project: cfg.project,
    issue_type: t.type,
    priority: t.priority,
    status: t.status,
    components: t.components,
    labels: t.labels,
    summary: t.summary,
    created_at: iso(t.created),
    resolved_at: t.resolved === null ? null : iso(t.resolved),
    updated_at: iso(t.updated),
    raw: {
      id: String(400000 + cfg.first_number + i),
      fields: { reporter: t.reporter, assignee: t.assignee, story_points: t.points },
    },
  }));
  return { rows, keys };
}
