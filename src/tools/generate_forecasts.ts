/**
 * MCP tool `generate_forecasts`: what comes next for catalog variables — the next periods with
 * conformal intervals, the method each series got and its backtest accuracy next to the
 * seasonal-naive baseline's. Everything numeric comes from SQL: analytics.forecast_feature (the
 * forecasts, sql/61_forecast_api.sql), analytics.feature_history (the recent history drawn beside
 * them) and analytics.feature_catalog, in one read-only transaction as the caller; nothing is
 * written. TypeScript validates, words and draws.
 */
import { z } from "zod";
import { chartContent } from "../charts/content.ts";
import { type ForecastPanel, forecastSpec } from "../charts/forecast.ts";
import { withCaller } from "../db/caller.ts";
import { withSavepoint } from "../db/savepoint.ts";
import type { Executor } from "../db/types.ts";
import { AppError } from "../errors.ts";
import { type ForecastPoint, groupedReasons, type StoredRun, type VariableForecast, writeForecastInsights } from "../insights/forecasts.ts";
import { featureLabel, type Grain, grainAdjective } from "../insights/wording.ts";
import { partFailureNote, toolErrorMessage } from "../mcp/tool_error.ts";
import { ANSWER_FIELDS, writeAnswer } from "./answer.ts";
import { text, toolArguments } from "./args.ts";
import type { Tool, ToolContext, ToolDefinition, ToolResult } from "./types.ts";

// ───────────────────────────── definition (data only) ─────────────────────────────

/** What is forecast when no variable is named: the failure rate and the volumes it follows. */
export const DEFAULT_VARIABLES = ["processing_failure_rate", "asset_volume", "tickets_created", "commits"];

/** Longest horizon per aggregation level (two weeks of hours, a quarter of days, a year of weeks). */
export const MAX_HORIZON = { hourly: 336, daily: 90, weekly: 52 } as const;
const DEFAULT_HORIZON = { hourly: 24, daily: 7, weekly: 4 } as const;
/** History shown in the chart and compared with: at least this many periods. */
const CHART_HISTORY = { hourly: 168, daily: 42, weekly: 52 } as const;

const horizonError = `horizon must be a whole number of periods from 1 to ${MAX_HORIZON.daily} for daily, ` +
  `${MAX_HORIZON.hourly} for hourly or ${MAX_HORIZON.weekly} for weekly forecasts`;
const levelError = "each interval level must be a percentage strictly between 0 and 100 (e.g. 80, 95)";

const inputSchema = toolArguments({
  variables: z.array(text("each variable", { max: 63, noun: "a feature name (text)" }), { error: "variables must be a list of feature names" })
    .min(1, { error: "variables must list at least one name (leave it out for the default set)" })
    .max(50, { error: "variables must list at most 50 names" })
    .optional()
    .describe(`Catalog features to forecast (not calendar ones); default ${DEFAULT_VARIABLES.join(", ")}.`),
  horizon: z.int({ error: horizonError }).min(1, { error: horizonError }).max(MAX_HORIZON.hourly, { error: horizonError }).optional()
    .describe("Periods ahead: default 7 days / 24 hours / 4 weeks; at most 90 days, 336 hours or 52 weeks."),
  aggregationLevel: z.enum(["hourly", "daily", "weekly"], { error: "aggregationLevel must be one of hourly, daily, weekly" }).optional()
    .describe("Period of the series (default daily)."),
  intervalLevels: z.array(z.number({ error: levelError }).gt(0, { error: levelError }).lt(100, { error: levelError }), {
    error: "intervalLevels must be a list of percentages such as [80, 95]",
  })
    .min(1, { error: "intervalLevels must list at least one level" })
    .max(5, { error: "intervalLevels must list at most 5 levels" })
    .refine((l) => new Set(l).size === l.length, { error: "intervalLevels must not repeat a level" })
    .optional()
    .describe("Prediction-interval levels in percent, each in (0, 100); default [80, 95]."),
  history: z.int({ error: "history must be a whole number of periods from 30 to 5000" })
    .min(30, { error: "history must be a whole number of periods from 30 to 5000" })
    .max(5000, { error: "history must be a whole number of periods from 30 to 5000" })
    .optional()
    .describe("Fit on the last `history` periods only; default 730 days, 1,008 hours or 260 weeks (all there is when less)."),
  method: z.enum(["auto", "ets", "seasonal_naive"], { error: "method must be one of auto, ets, seasonal_naive" }).optional()
    .describe("auto (default): the method with the lowest backtest error, the seasonal-naive baseline unless a model beats it; " +
      "ets: exponential smoothing (the form by AICc); seasonal_naive: repeat the last season."),
  includeChart: z.boolean({ error: "includeChart must be true or false" }).optional()
    .describe("Attach the chart of history, forecast and intervals (SVG and PNG); default true."),
  source: z.enum(["computed", "scheduled"], { error: "source must be one of computed, scheduled" }).optional()
    .describe("computed (default): forecast now; scheduled: what the nightly job forecast last (its stored run, " +
      "horizon, levels and method) and how good its stored forecasts have been against the actuals."),
}).superRefine((a, ctx) => {
  if (a.source === "scheduled") {
    const own = (["horizon", "intervalLevels", "history", "method"] as const).filter((k) => a[k] !== undefined);
    if (own.length) {
      ctx.addIssue({
        code: "custom",
        path: [own[0]],
        message: `${own.join(", ")} ${own.length > 1 ? "apply" : "applies"} to computed forecasts only; a scheduled forecast has the job's own`,
      });
    }
  }
  const level = a.aggregationLevel ?? "daily";
  if (a.horizon !== undefined && a.horizon > MAX_HORIZON[level]) {
    ctx.addIssue({ code: "custom", path: ["horizon"], message: horizonError });
  }
});

const num = z.number();
const nullableNumber = z.number().nullable();

const outputSchema = z.object({
  grain: z.enum(["hour", "day", "week"]),
  horizon: z.number().int(),
  levels: z.array(num),
  method: z.enum(["auto", "ets", "seasonal_naive"]),
  lastObserved: z.string().nullable().describe("the last period with data, which the forecasts start after"),
  forecasts: z.array(z.object({
    variable: z.string(),
    description: z.string(),
    unit: z.string(),
    method: z.string().describe("seasonal_naive | ets | seasonal_naive_2 | combination"),
    model: z.string().nullable(),
    backtest: z.object({
      mase: nullableNumber.describe("rolling-origin backtest MASE of the method used"),
      baselineMase: nullableNumber.describe("the seasonal-naive baseline's MASE on the same backtest"),
      beatsBaseline: z.boolean().nullable(),
    }),
    coverage: z.array(z.object({ level: num, backtest: nullableNumber.describe("share of held-out backtest errors inside the interval") })),
    nHistory: z.number().int(),
    recentMean: nullableNumber.describe("mean of the last `horizon` observed periods"),
    points: z.array(z.object({
      period: z.string(),
      step: z.number().int(),
      point: num,
      intervals: z.array(z.object({ level: num, lower: num, upper: num })),
      nErrors: z.number().int().describe("backtest errors this step's intervals rest on"),
    })),
    notes: z.array(z.string()),
    realised: z.object({
      nForecasts: z.number().int(),
      nScored: z.number().int().describe("stored forecasts whose actual is known"),
      mase: nullableNumber.describe("realised MASE over the scored forecasts (all steps)"),
      coverage: z.array(z.object({ level: num, realised: nullableNumber, n: z.number().int() })),
    }).nullable().optional().describe("source scheduled: how good the stored forecasts of this variable have been"),
  })),
  skipped: z.array(z.object({ variable: z.string(), reason: z.string() })),
  source: z.enum(["computed", "scheduled"]),
  stored: z.object({
    runDay: z.string(),
    scheduler: z.string().describe("pg_cron, in-process or manual"),
    madeAt: z.string(),
    job: z.object({
      name: z.string(),
      state: z.string().describe("ok | failed | missed | pending | never | disabled"),
      lastStatus: z.string().nullable(),
      nextRunAt: z.string().nullable(),
      runs30d: z.number().int(),
      failed30d: z.number().int(),
      lastError: z.string().nullable(),
    }),
  }).nullable().describe("source scheduled: the stored run and its job's health"),
  ...ANSWER_FIELDS,
});

/** The data-only definition of generate_forecasts. */
export const definition: ToolDefinition<typeof inputSchema, typeof outputSchema> = {
  name: "generate_forecasts",
  title: "Generate forecasts",
  description: "Forecasts AOMA variables (the processing failure rate, asset volume, ticket inflow, commits, or any catalog feature) " +
    "for the next days, hours or weeks, computed in Postgres on the real data: exponential smoothing (ETS, the form by AICc) or the " +
    "seasonal-naive baseline, whichever had the lower rolling-origin backtest error; conformal 80%/95% intervals (any levels) from the " +
    "backtest errors of each step, with the backtest MASE next to the baseline's and the held-out coverage of each interval. " +
    "Returns the next periods per variable, what to watch, and a chart of history, forecast and intervals. Call with no arguments for " +
    "the next 7 days of the failure rate, asset volume, tickets created and commits.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
  maxArgumentBytes: 16 * 1024,
  narrowing: "forecast fewer variables, a shorter history or a coarser aggregationLevel",
};

export type GenerateForecastsInput = z.output<typeof inputSchema>;
export type GenerateForecastsOutput = z.output<typeof outputSchema>;

// ───────────────────────────── SQL ─────────────────────────────

const FORECAST_SQL = `
  select feature, period, step, point, interval_levels, lower, upper, coverage, n_errors, method_used, model,
         backtest_mase, baseline_mase, n_history, notes
  from analytics.forecast_feature(array(select jsonb_array_elements_text($1::text::jsonb)), $2::text, $3::int,
         array(select jsonb_array_elements_text($4::text::jsonb)::float8), $5::text, $6::int)
  order by feature, step`;

const HISTORY_SQL = `
  select feature, period, value
  from analytics.feature_history(array(select jsonb_array_elements_text($1::text::jsonb)), $2::text, $3::int)`;

const CATALOG_SQL = `select name, unit, description from analytics.feature_catalog where grain = $1`;

// the nightly job's stored forecasts, their scores and the job's health (sql/65_forecast_ledger.sql)
const JOB_SQL = `
  select job_name, state, features, last_status, next_run_at, runs_30d, failed_30d, last_error
  from analytics.forecast_job_health where grain = $1
  order by job_name = 'nightly' desc, job_name limit 1`;

const LATEST_SQL = `
  select feature, run_day::text as run_day, scheduler, made_at, history_end, period, step, point, levels as interval_levels,
         lower, upper, backtest_coverage as coverage, case when recalibrated then realised_errors else n_errors end as n_errors,
         method_used, model, backtest_mase, baseline_mase, n_history, notes
  from analytics.forecast_latest
  where kind = 'job' and job_name = $1 and grain = $2 and feature = any(array(select jsonb_array_elements_text($3::text::jsonb)))
  order by feature, step`;

const SCORES_SQL = `
  select feature, n_forecasts, n_scored, mase, levels, coverage, n_per_level
  from analytics.forecast_scores
  where grain = $1 and step is null and feature = any(array(select jsonb_array_elements_text($2::text::jsonb)))`;

/** One forecast row, computed (analytics.forecast_feature) or stored (analytics.forecast_latest). */
interface ForecastSqlRow {
  feature: string;
  period: Date | string;
  step: number;
  point: number;
  interval_levels: number[];
  lower: (number | null)[];
  upper: (number | null)[];
  coverage: (number | null)[] | null;
  n_errors: number;
  method_used: string;
  model: string | null;
  backtest_mase: number | null;
  baseline_mase: number | null;
  n_history: number;
  notes: string | null;
}

interface StoredSqlRow extends ForecastSqlRow {
  run_day: string;
  scheduler: string;
  made_at: Date | string;
  history_end: Date | string;
}

interface HistoryRow {
  feature: string;
  period: Date | string;
  value: number | null;
}

// ───────────────────────────── handler ─────────────────────────────

const GRAINS: Record<string, Grain> = { hourly: "hour", daily: "day", weekly: "week" };
const CHART_URI = "chart://generate_forecasts/forecast.svg";
/** The chart shows at most this many variables. */
const CHART_VARIABLES = 6;

const iso = (v: Date | string) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());
const nullable = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/**
 * The forecasts of `variables`: one call for all; when it fails, one call each, a variable whose
 * data cannot be forecast skipped with its reason. Unknown names refuse the whole call.
 */
async function forecastRows(
  tx: Executor,
  variables: string[],
  args: [string, number, number[], string, number | null],
  signal?: AbortSignal,
): Promise<{ rows: ForecastSqlRow[]; skipped: { variable: string; reason: string }[] }> {
  const run = (vs: string[]) =>
    withSavepoint(tx, (sp) => sp.query<ForecastSqlRow>(FORECAST_SQL, [JSON.stringify(vs), args[0], args[1], JSON.stringify(args[2]), args[3], args[4]]));
  // names the catalog does not know are the caller's mistake: the whole call is refused with SQL's sentence
  await tx.query(HISTORY_SQL, [JSON.stringify(variables), args[0], 1]);
  try {
    return { rows: await run(variables), skipped: [] };
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    // the work bound is the whole call's: forecasting the variables one by one would do the same work
    if (variables.length === 1 || /^too much work/.test((e as Error)?.message ?? "")) throw e;
  }
  const rows: ForecastSqlRow[] = [];
  const skipped: { variable: string; reason: string }[] = [];
  for (const v of variables) {
    try {
      rows.push(...await run([v]));
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      skipped.push({ variable: v, reason: toolErrorMessage(definition.name, e).replace(/\.$/, "") });
    }
  }
  return { rows, skipped };
}

/** The answer's forecast of one variable from its rows (one per step, in step order). */
function toForecast(
  variable: string,
  rows: ForecastSqlRow[],
  catalog: Map<string, { unit: string; description: string }>,
  recent: (number | null)[],
): VariableForecast {
  const first = rows[0];
  const levels = first.interval_levels.map(Number);
  const mase = nullable(first.backtest_mase), baselineMase = nullable(first.baseline_mase);
  const seen = recent.filter((x): x is number => x !== null);
  const points: ForecastPoint[] = rows.map((r) => ({
    period: iso(r.period),
    step: Number(r.step),
    point: Number(r.point),
    intervals: levels.flatMap((level, i) =>
      r.lower[i] === null || r.upper[i] === null ? [] : [{ level, lower: Number(r.lower[i]), upper: Number(r.upper[i]) }]
    ),
    nErrors: Number(r.n_errors),
  }));
  return {
    variable,
    description: catalog.get(variable)?.description ?? "",
    unit: catalog.get(variable)?.unit ?? "",
    method: first.method_used,
    model: first.model,
    backtest: { mase, baselineMase, beatsBaseline: mase === null || baselineMase === null ? null : mase < baselineMase },
    coverage: levels.map((level, i) => ({ level, backtest: nullable(first.coverage?.[i]) })),
    nHistory: Number(first.n_history),
    recentMean: seen.length ? seen.reduce((s, x) => s + x, 0) / seen.length : null,
    points,
    notes: [...new Set(rows.flatMap((r) => (r.notes ? r.notes.split("; ") : [])))],
  };
}

/** What either source produced: the forecast rows by variable, the history beside them, and the run's settings. */
interface Computed {
  rows: ForecastSqlRow[];
  skipped: { variable: string; reason: string }[];
  variables: string[];
  history: HistoryRow[];
  /** Periods before this one are history (the stored run's history end; null: all). */
  historyEnd: string | null;
  horizon: number;
  levels: number[];
  method: "auto" | "ets" | "seasonal_naive";
  stored: StoredRun | null;
  realised: Map<string, NonNullable<VariableForecast["realised"]>>;
  catalog: { name: string; unit: string; description: string }[];
}

/** The recent history of `variables` (for the chart and the recent mean); a failure is a note. */
async function readHistory(tx: Executor, variables: string[], grain: Grain, periods: number, notes: string[], signal?: AbortSignal): Promise<HistoryRow[]> {
  if (!variables.length) return [];
  try {
    return await withSavepoint(tx, (sp) => sp.query<HistoryRow>(HISTORY_SQL, [JSON.stringify(variables), grain, periods]));
  } catch (e) {
    notes.push(partFailureNote("The recent history", e, signal));
    return [];
  }
}

/** source computed: forecast now. */
function compute(input: GenerateForecastsInput, grain: Grain, notes: string[], ctx: ToolContext): Promise<Computed> {
  const level = input.aggregationLevel ?? "daily";
  const horizon = input.horizon ?? DEFAULT_HORIZON[level];
  const levels = input.intervalLevels ?? [80, 95];
  const method = input.method ?? "auto";
  const variables = [...new Set(input.variables ?? DEFAULT_VARIABLES)];
  return withCaller(ctx.db, ctx.caller, async (tx: Executor) => {
    const { rows, skipped } = await forecastRows(tx, variables, [grain, horizon, levels, method, input.history ?? null], ctx.signal);
    const catalog = await tx.query<{ name: string; unit: string; description: string }>(CATALOG_SQL, [grain]);
    const done = variables.filter((v) => rows.some((r) => r.feature === v));
    const history = await readHistory(tx, done, grain, Math.max(CHART_HISTORY[level], 3 * horizon), notes, ctx.signal);
    return { rows, skipped, variables, history, historyEnd: null, horizon, levels, method, stored: null, realised: new Map(), catalog };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs });
}

/** source scheduled: the job's latest stored run, its scores and the job's health. */
function readStored(input: GenerateForecastsInput, grain: Grain, notes: string[], ctx: ToolContext): Promise<Computed> {
  const level = input.aggregationLevel ?? "daily";
  return withCaller(ctx.db, ctx.caller, async (tx: Executor) => {
    const [job] = await tx.query<{
      job_name: string; state: string; features: string[]; last_status: string | null; next_run_at: Date | string | null;
      runs_30d: number; failed_30d: number; last_error: string | null;
    }>(JOB_SQL, [grain]);
    if (!job) {
      throw new AppError(400, `Cannot run generate_forecasts: no forecast job runs at ${grainAdjective(grain)} grain; ask with source computed.`);
    }
    const variables = [...new Set(input.variables ?? job.features)];
    const rows = await tx.query<StoredSqlRow>(LATEST_SQL, [job.job_name, grain, JSON.stringify(variables)]);
    if (!rows.length) {
      const next = job.next_run_at ? `; its next run is at ${iso(job.next_run_at).slice(0, 16).replace("T", " ")} UTC` : "";
      throw new AppError(
        400,
        `Cannot run generate_forecasts: the ${job.job_name} job has stored no ${grainAdjective(grain)} forecast of ` +
          `${variables.join(", ")} yet (job state ${job.state}${next}); ask with source computed, or run analytics.run_forecast_job() as service_role.`,
      );
    }
    // the latest run of each variable; a variable the job does not forecast is skipped
    const latest = rows.reduce((a, r) => (iso(r.made_at) > iso(a.made_at) ? r : a));
    const skipped = variables.filter((v) => !rows.some((r) => r.feature === v))
      .map((v) => ({ variable: v, reason: `the ${job.job_name} job stores no forecast of it` }));
    const scores = await tx.query<{ feature: string; n_forecasts: number; n_scored: number; mase: number | null; levels: number[] | null; coverage: number[] | null; n_per_level: number[] | null }>(
      SCORES_SQL,
      [grain, JSON.stringify(variables)],
    );
    const realised = new Map(scores.map((r) => [r.feature, {
      nForecasts: Number(r.n_forecasts),
      nScored: Number(r.n_scored),
      mase: nullable(r.mase),
      coverage: (r.levels ?? []).map((l, i) => ({ level: Number(l), realised: nullable(r.coverage?.[i]), n: Number(r.n_per_level?.[i] ?? 0) })),
    }]));
    const catalog = await tx.query<{ name: string; unit: string; description: string }>(CATALOG_SQL, [grain]);
    const done = variables.filter((v) => rows.some((r) => r.feature === v));
    const historyEnd = iso(latest.history_end);
    const horizon = Math.max(...rows.map((r) => Number(r.step)));
    // enough periods to reach back from now past the run's history end
    const since = Math.ceil((Date.now() - Date.parse(historyEnd)) / ({ hour: 3_600_000, day: 86_400_000, week: 604_800_000 }[grain]));
    const history = await readHistory(tx, done, grain, Math.min(10_000, Math.max(CHART_HISTORY[level], 3 * horizon) + Math.max(0, since)), notes, ctx.signal);
    const stored: StoredRun = {
      runDay: latest.run_day,
      scheduler: latest.scheduler,
      madeAt: iso(latest.made_at),
      job: {
        name: job.job_name,
        state: job.state,
        lastStatus: job.last_status,
        nextRunAt: job.next_run_at ? iso(job.next_run_at) : null,
        runs30d: Number(job.runs_30d),
        failed30d: Number(job.failed_30d),
        lastError: job.last_error,
      },
    };
    const method = (["auto", "ets", "seasonal_naive"] as const).find((m) => m === latest.method_used) ?? "auto";
    return {
      rows, skipped, variables, history, historyEnd, horizon, levels: latest.interval_levels.map(Number), method, stored, realised, catalog,
    };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs });
}

/**
 * Forecasts `input.variables` as `ctx.caller` (source computed), or reads what the nightly job
 * stored and how good it has been (source scheduled).
 *
 * @example
 * const result = await handler({}, { db, caller: { role: "authenticated", claims: {} } });
 * result.structuredContent.forecasts[0].points[0]; // the next day of the processing failure rate
 */
export async function handler(input: GenerateForecastsInput, ctx: ToolContext): Promise<ToolResult<typeof outputSchema>> {
  const level = input.aggregationLevel ?? "daily";
  const grain = GRAINS[level];
  const source = input.source ?? "computed";
  const includeChart = input.includeChart ?? true;
  const notes: string[] = [];
  const data = source === "scheduled" ? await readStored(input, grain, notes, ctx) : await compute(input, grain, notes, ctx);

  const catalog = new Map(data.catalog.map((c) => [c.name, c]));
  const before = (h: HistoryRow) => data.historyEnd === null || iso(h.period) < data.historyEnd;
  const forecasts = data.variables.flatMap((v) => {
    const rows = data.rows.filter((r) => r.feature === v);
    if (!rows.length) return [];
    const past = data.history.filter((h) => h.feature === v && before(h)).map((h) => nullable(h.value));
    return [{ ...toForecast(v, rows, catalog, past.slice(-data.horizon)), ...(data.stored ? { realised: data.realised.get(v) ?? null } : {}) }];
  });
  if (!forecasts.length) throw new AppError(400, `Cannot run generate_forecasts: ${groupedReasons(data.skipped)}.`);
  const report = {
    grain,
    horizon: data.horizon,
    levels: data.levels,
    method: data.method,
    lastObserved: data.historyEnd
      ? new Date(Date.parse(data.historyEnd) - { hour: 3_600_000, day: 86_400_000, week: 604_800_000 }[grain]).toISOString()
      : data.history.map((h) => iso(h.period)).sort().at(-1) ?? null,
    forecasts,
    skipped: data.skipped,
    source,
    stored: data.stored,
  };
  const insights = writeForecastInsights(report);

  let chart = null;
  if (includeChart) {
    const shown = Math.max(CHART_HISTORY[level], 3 * data.horizon);
    const panels: ForecastPanel[] = forecasts.slice(0, CHART_VARIABLES).map((f) => {
      const past = data.history.filter((h) => h.feature === f.variable);
      const cut = past.filter(before).length;
      return {
        title: `${featureLabel(f.variable)} (${f.variable}${f.unit ? `, ${f.unit}` : ""})`,
        history: past.slice(Math.max(0, cut - shown)).map((h) => ({ period: iso(h.period), value: nullable(h.value) })),
        forecast: f.points.map((p) => ({ period: p.period, point: p.point, bands: p.intervals })),
      };
    });
    const title = data.stored
      ? `Stored forecast of ${data.stored.runDay} (${data.stored.scheduler}) with what happened since, ${grainAdjective(grain)}`
      : `Forecast, next ${data.horizon} ${grain}s (${grainAdjective(grain)} data)`;
    const spec = forecastSpec(title, panels);
    chart = {
      spec,
      rendered: chartContent(spec, CHART_URI),
      caption: `history${data.stored ? " (with the actuals since the run)" : ""}, forecast and the ${data.levels.map((l) => `${l}%`).join("/")} intervals of ` +
        `${panels.length === forecasts.length ? "every variable" : `the first ${panels.length} variables`}.`,
    };
  }
  return await writeAnswer({
    lines: insights.lines,
    chart,
    notes,
    structured: {
      ...report,
      summary: insights.summary,
      keyFindings: insights.keyFindings,
      recommendations: insights.recommendations,
    },
  });
}

export const generateForecasts: Tool<typeof inputSchema, typeof outputSchema> = { definition, handler };
