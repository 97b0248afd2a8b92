/**
 * Deterministic demo data: a realistic AOMA quarter (90 UTC days) for every raw table of the
 * `aoma` schema, with the effects stated in src/demo/truth.json planted ("planted") or absent
 * ("null"). Pure: no database, no clock, no Math.random; the same seed gives byte-identical rows.
 *
 * The parts live in their own modules — common.ts (time helpers, message templates, the plan of the
 * days), people.ts, incidents.ts, jira.ts, processing.ts (attempts and hourly metrics), git.ts
 * (commits and deployments), logs.ts — and this module puts them together.
 *
 * Each part of the data draws from its own labelled random stream (`Rng.derive(seed, label)`),
 * so the two variants of one seed share every draw that is not about failures: same volumes,
 * commits, tickets and attempts, different failures.
 *
 * @example
 * const { tables, summary } = generateDemo({ variant: "planted", seed: 1 });
 * tables.incidents.length;   // ≈ 360
 * summary.incidents.mondayRatio; // ≈ 2.3
 */
import truth from "./truth.json" with { type: "json" };
import { DAY, type Day, type DemoVariant, dayMs, iso, meanSd, planDays, round } from "./common.ts";
import { makePeople } from "./people.ts";
import { draftIncidents, type IncidentDraft } from "./incidents.ts";
import { draftTickets, ticketRows } from "./jira.ts";
import { type AttemptDraft, attemptRows, draftAttempts, metricRows } from "./processing.ts";
import { commitRows, deploymentRows } from "./git.ts";
import { logRows } from "./logs.ts";

export { truth as DEMO_TRUTH };
export type { DemoVariant } from "./common.ts";
export { templateId } from "./common.ts";

/** Options of {@link generateDemo}. */
export interface DemoOptions {
  /** Default "planted". */
  variant?: DemoVariant;
  /** 32-bit integer seed. Default 1. */
  seed?: number;
}

export type * from "../db/rows.ts";
import type {
  RepositoryRow,
  JiraIssueRow,
  GitCommitRow,
  DeploymentRow,
  MessageTemplateRow,
  LogEventRow,
  SystemMetricRow,
  ProcessingAttemptRow,
  IncidentRow,
} from "../db/rows.ts";

/** Rows per table of the `aoma` schema (every column present, so jsonb_populate_recordset fills all). */
export interface DemoTables {
  repositories: RepositoryRow[];
  jira_issues: JiraIssueRow[];
  git_commits: GitCommitRow[];
  deployments: DeploymentRow[];
  message_templates: MessageTemplateRow[];
  log_events: LogEventRow[];
  aoma_system_metrics: SystemMetricRow[];
  processing_attempts: ProcessingAttemptRow[];
  incidents: IncidentRow[];
}

/** The demo tables in an order that satisfies the foreign keys when inserting. */
export const DEMO_TABLE_NAMES: readonly (keyof DemoTables)[] = [
  "repositories",
  "jira_issues",
  "git_commits",
  "deployments",
  "message_templates",
  "log_events",
  "aoma_system_metrics",
  "processing_attempts",
  "incidents",
];

/** What was generated, measured on the rows themselves (for reports and quick checks). */
export interface DemoSummary {
  variant: DemoVariant;
  seed: number;
  startDate: string;
  endDate: string;
  days: number;
  counts: Record<keyof DemoTables, number>;
  incidents: {
    total: number;
    perDay: number;
    mondayRatio: number;
    highVolumeDayShare: number;
    shareAfterHighVolumeDay: number;
    serviceCommitsHighRatio: number;
  };
  attempts: { total: number; perWeek: number; failed: number; failureRate: number };
  cohort360ra: {
    windowStart: string;
    attemptsInWindow: number;
    failedInWindow: number;
    failureRateInWindow: number;
    otherFailureRateInWindow: number;
  };
  serviceCommitsPerDay: { mean: number; sd: number };
}

/** The result of {@link generateDemo}. */
export interface DemoData {
  tables: DemoTables;
  summary: DemoSummary;
}

// ───────────────────────────── summary ─────────────────────────────

function summarize(
  variant: DemoVariant,
  seed: number,
  days: Day[],
  tables: DemoTables,
  attempts: AttemptDraft[],
  incidents: IncidentDraft[],
): DemoSummary {
  const perDay = new Array<number>(days.length).fill(0);
  for (const inc of incidents) perDay[Math.floor((inc.started - days[0].start) / DAY)]++;
  const rate = (pred: (d: Day) => boolean) => {
    const sel = days.filter(pred);
    return sel.reduce((a, d) => a + perDay[d.index], 0) / Math.max(1, sel.length);
  };
  const afterHigh = days.filter((d) => d.highVolumePrev).reduce((a, d) => a + perDay[d.index], 0);
  const withPrev = days.slice(1).reduce((a, d) => a + perDay[d.index], 0);
  const cohort = truth.effects.cohort_360ra;
  const windowStart = dayMs(cohort.window_start);
  const inWindow = attempts.filter((a) => a.started >= windowStart);
  const isCohort = (a: AttemptDraft) => a.assetType === cohort.asset_type && a.state === cohort.migration_state;
  const cohortAttempts = inWindow.filter(isCohort);
  const others = inWindow.filter((a) => !isCohort(a));
  const failed = attempts.filter((a) => a.failed).length;
  const counts = Object.fromEntries(DEMO_TABLE_NAMES.map((t) => [t, tables[t].length])) as Record<
    keyof DemoTables,
    number
  >;
  return {
    variant,
    seed,
    startDate: days[0].date,
    endDate: days[days.length - 1].date,
    days: days.length,
    counts,
    incidents: {
      total: incidents.length,
      perDay: round(incidents.length / days.length, 4),
      mondayRatio: round(rate((d) => d.monday) / rate((d) => !d.monday), 4),
      highVolumeDayShare: round(
        days.filter((d) => d.volume > truth.effects.asset_volume.threshold).length / days.length,
        4,
      ),
      shareAfterHighVolumeDay: round(afterHigh / Math.max(1, withPrev), 4),
      serviceCommitsHighRatio: round(rate((d) => d.highCommits) / rate((d) => !d.highCommits), 4),
    },
    attempts: {
      total: attempts.length,
      perWeek: round(attempts.length / days.length * 7, 1),
      failed,
      failureRate: round(failed / attempts.length, 5),
    },
    cohort360ra: {
      windowStart: cohort.window_start,
      attemptsInWindow: cohortAttempts.length,
      failedInWindow: cohortAttempts.filter((a) => a.failed).length,
      failureRateInWindow: round(cohortAttempts.filter((a) => a.failed).length / Math.max(1, cohortAttempts.length), 4),
      otherFailureRateInWindow: round(others.filter((a) => a.failed).length / Math.max(1, others.length), 4),
    },
    serviceCommitsPerDay: meanSd(days.map((d) => d.serviceCommits)),
  };
}

// ───────────────────────────── entry point ─────────────────────────────

/**
 * Generates the demo quarter for `variant` ("planted" by default) and `seed` (1 by default).
 * Returns every row of the nine aoma source tables (all columns present, timestamps as ISO
 * strings in UTC) and a summary measured on those rows. Throws when the seed is not a 32-bit
 * integer or truth.json is inconsistent.
 */
export function generateDemo(opts: DemoOptions = {}): DemoData {
  const variant = opts.variant ?? "planted";
  const seed = opts.seed ?? 1;
  if (variant !== "planted" && variant !== "null") {
    throw new Error(`Cannot generate the demo: variant "${variant}" is unknown; use "planted" or "null"`);
  }
  if (!Number.isInteger(seed) || seed < -2147483648 || seed > 4294967295) {
    throw new Error(`Cannot generate the demo: seed ${seed} is not a 32-bit integer`);
  }
  const days = planDays(seed);
  const asOf = days[days.length - 1].start + DAY;
  const people = makePeople(seed);
  const incidents = draftIncidents(seed, variant, days, asOf);
  const tickets = draftTickets(seed, days, incidents, people, asOf);
  const { rows: jira, keys } = ticketRows(tickets);
  const jiraKeyOf = new Map<IncidentDraft, string>();
  tickets.forEach((t, i) => t.incident && jiraKeyOf.set(t.incident, keys[i]));
  const incidentRows = incidents.map((inc, i): IncidentRow => ({
    incident_key: `INC-${truth.incidents.first_number + i}`,
    started_at: iso(inc.started),
    resolved_at: inc.resolved === null ? null : iso(inc.resolved),
    severity: inc.severity,
    service: inc.service,
    summary: inc.summary,
    source: "demo",
    jira_key: jiraKeyOf.get(inc) ?? null,
  }));
  const attempts = draftAttempts(seed, variant, days, asOf);
  const commits = commitRows(seed, days, people, tickets.map((t) => t.created), keys);
  const { logs, templates } = logRows(seed, days, attempts, incidents);
  const tables: DemoTables = {
    repositories: truth.repositories.map((r) => ({
      repo: r.repo,
      is_service: r.is_service,
      default_branch: "main",
      description: r.description,
    })),
    jira_issues: jira,
    git_commits: commits.rows,
    deployments: deploymentRows(seed, days, people, commits.serviceTimes, commits.serviceShas),
    message_templates: templates,
    log_events: logs,
    aoma_system_metrics: metricRows(seed, days, attempts),
    processing_attempts: attemptRows(attempts),
    incidents: incidentRows,
  };
  return { tables, summary: summarize(variant, seed, days, tables, attempts, incidents) };
}
