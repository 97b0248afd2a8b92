/**
 * Deterministic demo data: a realistic AOMA quarter (90 UTC days) for every raw table of the
 * `aoma` schema, with the effects stated in src/demo/truth.json planted ("planted") or absent
 * ("null"). Pure: no database, no clock, no Math.random; the same seed gives byte-identical rows.
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
import { createHash } from "node:crypto";
import truth from "./truth.json" with { type: "json" };
import { ln, Rng } from "./random.ts";

export { truth as DEMO_TRUTH };

/** "planted": the effects of truth.json are in the data; "null": none of them is. */
export type DemoVariant = "planted" | "null";

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

// ───────────────────────────── helpers ─────────────────────────────

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const dayMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);
const SCALE = [1, 10, 100, 1000, 10_000, 100_000];
/** Rounds to `digits` decimals with basic arithmetic only (exact on every engine). */
const round = (x: number, digits: number): number => Math.round(x * SCALE[digits]) / SCALE[digits];

/** left(md5(template), 16): the template id the schema prescribes. */
export function templateId(template: string): string {
  return createHash("md5").update(template).digest("hex").slice(0, 16);
}

function pickKey<K extends string>(rng: Rng, weights: Record<K, number>): K {
  const keys = Object.keys(weights) as K[];
  return keys[rng.weightedIndex(keys.map((k) => weights[k]))];
}

/** A random instant (whole seconds) inside the UTC day starting at `start`, hour by `shape`. */
function timeInDay(rng: Rng, start: number, shape: readonly number[]): number {
  return start + rng.weightedIndex(shape) * HOUR + rng.int(3600) * 1000;
}

/** Stable sort by a numeric key, ties kept in generation order. */
function sortBy<T>(items: T[], key: (t: T) => number): T[] {
  return items.map((item, i) => ({ item, i, k: key(item) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.item);
}

/** Index of the last element of ascending `sorted` that is <= x, or -1. */
function lastAtOrBefore(sorted: readonly number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) * (b - mean), 0) / Math.max(1, xs.length - 1);
  return { mean: round(mean, 4), sd: round(Math.sqrt(v), 4) };
}

// ───────────────────────────── message templates ─────────────────────────────

interface SlotContext {
  assetId?: string;
  assetType?: string;
}

const EXT: Record<string, string> = {
  WAV: "wav",
  MP4: "mp4",
  DDP: "ddp",
  "360RA": "mp4",
  FLAC: "flac",
  MOV: "mov",
  JPG: "jpg",
  PDF: "pdf",
};

const randomAssetId = (rng: Rng) => `AST-${String(rng.int(100_000_000)).padStart(8, "0")}`;

/** How each masked slot of a template is filled. */
const SLOTS: Record<string, (rng: Rng, ctx: SlotContext) => string> = {
  asset_id: (rng, ctx) => ctx.assetId ?? randomAssetId(rng),
  exit_code: (rng) => rng.choice(["1", "137", "139", "234", "255"]),
  timeout_ms: (rng) => rng.choice(["5000", "10000", "30000", "60000"]),
  storage_host: (rng) => `storage-${1 + rng.int(8)}.aoma.internal`,
  asset_path: (rng, ctx) =>
    `/mnt/assets/${ctx.assetId ?? randomAssetId(rng)}/source.${EXT[ctx.assetType ?? "WAV"] ?? "bin"}`,
  md5: (rng) => rng.hex(32),
  metadata_field: (rng) => rng.choice(["'ISRC'", "'UPC'", "'ReleaseDate'", "'LabelName'", "'Territory'"]),
  s3_key: (rng, ctx) => `ingest/${ctx.assetId ?? randomAssetId(rng)}/part-${rng.int(64)}.bin`,
  upload_task: (rng) => rng.choice(truth.processing.ordinary_upload_tasks),
  megabytes: (rng) => rng.choice(["512", "1024", "2048", "4096", "8192"]),
  user: (rng) => `user-${1000 + rng.int(9000)}`,
  bytes: (rng) => String(Math.round(rng.lognormal(16, 1.5))),
  job_id: (rng) => `job-${rng.hex(8)}`,
  duration_ms: (rng) => String(Math.round(rng.lognormal(7, 1))),
  sync_target: (rng) => rng.choice(["'jira'", "'dam'", "'royalty-ledger'", "'catalog'"]),
  count: (rng) => String(1 + rng.int(5000)),
  ip: (rng) => `10.${rng.int(256)}.${rng.int(256)}.${rng.int(256)}`,
  cache_name: (rng) => rng.choice(["'territories'", "'labels'", "'asset-types'", "'users'"]),
  table_name: (rng) => rng.choice(["'assets'", "'processing_jobs'", "'metadata_fields'", "'upload_sessions'"]),
  slow_ms: (rng) => String(1000 + rng.int(9000)),
  retry: (rng) => String(1 + rng.int(4)),
  percent: (rng) => String(80 + rng.int(19)),
  volume_path: (rng) => rng.choice(["/data/vol1", "/data/vol2", "/data/vol3"]),
};

interface Filled {
  template: string;
  templateId: string;
  message: string;
  params: string[];
}

/** Fills the <*> slots of `template` in order with the given values. */
function instantiate(template: string, params: string[]): Filled {
  const parts = template.split("<*>");
  if (parts.length - 1 !== params.length) {
    throw new Error(
      `Cannot fill template "${template}": it has ${parts.length - 1} slots, got ${params.length} values`,
    );
  }
  let message = parts[0];
  for (let i = 0; i < params.length; i++) message += params[i] + parts[i + 1];
  return { template, templateId: templateId(template), message, params };
}

function fill(rng: Rng, t: { template: string; slots: string[] }, ctx: SlotContext): Filled {
  return instantiate(t.template, t.slots.map((s) => SLOTS[s](rng, ctx)));
}

// ───────────────────────────── the days ─────────────────────────────

interface Day {
  index: number;
  start: number;
  date: string;
  weekday: number;
  monday: boolean;
  weekend: boolean;
  volume: number;
  serviceCommits: number;
  highVolumePrev: boolean;
  highCommits: boolean;
  /** Product of the planted multipliers of the day (used by the planted variant only). */
  multiplier: number;
}

function planDays(seed: number): Day[] {
  const { start_date, days: n } = truth.calendar;
  const fx = truth.effects;
  const volRng = Rng.derive(seed, "asset-volume");
  const scRng = Rng.derive(seed, "service-commits");
  const days: Day[] = [];
  for (let i = 0; i < n; i++) {
    const start = dayMs(start_date) + i * DAY;
    const weekday = new Date(start).getUTCDay();
    const volume = Math.max(0, Math.round(volRng.normal(truth.asset_volume.daily_mean, truth.asset_volume.daily_sd)));
    const serviceCommits = scRng.negbin(truth.commits.service_per_day_mean, truth.commits.service_per_day_sd);
    const prev = days[i - 1];
    const highVolumePrev = prev !== undefined && prev.volume > fx.asset_volume.threshold;
    const highCommits = serviceCommits > fx.service_commits.threshold;
    const monday = weekday === 1;
    let multiplier = 1;
    if (monday) multiplier *= fx.monday.multiplier;
    if (highVolumePrev) multiplier *= fx.asset_volume.multiplier;
    if (highCommits) multiplier *= fx.service_commits.multiplier;
    days.push({
      index: i,
      start,
      date: iso(start).slice(0, 10),
      weekday,
      monday,
      weekend: weekday === 0 || weekday === 6,
      volume,
      serviceCommits,
      highVolumePrev,
      highCommits,
      multiplier,
    });
  }
  const windowStart = days[n - fx.cohort_360ra.window_days].date;
  if (windowStart !== fx.cohort_360ra.window_start) {
    throw new Error(
      `Cannot generate the demo: truth.json says the 360RA window starts ${fx.cohort_360ra.window_start}, the calendar gives ${windowStart}`,
    );
  }
  return days;
}

// ───────────────────────────── people ─────────────────────────────

const FIRST = [
  "Ana",
  "Ben",
  "Chloe",
  "Dev",
  "Elif",
  "Farid",
  "Grace",
  "Hiro",
  "Ines",
  "Jonas",
  "Kavya",
  "Liam",
  "Maya",
  "Nico",
  "Olu",
  "Priya",
  "Quinn",
  "Rosa",
];
const LAST = [
  "Almeida",
  "Brandt",
  "Chen",
  "Dubois",
  "Eriksen",
  "Fischer",
  "Gupta",
  "Haddad",
  "Ito",
  "Jansen",
  "Kowalski",
  "Lopez",
  "Mensah",
  "Novak",
  "Okafor",
  "Patel",
  "Rossi",
  "Sato",
];

interface Person {
  name: string;
  email: string;
  login: string;
  tz: string;
  offsetMs: number;
}

function makePeople(seed: number): Person[] {
  const rng = Rng.derive(seed, "people");
  const people: Person[] = [];
  for (let i = 0; i < truth.commits.authors; i++) {
    const first = FIRST[i % FIRST.length];
    const last = LAST[(i * 7 + Math.floor(i / FIRST.length)) % LAST.length];
    const tz = pickKey(rng, truth.commits.author_timezones as Record<string, number>);
    const sign = tz[0] === "-" ? -1 : 1;
    const offsetMs = sign * (Number(tz.slice(1, 3)) * HOUR + Number(tz.slice(3, 5)) * MIN);
    people.push({
      name: `${first} ${last}`,
      email: `${first.toLowerCase()}.${last.toLowerCase()}@aoma.example`,
      login: `${first.toLowerCase()}${last[0].toLowerCase()}`,
      tz,
      offsetMs,
    });
  }
  return people;
}

// ───────────────────────────── incidents ─────────────────────────────

const INCIDENT_SUMMARIES: Record<string, string[]> = {
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

interface IncidentDraft {
  started: number;
  resolved: number | null;
  severity: IncidentRow["severity"];
  service: string;
  summary: string;
  row?: IncidentRow;
}

function draftIncidents(seed: number, variant: DemoVariant, days: Day[], asOf: number): IncidentDraft[] {
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

// ───────────────────────────── Jira ─────────────────────────────

const JIRA_PHRASES: Record<string, string[]> = {
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

interface TicketDraft {
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

function draftTickets(
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

function ticketRows(tickets: TicketDraft[]): { rows: JiraIssueRow[]; keys: string[] } {
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

// ───────────────────────────── processing attempts ─────────────────────────────

interface AttemptDraft {
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

function draftAttempts(seed: number, variant: DemoVariant, days: Day[], asOf: number): AttemptDraft[] {
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

function attemptRows(attempts: AttemptDraft[]): ProcessingAttemptRow[] {
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

function metricRows(seed: number, days: Day[], attempts: AttemptDraft[]): SystemMetricRow[] {
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

// ───────────────────────────── git ─────────────────────────────

const COMMIT_KINDS = ["fix", "feat", "chore", "refactor", "test", "docs", "perf"];
const COMMIT_KIND_WEIGHTS = [0.3, 0.25, 0.15, 0.12, 0.08, 0.06, 0.04];
const COMMIT_SCOPES = ["upload", "processing", "metadata", "api", "ui", "storage", "auth", "migration", "ci", "deps"];
const COMMIT_PHRASES = [
  "handle empty manifest",
  "retry on 503 from storage",
  "add sorting step for 360RA",
  "validate ISRC format",
  "bump dependencies",
  "remove dead code",
  "improve error message",
  "add integration test",
  "speed up checksum",
  "fix race in job scheduler",
  "paginate asset list",
  "log upload session id",
  "update docs",
  "tune worker pool size",
  "move config to env vars",
  "guard against null territory",
];

interface CommitDraft {
  committed: number;
  authored: number;
  author: Person;
  merge: boolean;
  files: number;
  insertions: number;
  deletions: number;
  sha: string;
  message: string;
}

function commitSize(rng: Rng): { files: number; insertions: number; deletions: number } {
  const c = truth.commits;
  if (rng.bernoulli(c.huge_commit_share)) {
    const files = 200 + rng.int(1800);
    const insertions = 10_000 + rng.int(70_000);
    return { files, insertions, deletions: rng.int(insertions) };
  }
  const files = Math.min(
    c.files_lognormal.max,
    1 + Math.floor(rng.lognormal(c.files_lognormal.mu, c.files_lognormal.sigma)),
  );
  const insertions = Math.min(
    c.insertions_lognormal.max,
    Math.round(rng.lognormal(c.insertions_lognormal.mu, c.insertions_lognormal.sigma)),
  );
  const u = rng.uniform();
  const deletions = Math.round(insertions * u * u * 0.9) + rng.int(3);
  return { files, insertions, deletions };
}

function commitRows(
  seed: number,
  days: Day[],
  people: Person[],
  ticketCreated: number[],
  ticketKeys: string[],
): { rows: GitCommitRow[]; serviceTimes: number[]; serviceShas: string[] } {
  const c = truth.commits;
  const rng = Rng.derive(seed, "commits");
  const teamRng = Rng.derive(seed, "teams");
  const seen = new Set<string>();
  const newSha = () => {
    for (;;) {
      const s = rng.hex(40);
      if (!seen.has(s)) {
        seen.add(s);
        return s;
      }
    }
  };
  const rows: GitCommitRow[] = [];
  let serviceTimes: number[] = [];
  let serviceShas: string[] = [];
  for (const repo of truth.repositories) {
    const size = c.team_size[0] + teamRng.int(c.team_size[1] - c.team_size[0] + 1);
    const team: Person[] = [];
    while (team.length < size) {
      const p = teamRng.choice(people);
      if (!team.includes(p)) team.push(p);
    }
    const teamWeights = team.map((_, i) => 1 / (i + 1));
    const drafts: CommitDraft[] = [];
    let pr = 100 + teamRng.int(900);
    for (const day of days) {
      const n = repo.is_service
        ? day.serviceCommits
        : rng.poisson(repo.weight * c.other_per_weekday * (day.weekend ? c.weekend_factor : 1));
      for (let k = 0; k < n; k++) {
        const author = team[rng.weightedIndex(teamWeights)];
        const local = rng.weightedIndex(c.local_hour_shape) * HOUR + rng.int(3600) * 1000;
        const committed = day.start + (((local - author.offsetMs) % DAY) + DAY) % DAY;
        const merge = rng.bernoulli(c.merge_share);
        let authored = committed;
        if (!merge && rng.bernoulli(c.rebased_share)) {
          authored = committed - Math.round(rng.exponential(c.rebased_delay_hours_mean * 3600)) * 1000;
        }
        const size = merge ? { files: 0, insertions: 0, deletions: 0 } : commitSize(rng);
        let ref = "";
        const idx = lastAtOrBefore(ticketCreated, committed);
        if (idx >= 0 && rng.bernoulli(c.jira_reference_share)) ref = ticketKeys[Math.max(0, idx - rng.int(300))];
        const message = merge
          ? `Merge pull request #${pr++} from aoma/${ref ? ref.toLowerCase() : "topic"}-${rng.choice(COMMIT_SCOPES)}`
          : `${COMMIT_KINDS[rng.weightedIndex(COMMIT_KIND_WEIGHTS)]}(${rng.choice(COMMIT_SCOPES)}): ${
            rng.choice(COMMIT_PHRASES)
          }${ref ? ` (${ref})` : ""}`;
        drafts.push({ committed, authored, author, merge, ...size, sha: newSha(), message });
      }
    }
    const sorted = sortBy(drafts, (d) => d.committed);
    let previous = newSha(); // the last commit before the quarter
    sorted.forEach((d, i) => {
      const parents = [previous];
      if (d.merge) parents.push(i > 0 && rng.bernoulli(0.5) ? sorted[Math.max(0, i - 1 - rng.int(20))].sha : newSha());
      previous = d.sha;
      rows.push({
        repo: repo.repo,
        sha: d.sha,
        author_name: d.author.name,
        author_email: d.author.email,
        authored_at: iso(d.authored),
        author_tz: d.author.tz,
        committer_name: d.merge ? "GitHub" : d.author.name,
        committer_email: d.merge ? "noreply@github.com" : d.author.email,
        committed_at: iso(d.committed),
        committer_tz: d.merge ? "+0000" : d.author.tz,
        files_changed: d.files,
        insertions: d.insertions,
        deletions: d.deletions,
        is_merge: d.merge,
        parents,
        message: d.message,
      });
    });
    if (repo.is_service) {
      serviceTimes = sorted.map((d) => d.committed);
      serviceShas = sorted.map((d) => d.sha);
    }
  }
  return { rows, serviceTimes, serviceShas };
}

function deploymentRows(
  seed: number,
  days: Day[],
  people: Person[],
  serviceTimes: number[],
  serviceShas: string[],
): DeploymentRow[] {
  const cfg = truth.deployments;
  const rng = Rng.derive(seed, "deployments");
  let [major, minor] = cfg.first_version;
  const rows: DeploymentRow[] = [];
  for (const day of days) {
    if (day.weekend) continue;
    const n = rng.weightedIndex(cfg.per_weekday_weights);
    const times: number[] = [];
    for (let k = 0; k < n; k++) {
      times.push(day.start + cfg.hours_utc[0] * HOUR + rng.int((cfg.hours_utc[1] - cfg.hours_utc[0]) * 3600) * 1000);
    }
    times.sort((a, b) => a - b);
    times.forEach((t, k) => {
      if (k === 0) minor++;
      const version = `v${major}.${minor}.${k}`;
      const idx = lastAtOrBefore(serviceTimes, t);
      rows.push({
        deployment_id: `${cfg.repo}:${version}`,
        repo: cfg.repo,
        environment: "production",
        ref: version,
        sha: idx >= 0 ? serviceShas[idx] : null,
        deployed_at: iso(t),
        status: pickKey(rng, cfg.status_weights),
        raw: {
          pipeline: "github-actions",
          run_id: 880_000 + rows.length,
          triggered_by: rng.choice(people).login,
          duration_s: 120 + rng.int(600),
        },
      });
    });
    if (minor > 99) [major, minor] = [major + 1, 0];
  }
  return rows;
}

// ───────────────────────────── logs and templates ─────────────────────────────

interface LogDraft {
  source: string;
  ts: number;
  level: LogEventRow["level"];
  service: string;
  host: string;
  filled: Filled;
}

function logRows(
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
