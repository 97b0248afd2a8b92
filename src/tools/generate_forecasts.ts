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
import { type ForecastPoint, groupedReasons, type VariableForecast, writeForecastInsights } from "../insights/forecasts.ts";
import { featureLabel, type Grain, grainAdjective } from "../insights/wording.ts";
import { partFailureNote, toolErrorMessage } from "../mcp/tool_error.ts";
import { writeAnswer } from "./answer.ts";
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
}).superRefine((a, ctx) => {
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
  })),
  skipped: z.array(z.object({ variable: z.string(), reason: z.string() })),
  summary: z.string(),
  keyFindings: z.array(z.string()),
  recommendations: z.array(z.string()),
  chart: z.object({ vegaLite: z.record(z.string(), z.unknown()) }).optional(),
  notes: z.array(z.string()),
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

// ───────────────────────────── handler ─────────────────────────────

const GRAINS: Record<string, Grain> = { hourly: "hour", daily: "day", weekly: "week" };
const CHART_URI = "chart://generate_forecasts/forecast.svg";
/** The chart shows at most this many variables. */
const CHART_VARIABLES = 6;

const iso = (v: Date | string) => (v instanceof Date ? v.toISOString() : new Date(v).toISOString());
const nullable = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The forecasts of `variables`: one call for all; when it fails, one call each, a failing one skipped with its reason. */
async function forecastRows(
  tx: Executor,
  variables: string[],
  args: [string, number, number[], string, number | null],
  signal?: AbortSignal,
): Promise<{ rows: ForecastSqlRow[]; skipped: { variable: string; reason: string }[] }> {
  const run = (vs: string[]) =>
    withSavepoint(tx, (sp) => sp.query<ForecastSqlRow>(FORECAST_SQL, [JSON.stringify(vs), args[0], args[1], JSON.stringify(args[2]), args[3], args[4]]));
  try {
    return { rows: await run(variables), skipped: [] };
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    if (variables.length === 1) throw e;
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

/** The answer's forecast of one variable from its SQL rows (one per step, in step order). */
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

/**
 * Forecasts `input.variables` as `ctx.caller`.
 *
 * @example
 * const result = await handler({}, { db, caller: { role: "authenticated", claims: {} } });
 * result.structuredContent.forecasts[0].points[0]; // the next day of the processing failure rate
 */
export async function handler(input: GenerateForecastsInput, ctx: ToolContext): Promise<ToolResult<typeof outputSchema>> {
  const level = input.aggregationLevel ?? "daily";
  const grain = GRAINS[level];
  const horizon = input.horizon ?? DEFAULT_HORIZON[level];
  const levels = input.intervalLevels ?? [80, 95];
  const method = input.method ?? "auto";
  const variables = [...new Set(input.variables ?? DEFAULT_VARIABLES)];
  const includeChart = input.includeChart ?? true;
  const notes: string[] = [];

  const data = await withCaller(ctx.db, ctx.caller, async (tx: Executor) => {
    const { rows, skipped } = await forecastRows(tx, variables, [grain, horizon, levels, method, input.history ?? null], ctx.signal);
    const catalog = await tx.query<{ name: string; unit: string; description: string }>(CATALOG_SQL, [grain]);
    const done = variables.filter((v) => rows.some((r) => r.feature === v));
    let history: { feature: string; period: Date | string; value: number | null }[] = [];
    if (done.length) {
      try {
        history = await withSavepoint(tx, (sp) =>
          sp.query(HISTORY_SQL, [JSON.stringify(done), grain, Math.max(CHART_HISTORY[level], 3 * horizon)]));
      } catch (e) {
        notes.push(partFailureNote("The recent history", e, ctx.signal));
      }
    }
    return { rows, skipped, catalog, history };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs });

  const catalog = new Map(data.catalog.map((c) => [c.name, c]));
  const forecasts = variables.flatMap((v) => {
    const rows = data.rows.filter((r) => r.feature === v);
    if (!rows.length) return [];
    const past = data.history.filter((h) => h.feature === v).map((h) => nullable(h.value));
    return [toForecast(v, rows, catalog, past.slice(-horizon))];
  });
  if (!forecasts.length) throw new AppError(400, `Cannot run generate_forecasts: ${groupedReasons(data.skipped)}.`);
  const report = {
    grain,
    horizon,
    levels,
    method,
    lastObserved: data.history.map((h) => iso(h.period)).sort().at(-1) ?? null,
    forecasts,
    skipped: data.skipped,
  };
  const insights = writeForecastInsights(report);

  let chart = null;
  if (includeChart) {
    const panels: ForecastPanel[] = forecasts.slice(0, CHART_VARIABLES).map((f) => ({
      title: `${featureLabel(f.variable)} (${f.variable}${f.unit ? `, ${f.unit}` : ""})`,
      history: data.history.filter((h) => h.feature === f.variable).map((h) => ({ period: iso(h.period), value: nullable(h.value) })),
      forecast: f.points.map((p) => ({ period: p.period, point: p.point, bands: p.intervals })),
    }));
    const spec = forecastSpec(`Forecast, next ${horizon} ${grain}s (${grainAdjective(grain)} data)`, panels);
    chart = {
      spec,
      rendered: chartContent(spec, CHART_URI),
      caption: `history, forecast and the ${levels.map((l) => `${l}%`).join("/")} intervals of ` +
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

/** generate_forecasts: definition + handler, as src/tools/index.ts lists it. */
export const generateForecasts: Tool<typeof inputSchema, typeof outputSchema> = { definition, handler };
