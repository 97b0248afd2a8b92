/**
 * MCP tool `create_anomaly_detection`: finds what is out of line in a catalog metric — on demand
 * over any window, and, for service_role, by registering a monitor that the monitor job
 * (pg_cron every 15 minutes, or the in-process schedule on PGlite) scores as data arrives. The
 * scores, bands and events come from SQL (sql/80_anomaly.sql, sql/81_anomaly_monitors.sql):
 * analytics.detect_anomalies / detect_anomaly_events as the caller, analytics.create_anomaly_monitor
 * and the monitors' stored events (analytics.anomaly_monitor_events). TypeScript validates, words
 * and draws.
 */
import { z } from "zod";
import { anomalySpec } from "../charts/anomaly.ts";
import { chartContent } from "../charts/content.ts";
import { withCaller } from "../db/caller.ts";
import { withSavepoint } from "../db/savepoint.ts";
import type { Executor } from "../db/types.ts";
import { AppError } from "../errors.ts";
import { featureLabel } from "../insights/wording.ts";
import { partFailureNote } from "../mcp/tool_error.ts";
import { ANSWER_FIELDS, writeAnswer } from "./answer.ts";
import { dateRange, text, toolArguments, utcDay } from "./args.ts";
import type { Tool, ToolContext, ToolDefinition, ToolResult } from "./types.ts";

// ───────────────────────────── definition (data only) ─────────────────────────────

const GRAINS = { hourly: "hour", daily: "day", weekly: "week" } as const;
const sensitivityError = "sensitivity must be a number from 0.001 to 0.999 (higher flags more; default 0.5)";

const inputSchema = toolArguments({
  metric: text("metric", { max: 63, noun: "a feature name (text)" }).optional()
    .describe("Catalog feature to watch (default processing_failures), e.g. processing_failure_rate, asset_volume, log_errors."),
  aggregationLevel: z.enum(["hourly", "daily", "weekly"], { error: "aggregationLevel must be one of hourly, daily, weekly" }).optional()
    .describe("Period of the series (default daily)."),
  window: dateRange("window", { start: "First day shown (default: the last 28 periods).", end: "Last day (default: the last with data)." })
    .optional().describe("The periods to score and show; the baseline is read from before them."),
  sensitivity: z.number({ error: sensitivityError }).min(0.001, { error: sensitivityError }).max(0.999, { error: sensitivityError }).optional()
    .describe("0.001 to 0.999; a point is anomalous when its robust z (or its excess past the history's range) reaches 2 / sensitivity (0.5 → 4). Default 0.5."),
  direction: z.enum(["up", "down", "both"], { error: "direction must be one of up, down, both" }).optional()
    .describe("Which side is anomalous (default both)."),
  season: z.int({ error: "season must be a whole number of periods from 0 to 1000" }).min(0, { error: "season must be a whole number of periods from 0 to 1000" })
    .max(1000, { error: "season must be a whole number of periods from 0 to 1000" }).optional()
    .describe("Seasonal period in periods (default 7 for daily, 24 for hourly, 0 for weekly)."),
  filter: z.strictObject({
    assetType: text("filter.assetType", { max: 100 }).optional(),
    migrationState: z.enum(["legacy", "migrating", "migrated", "unknown"], { error: "filter.migrationState must be one of legacy, migrating, migrated, unknown" }).optional(),
  }, { error: "filter accepts only assetType and migrationState" }).optional()
    .describe("Only these assets (processing_attempts, processing_failures, processing_failure_rate at daily grain)."),
  register: z.strictObject({
    name: text("register.name", { max: 63 }),
  }, { error: "register must be an object {name}" }).optional()
    .describe("Also register a monitor with this name (lower-case letters, digits, _) that the monitor job scores as data arrives. service_role only."),
  includeChart: z.boolean({ error: "includeChart must be true or false" }).optional().describe("Attach the chart (default true)."),
});

const nullableNumber = z.number().nullable();
const outputSchema = z.object({
  metric: z.string(),
  grain: z.enum(["hour", "day", "week"]),
  filter: z.object({ assetType: z.string().nullable(), migrationState: z.string().nullable() }),
  sensitivity: z.number(),
  threshold: z.number().describe("robust z (or range excess, in the same units) at or above which a point is anomalous: 2 / sensitivity (analytics.anomaly_threshold)"),
  rangeShare: z.number().describe("once 288 periods exist, the share of the history's range a value must pass it by: threshold / 80"),
  direction: z.enum(["up", "down", "both"]),
  points: z.array(z.object({
    period: z.string(),
    value: nullableNumber,
    expected: nullableNumber,
    lower: nullableNumber,
    upper: nullableNumber,
    score: nullableNumber.describe("in [0, 1]; null in warm-up or for a gap"),
    anomalous: z.boolean(),
    event: z.number().int().nullable(),
  })),
  events: z.array(z.object({
    event: z.number().int(),
    started: z.string(),
    ended: z.string(),
    peak: z.string(),
    peakValue: nullableNumber,
    peakExpected: nullableNumber,
    peakScore: z.number(),
    points: z.number().int(),
    direction: z.string(),
    severity: z.enum(["low", "medium", "high"]),
  })),
  monitor: z.object({
    name: z.string(),
    created: z.boolean().describe("false: a monitor with these settings was already registered"),
    season: z.number().int(),
    history: z.number().int(),
  }).nullable(),
  monitors: z.array(z.object({
    name: z.string(),
    feature: z.string(),
    grain: z.string(),
    assetType: z.string().nullable(),
    migrationState: z.string().nullable(),
    enabled: z.boolean(),
    lastRunAt: z.string().nullable(),
    lastStatus: z.string().nullable(),
    storedEvents: z.number().int(),
    latestEvent: z.object({ started: z.string(), ended: z.string(), severity: z.string(), peakScore: z.number() }).nullable(),
  })).describe("every registered monitor, its last run and its latest stored event"),
  ...ANSWER_FIELDS,
});

/** The data-only definition of create_anomaly_detection. */
export const definition: ToolDefinition<typeof inputSchema, typeof outputSchema> = {
  name: "create_anomaly_detection",
  title: "Create anomaly detection",
  description: "Finds anomalies in an AOMA metric (processing failures or the failure rate — optionally of one asset type and migration " +
    "state — asset volume, log errors, tickets, commits or any catalog feature), computed in Postgres: each period against a seasonal, " +
    "robust baseline from the periods before it (rolling median level + same-slot median offset, a robust scale), a score in [0, 1], " +
    "consecutive anomalies grouped into events with start, end, peak and severity. Answers on demand for any window; with register " +
    "(service_role) also registers a monitor that the monitor job scores as new data arrives (pg_cron every 15 minutes, or in-process " +
    "on the embedded database) into analytics.anomalies. Lists the registered monitors and their latest events.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: false, openWorldHint: false, destructiveHint: false, idempotentHint: true },
  maxArgumentBytes: 4 * 1024,
  narrowing: "use a shorter window or a coarser aggregationLevel",
};

export type AnomalyInput = z.output<typeof inputSchema>;

// ───────────────────────────── SQL ─────────────────────────────

const ARGS = "$1::text, $2::text, $3::date, $4::date, $5::float8, $6::text, $7::int, null::int, $8::text, $9::text";
const POINTS_SQL = `select period, value, expected, lower, upper, score, anomalous, event from analytics.detect_anomalies(${ARGS})`;
const EVENTS_SQL = `select * from analytics.detect_anomaly_events(${ARGS})`;
const THRESHOLD_SQL = "select z_cut, range_share from analytics.anomaly_threshold($1::float8)";
const REGISTER_SQL = `select * from analytics.create_anomaly_monitor($1::text, $2::text, $3::text, $4::float8, $5::text, $6::int, $7::text, $8::text)`;
const MONITORS_SQL = `
  select m.monitor_name, m.feature, m.grain, m.asset_type, m.migration_state, m.enabled,
         r.started_at as last_run_at, r.status as last_status,
         (select count(*) from analytics.anomaly_monitor_events e where e.monitor_name = m.monitor_name)::int as stored_events,
         e.started, e.ended, e.severity, e.peak_score
  from analytics.anomaly_monitors m
  left join lateral (select x.started_at, x.status from analytics.anomaly_monitor_runs x where x.monitor_name = m.monitor_name
                     order by x.started_at desc limit 1) r on true
  left join lateral (select y.started, y.ended, y.severity, y.peak_score from analytics.anomaly_monitor_events y
                     where y.monitor_name = m.monitor_name order by y.started desc limit 1) e on true
  order by m.monitor_name limit 100`;

// deno-lint-ignore no-explicit-any
type Row = Record<string, any>;
const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const fmt = (x: number | null) => (x === null ? "—" : Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : Number(x.toPrecision(3)).toString());

// ───────────────────────────── handler ─────────────────────────────

/**
 * Detects anomalies in `input.metric` as `ctx.caller`; with `register`, registers a monitor first
 * (service_role only: any other caller gets a sentence saying so, and nothing is written).
 *
 * @example
 * const r = await handler({ metric: "processing_failures", filter: { assetType: "360RA", migrationState: "legacy" } }, ctx);
 * r.structuredContent.events[0].started; // the first day of the planted rise
 */
export async function handler(input: AnomalyInput, ctx: ToolContext): Promise<ToolResult<typeof outputSchema>> {
  const metric = input.metric ?? "processing_failures";
  const grain = GRAINS[input.aggregationLevel ?? "daily"];
  const sensitivity = input.sensitivity ?? 0.5;
  const direction = input.direction ?? "both";
  const assetType = input.filter?.assetType ?? null;
  const migrationState = input.filter?.migrationState ?? null;
  const notes: string[] = [];
  if (input.register && ctx.caller.role !== "service_role") {
    throw new AppError(
      403,
      `Cannot run create_anomaly_detection: registering a monitor writes analytics.anomaly_monitors and is allowed to service_role only ` +
        `(this caller is ${ctx.caller.role}); leave out register to detect on demand.`,
    );
  }
  const args = [
    metric, grain, input.window?.start ? utcDay(input.window.start) : null, input.window?.end ? utcDay(input.window.end) : null,
    sensitivity, direction, input.season ?? null, assetType, migrationState,
  ];
  const data = await withCaller(ctx.db, ctx.caller, async (tx: Executor) => {
    let monitor: Row | null = null;
    if (input.register) {
      [monitor] = await tx.query<Row>(REGISTER_SQL, [input.register.name, metric, grain, sensitivity, direction, input.season ?? null, assetType, migrationState]);
    }
    const points = await tx.query<Row>(POINTS_SQL, args);
    const [threshold] = await tx.query<Row>(THRESHOLD_SQL, [sensitivity]);
    let events: Row[] = [];
    try {
      events = await withSavepoint(tx, (sp) => sp.query<Row>(EVENTS_SQL, args));
    } catch (e) {
      notes.push(partFailureNote("The events", e, ctx.signal));
    }
    let monitors: Row[] = [];
    try {
      monitors = await withSavepoint(tx, (sp) => sp.query<Row>(MONITORS_SQL));
    } catch (e) {
      notes.push(partFailureNote("The registered monitors", e, ctx.signal));
    }
    return { monitor, points, threshold, events, monitors };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs, readOnly: !input.register });

  const points = data.points.map((p) => ({
    period: iso(p.period), value: num(p.value), expected: num(p.expected), lower: num(p.lower), upper: num(p.upper),
    score: num(p.score), anomalous: !!p.anomalous, event: num(p.event),
  }));
  const events = data.events.map((e) => ({
    event: Number(e.event), started: iso(e.started), ended: iso(e.ended), peak: iso(e.peak), peakValue: num(e.peak_value),
    peakExpected: num(e.peak_expected), peakScore: Number(e.peak_score), points: Number(e.points), direction: String(e.event_direction),
    severity: e.severity as "low" | "medium" | "high",
  }));
  const monitors = data.monitors.map((m) => ({
    name: m.monitor_name, feature: m.feature, grain: m.grain, assetType: m.asset_type, migrationState: m.migration_state, enabled: !!m.enabled,
    lastRunAt: m.last_run_at ? iso(m.last_run_at) : null, lastStatus: m.last_status, storedEvents: Number(m.stored_events),
    latestEvent: m.started ? { started: iso(m.started), ended: iso(m.ended), severity: m.severity, peakScore: Number(m.peak_score) } : null,
  }));
  const monitor = data.monitor
    ? { name: data.monitor.name, created: !!data.monitor.created, season: Number(data.monitor.season_used), history: Number(data.monitor.history_used) }
    : null;

  const zCut = Number(data.threshold.z_cut);
  const rangeShare = Number(data.threshold.range_share);
  const what = `${featureLabel(metric)}${assetType || migrationState ? ` of ${[assetType, migrationState].filter(Boolean).join(" ")} assets` : ""}`;
  const day = (s: string) => (grain === "hour" ? s.slice(0, 16).replace("T", " ") : s.slice(0, 10));
  const scored = points.filter((p) => p.score !== null);
  const anomalous = points.filter((p) => p.anomalous);
  const lines = [
    "🚨 ANOMALY DETECTION COMPLETE",
    "",
    `📊 ${what.toUpperCase()} (${grain === "hour" ? "hourly" : grain === "day" ? "daily" : "weekly"}, ${points.length ? `${day(points[0].period)} to ${day(points[points.length - 1].period)}` : "no periods"}):`,
    `- ${scored.length} periods scored against a seasonal robust baseline from the periods before each; ${anomalous.length} anomalous ` +
    `(robust z ≥ ${zCut.toFixed(2)}, or past the history's range by ${(rangeShare * 100).toFixed(1)}% of it once 288 periods exist; ` +
    `sensitivity ${sensitivity}, ${direction === "both" ? "either direction" : direction})`,
  ];
  if (scored.length < points.length) lines.push(`- ${points.length - scored.length} periods not scored (warm-up or no value)`);
  const keyFindings: string[] = [];
  if (events.length) {
    lines.push("", `⚠️ EVENTS (${events.length}):`);
    for (const e of events) {
      const line = `${e.severity.toUpperCase()} ${e.direction} ${day(e.started)}${e.ended !== e.started ? ` to ${day(e.ended)}` : ""}: peak ${fmt(e.peakValue)} ` +
        `on ${day(e.peak)} against ${fmt(e.peakExpected)} expected (score ${e.peakScore.toFixed(3)}, ${e.points} anomalous period${e.points > 1 ? "s" : ""})`;
      lines.push(`- ${line}`);
      keyFindings.push(`${what}: ${line}.`);
    }
  } else {
    lines.push("", "✅ No anomaly in these periods at this sensitivity.");
    keyFindings.push(`${what}: no anomaly in ${scored.length} periods scored.`);
  }
  const last = scored[scored.length - 1];
  if (last) {
    lines.push("", `📈 LATEST: ${day(last.period)} ${fmt(last.value)} against ${fmt(last.expected)} expected (band ${fmt(last.lower)}–${fmt(last.upper)}, score ${last.score!.toFixed(3)})`);
  }
  if (monitor) {
    lines.push("", monitor.created
      ? `🛰️ MONITOR "${monitor.name}" registered: the monitor job scores each new ${grain} of ${what} and stores anomalies in analytics.anomalies (season ${monitor.season}, ${monitor.history} periods of history).`
      : `🛰️ MONITOR "${monitor.name}" was already registered with these settings; nothing changed.`);
  }
  if (monitors.length) {
    lines.push("", `🛰️ MONITORS (${monitors.length}): ` + monitors.slice(0, 5).map((m) =>
      `${m.name} (${m.feature}${m.assetType || m.migrationState ? ` ${[m.assetType, m.migrationState].filter(Boolean).join("/")}` : ""}: ` +
      `${m.storedEvents} event${m.storedEvents === 1 ? "" : "s"} stored${m.latestEvent ? `, latest ${day(m.latestEvent.started)} ${m.latestEvent.severity}` : ""}` +
      `${m.lastRunAt ? `; last run ${m.lastStatus}` : "; not run yet"})`
    ).join("; "));
  }
  const recommendations: string[] = [];
  const live = events.filter((e) => last && e.ended === last.period);
  for (const e of live) {
    recommendations.push(`Investigate now: the ${e.severity} ${e.direction} event of ${what} is still going on at ${day(e.ended)} ` +
      `(peak score ${e.peakScore.toFixed(3)}); perform_root_cause_analysis explains which cohort carries it.`);
  }
  if (events.length && !monitor && !monitors.some((m) => m.feature === metric && m.assetType === assetType && m.migrationState === migrationState)) {
    recommendations.push(`Register a monitor (register: {name}) as service_role so the next ${events[events.length - 1].direction} event of ${what} is caught as the data arrives.`);
  }
  if (recommendations.length) lines.push("", "💡 RECOMMENDATIONS (each from an event above):", ...recommendations.map((r) => `- ${r}`));
  lines.push("", `🧪 METHOD: sql/80_anomaly.sql (causal: each period against the periods before it: rolling-median level, same-slot ` +
    `median offset, a scale from the recent residuals' upper quantile, and the history's range); score = 1 − two-sided t(3) tail; ` +
    `one alert per incident (events); severity high ≥ 0.999, medium ≥ 0.99.`);

  let chart = null;
  if ((input.includeChart ?? true) && points.length) {
    const spec = anomalySpec(`${what}: value, expected, band and anomalies`, featureLabel(metric), points, events);
    chart = { spec, rendered: chartContent(spec, "chart://create_anomaly_detection/anomalies.svg"), caption: "the series, its expected value and band, anomalies and events." };
  }
  const summary = events.length
    ? `${events.length} anomaly event${events.length > 1 ? "s" : ""} in ${what}; the largest peaks at score ${Math.max(...events.map((e) => e.peakScore)).toFixed(3)}.`
    : `No anomaly in ${what} over ${scored.length} periods at sensitivity ${sensitivity}.`;
  return await writeAnswer({
    lines,
    chart,
    notes,
    structured: {
      metric, grain, filter: { assetType, migrationState }, sensitivity, threshold: zCut, rangeShare, direction,
      points, events, monitor, monitors, summary, keyFindings, recommendations,
    },
  });
}

export const createAnomalyDetection: Tool<typeof inputSchema, typeof outputSchema> = { definition, handler };
