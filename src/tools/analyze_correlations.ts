/**
 * MCP tool `analyze_correlations`: which features move with a target (system failures by default),
 * at which lag, how strongly and how surely. Everything numeric comes from SQL:
 * analytics.correlate (the tests), analytics.data_coverage ("based on …"), analytics.feature_catalog
 * (descriptions, units) and analytics.correlation_matrix (the chart), all in one read-only
 * transaction as the caller. TypeScript validates, words and draws.
 */
import { z } from "zod";
import type { ForestRow } from "../charts/correlation_forest.ts";
import type { MatrixCell } from "../charts/correlation_matrix.ts";
import { correlationReportSpec } from "../charts/correlation_report.ts";
import { chartContent } from "../charts/content.ts";
import { withCaller } from "../db/caller.ts";
import { withSavepoint } from "../db/savepoint.ts";
import type { Executor } from "../db/types.ts";
import { partFailureNote } from "../mcp/tool_error.ts";
import { type CorrelationRow, Q_THRESHOLD, targetNoun, writeCorrelationInsights } from "../insights/correlations.ts";
import { grainAdjective, type Grain } from "../insights/wording.ts";
import { type DriverRow, writeDriverInsights } from "../insights/drivers.ts";
import { checkRangeHasData, dateRange, text, toolArguments, utcDay } from "./args.ts";
import { ANSWER_FIELDS, writeAnswer } from "./answer.ts";
import type { Tool, ToolContext, ToolDefinition, ToolResult } from "./types.ts";

// ───────────────────────────── definition (data only) ─────────────────────────────

const NAME_MAX = 63;

const featureName = (what: string) => text(what, { max: NAME_MAX, noun: "a feature name (text)" });

/** The failure measure analysed when no target is named (the same default as analytics.correlate). */
export const DEFAULT_TARGET = "processing_failure_rate";

const inputSchema = toolArguments({
  targetVariable: featureName("targetVariable").optional()
    .describe("Catalog feature to explain (default processing_failure_rate: share of asset-processing attempts that failed; failure_count counts system failures/incidents)."),
  features: z.array(featureName("each feature"), { error: "features must be a list of feature names" })
    .min(1, { error: "features must list at least one name (leave it out to test every driver)" })
    .max(100, { error: "features must list at most 100 names" })
    .optional()
    .describe("Catalog features to test; default every driver and calendar feature of the grain."),
  maxLag: z.int({ error: "maxLag must be a whole number from 0 to 30" })
    .min(0, { error: "maxLag must be a whole number from 0 to 30" })
    .max(30, { error: "maxLag must be a whole number from 0 to 30" })
    .optional()
    .describe("Test each feature at lags 0..maxLag periods before the target (default 1)."),
  timeRange: dateRange("timeRange", {
    start: "First target day (inclusive), ISO date; a date-time counts as its UTC day.",
    end: "Last target day (inclusive), ISO date; a date-time counts as its UTC day.",
  })
    .optional()
    .describe("Period of the target to analyse; default all data."),
  aggregationLevel: z.enum(["hourly", "daily", "weekly"], { error: "aggregationLevel must be one of hourly, daily, weekly" })
    .optional()
    .describe("Period of the feature views (default daily)."),
  adjust: z.enum(["seasonal", "none"], { error: "adjust must be one of seasonal, none" }).optional()
    .describe("seasonal (default): test every non-calendar feature after removing the weekday pattern " +
      "(weekday × hour of day for hourly data) from both series, so a shared weekly rhythm is not reported " +
      "as a driver; none: plain correlations."),
  includeChart: z.boolean({ error: "includeChart must be true or false" }).optional()
    .describe("Attach the correlation-matrix heatmap (SVG and PNG); default true."),
});

const nullableNumber = z.number().nullable();

const outputSchema = z.object({
  target: z.string(),
  grain: z.enum(["hour", "day", "week"]),
  period: z.object({ start: z.string().nullable(), end: z.string().nullable() }),
  dataSources: z.object({
    tickets: z.number().int(),
    commits: z.number().int(),
    days: z.number().int(),
    processingAttempts: z.number().int(),
    incidents: z.number().int(),
    logEvents: z.number().int(),
    deployments: z.number().int(),
    metricSamples: z.number().int(),
  }),
  testsRun: z.number().int(),
  results: z.array(z.object({
    feature: z.string(),
    description: z.string(),
    unit: z.string(),
    kind: z.string(),
    lag: z.number().int(),
    n: z.number().int(),
    pearson: z.object({ r: nullableNumber, p: nullableNumber, ci: z.tuple([nullableNumber, nullableNumber]) }),
    spearman: z.object({ rho: nullableNumber, p: nullableNumber, q: nullableNumber }),
    q: nullableNumber.describe("Benjamini–Hochberg q-value of the Pearson test"),
    rank: z.number().int(),
    significant: z.boolean().describe(`q < ${Q_THRESHOLD}`),
    note: z.string().nullable(),
    adjustedFor: z.string().nullable()
      .describe("weekday (or weekday and hour-of-day): a partial correlation after removing that pattern; null: plain"),
  })),
  drivers: z.array(z.object({
    feature: z.string(),
    description: z.string(),
    unit: z.string(),
    lag: z.number().int(),
    threshold: nullableNumber.describe("the step is feature ≥ threshold"),
    below: nullableNumber.describe("largest value under the threshold"),
    daysHigh: z.number().int().nullable(),
    n: z.number().int(),
    rateRatio: nullableNumber.describe("target rate at or above the threshold relative to below, given the other terms"),
    ci: z.tuple([nullableNumber, nullableNumber]),
    z: nullableNumber,
    p: nullableNumber.describe("score test given the other selected terms, adjusted for the threshold search"),
    q: nullableNumber.describe("Benjamini–Hochberg q over all candidates"),
    inModel: z.boolean(),
    significant: z.boolean().describe(`q < ${Q_THRESHOLD}`),
    note: z.string(),
  })).describe("Threshold drivers found together (analytics.explain_drivers); empty when the target or grain has no driver model"),
  ...ANSWER_FIELDS,
});

/** The data-only definition of analyze_correlations. */
export const definition: ToolDefinition<typeof inputSchema, typeof outputSchema> = {
  name: "analyze_correlations",
  title: "Analyze correlations",
  description: "Finds what moves with the AOMA processing failure rate (or another target such as failure_count): " +
    "Pearson and Spearman correlations of every driver at lags 0..maxLag (adjusted for the weekly pattern by default), with n, p-values, 95% confidence intervals and " +
    "Benjamini–Hochberg q-values, computed in Postgres on the real data; for daily failure counts and rates also the drivers " +
    "found together as thresholds with rate ratios (\"×2.8 after days with asset volume ≥ 1,194\", each given the others). Returns an executive summary, " +
    "key findings (q < 0.05 only), recommendations, the full results table and a correlation-matrix " +
    "heatmap. Call with no arguments for the processing failure rate vs every daily driver.",
  inputSchema,
  outputSchema,
  annotations: { readOnlyHint: true, openWorldHint: false, destructiveHint: false, idempotentHint: true },
  maxArgumentBytes: 64 * 1024,
  narrowing: "narrow timeRange, list fewer features, lower maxLag or use a coarser aggregationLevel",
};

export type AnalyzeCorrelationsInput = z.output<typeof inputSchema>;
export type AnalyzeCorrelationsOutput = z.output<typeof outputSchema>;

// ───────────────────────────── SQL ─────────────────────────────

// Lists travel as JSON text ($n::text::jsonb): postgres.js would encode a string bound to a jsonb
// parameter as a JSON string scalar, PGlite would not; text is read the same by both.
const CORRELATE_SQL = `
  select feature, lag, n, pearson_r, pearson_p, pearson_ci_low, pearson_ci_high,
         spearman_rho, spearman_p, pearson_q, spearman_q, rank, note, adjusted_for
  from analytics.correlate($1::text,
         case when $2::text is null then null else array(select jsonb_array_elements_text($2::text::jsonb)) end,
         $3::int, $4::date, $5::date, $6::text, $7::text)
  order by rank`;

const COVERAGE_SQL = `
  select source, rows::float8 as rows,
         to_char(first_at at time zone 'UTC', 'YYYY-MM-DD') as first_day,
         to_char(last_at at time zone 'UTC', 'YYYY-MM-DD') as last_day
  from analytics.data_coverage($1::date, $2::date)`;

// the driver model (sql/50_drivers.sql): daily grain, count or rate targets, driver/calendar candidates
const DRIVERS_SQL = `
  select feature, lag, threshold, below, days_high, n, rate_ratio, ci_low, ci_high, z, p_value, q_value, in_model, note
  from analytics.explain_drivers($1::text,
         case when $2::text is null then null else array(select jsonb_array_elements_text($2::text::jsonb)) end,
         $3::int, $4::date, $5::date)
  order by rank`;

interface DriverSqlRow {
  feature: string;
  lag: number;
  threshold: number | null;
  below: number | null;
  days_high: number | null;
  n: number;
  rate_ratio: number | null;
  ci_low: number | null;
  ci_high: number | null;
  z: number | null;
  p_value: number | null;
  q_value: number | null;
  in_model: boolean;
  note: string;
}

const CATALOG_SQL = `select name, kind, unit, description from analytics.feature_catalog where grain = $1`;

const MATRIX_SQL = `
  select x, y, n, r from analytics.correlation_matrix(array(select jsonb_array_elements_text($1::text::jsonb)),
                                                      $2::date, $3::date, $4::text)`;

interface CorrelateRow {
  feature: string;
  lag: number;
  n: number;
  pearson_r: number | null;
  pearson_p: number | null;
  pearson_ci_low: number | null;
  pearson_ci_high: number | null;
  spearman_rho: number | null;
  spearman_p: number | null;
  pearson_q: number | null;
  spearman_q: number | null;
  rank: number;
  note: string | null;
  adjusted_for: string | null;
}

// ───────────────────────────── handler ─────────────────────────────

const GRAINS: Record<string, Grain> = { hourly: "hour", daily: "day", weekly: "week" };
/** The chart shows the target and at most this many top features (correlation_matrix takes ≤ 12). */
const CHART_FEATURES = 8;
/** The forest plot shows at most this many top-ranked tests. */
const CHART_TESTS = 12;
const CHART_URI = "chart://analyze_correlations/matrix.svg";

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The result rows of the answer: analytics.correlate's rows with the catalog's words. */
function toResults(rows: CorrelateRow[], catalog: Map<string, { kind: string; unit: string; description: string }>): CorrelationRow[] {
  return rows.map((r) => {
    const q = num(r.pearson_q);
    const c = catalog.get(r.feature);
    return {
      feature: r.feature,
      description: c?.description ?? "",
      unit: c?.unit ?? "",
      kind: c?.kind ?? "",
      lag: Number(r.lag),
      n: Number(r.n),
      pearson: { r: num(r.pearson_r), p: num(r.pearson_p), ci: [num(r.pearson_ci_low), num(r.pearson_ci_high)] },
      spearman: { rho: num(r.spearman_rho), p: num(r.spearman_p), q: num(r.spearman_q) },
      q,
      rank: Number(r.rank),
      significant: q !== null && q < Q_THRESHOLD,
      note: r.note,
      adjustedFor: r.adjusted_for,
    };
  });
}

/** The Vega-Lite spec of the answer's chart: the top tests with their intervals, and the matrix. */
function chartSpec(
  results: CorrelationRow[],
  matrix: { variables: string[]; cells: MatrixCell[] },
  target: string,
  grain: Grain,
): Record<string, unknown> {
  const forest: ForestRow[] = results
    .filter((r) => r.pearson.r !== null && r.pearson.ci[0] !== null && r.pearson.ci[1] !== null)
    .slice(0, CHART_TESTS)
    .map((r) => ({
      label: r.kind === "calendar" ? r.feature : `${r.feature} (lag ${r.lag})`,
      r: r.pearson.r!,
      lo: r.pearson.ci[0]!,
      hi: r.pearson.ci[1]!,
      n: r.n,
      q: r.q,
      significant: r.significant,
    }));
  return correlationReportSpec({
    title: `What moves with ${targetNoun(target)} (${target}), ${grainAdjective(grain)}`,
    forest,
    forestTitle: `Top ${forest.length} tests by rank: Pearson r with 95% CI (lag in ${grain}s)`,
    cells: matrix.cells,
    variables: matrix.variables,
    matrixTitle: `Correlation matrix, same ${grain} (lag 0): ${target} and its top ${matrix.variables.length - 1} features`,
  });
}

/**
 * Runs the analysis for `input` as `ctx.caller`.
 *
 * @example
 * const result = await handler({}, { db, caller: { role: "authenticated", claims: {} } });
 * result.structuredContent.results[0]; // the top-ranked (feature, lag)
 */
export async function handler(
  input: AnalyzeCorrelationsInput,
  ctx: ToolContext,
): Promise<ToolResult<typeof outputSchema>> {
  const target = input.targetVariable ?? DEFAULT_TARGET;
  const grain = GRAINS[input.aggregationLevel ?? "daily"];
  const maxLag = input.maxLag ?? 1;
  const from = input.timeRange?.start ? utcDay(input.timeRange.start) : null;
  const to = input.timeRange?.end ? utcDay(input.timeRange.end) : null;
  const includeChart = input.includeChart ?? true;
  const notes: string[] = [];

  const data = await withCaller(ctx.db, ctx.caller, async (tx: Executor) => {
    await checkRangeHasData(tx, definition.name, "timeRange", from, to);
    const rows = await tx.query<CorrelateRow>(CORRELATE_SQL, [
      target,
      input.features ? JSON.stringify(input.features) : null,
      maxLag,
      from,
      to,
      grain,
      input.adjust ?? "seasonal",
    ]);
    const catalog = await tx.query<{ name: string; kind: string; unit: string; description: string }>(CATALOG_SQL, [grain]);
    let matrix: { variables: string[]; cells: MatrixCell[] } | null = null;
    let chart: { spec: Record<string, unknown>; rendered: ReturnType<typeof chartContent> } | null = null;
    if (includeChart) {
      const top: string[] = [];
      for (const r of rows) {
        if (r.pearson_r !== null && r.feature !== target && !top.includes(r.feature)) top.push(r.feature);
        if (top.length === CHART_FEATURES) break;
      }
      if (top.length > 0) {
        const variables = [target, ...top];
        // a failing chart must not abort the transaction the answer was read in
        try {
          const cells = await withSavepoint(tx, (sp) => sp.query<MatrixCell>(MATRIX_SQL, [JSON.stringify(variables), from, to, grain]));
          matrix = { variables, cells: cells.map((c) => ({ x: c.x, y: c.y, n: Number(c.n), r: num(c.r) })) };
          // the chart renders on its worker while the database counts the coverage and fits the drivers
          const spec = chartSpec(toResults(rows, new Map(catalog.map((c) => [c.name, c]))), matrix, target, grain);
          chart = { spec, rendered: chartContent(spec, CHART_URI) };
        } catch (e) {
          notes.push(partFailureNote("The correlation matrix", e, ctx.signal));
        }
      }
    }
    // while the chart renders on its worker: the coverage counts, then the driver model
    const coverage = await tx.query<{ source: string; rows: number; first_day: string | null; last_day: string | null }>(
      COVERAGE_SQL,
      [from, to],
    );
    // drivers together: only for daily count/rate targets; any refusal becomes a note, not an error
    let drivers: DriverSqlRow[] | null = null;
    if (grain === "day") {
      const kinds = new Map(catalog.map((c) => [c.name, c.kind]));
      const candidates = input.features?.filter((f) => kinds.get(f) === "driver" || kinds.get(f) === "calendar");
      if (!candidates || candidates.length) {
        try {
          drivers = await withSavepoint(tx, (sp) =>
            sp.query<DriverSqlRow>(DRIVERS_SQL, [
              target,
              candidates ? JSON.stringify(candidates) : null,
              Math.min(maxLag, 7),
              from,
              to,
            ]));
        } catch (e) {
          notes.push(partFailureNote("No driver model", e, ctx.signal));
        }
      }
    } else {
      notes.push("The driver model (thresholds found together) runs on daily data only; ask with aggregationLevel daily.");
    }
    return { rows, coverage, catalog, matrix, drivers, chart };
  }, { signal: ctx.signal, statementTimeoutMs: ctx.deadlineMs });

  const catalog = new Map(data.catalog.map((c) => [c.name, c]));
  const cov = new Map(data.coverage.map((c) => [c.source, c]));
  const count = (source: string) => Math.round(Number(cov.get(source)?.rows ?? 0));
  const results = toResults(data.rows, catalog);
  const drivers: DriverRow[] = (data.drivers ?? []).map((d) => {
    const c = catalog.get(d.feature);
    const q = num(d.q_value);
    return {
      feature: d.feature,
      description: c?.description ?? "",
      unit: c?.unit ?? "",
      lag: Number(d.lag),
      threshold: num(d.threshold),
      below: num(d.below),
      daysHigh: d.days_high === null ? null : Number(d.days_high),
      n: Number(d.n),
      rateRatio: num(d.rate_ratio),
      ci: [num(d.ci_low), num(d.ci_high)],
      z: num(d.z),
      p: num(d.p_value),
      q,
      inModel: d.in_model,
      significant: q !== null && q < Q_THRESHOLD,
      note: d.note,
    };
  });
  const days = cov.get("days");
  const report = {
    target,
    grain,
    period: { start: days?.first_day ?? null, end: days?.last_day ?? null },
    dataSources: {
      tickets: count("jira_issues"),
      commits: count("git_commits"),
      days: count("days"),
      processingAttempts: count("processing_attempts"),
      incidents: count("incidents"),
      logEvents: count("log_events"),
      deployments: count("deployments"),
      metricSamples: count("aoma_system_metrics"),
    },
    testsRun: results.length,
    results,
  };
  const insights = writeCorrelationInsights(report);

  const driverWords = data.drivers ? writeDriverInsights(drivers, targetNoun(target)) : null;
  const [head, ...rest] = insights.text.split("\n");
  return await writeAnswer({
    lines: [head, ...(driverWords ? ["", ...driverWords.text] : []), ...rest],
    chart: data.chart && {
      ...data.chart,
      caption: `the top tests with their 95% intervals, and the correlation matrix of ${target} ` +
        `and its top ${data.matrix!.variables.length - 1} features (same-${grain} Pearson r).`,
    },
    notes,
    structured: {
      ...report,
      summary: insights.summary,
      keyFindings: [...(driverWords?.findings ?? []), ...insights.keyFindings],
      drivers,
      recommendations: insights.recommendations,
    },
  });
}

/** analyze_correlations: definition + handler, as src/tools/index.ts lists it. */
export const analyzeCorrelations: Tool<typeof inputSchema, typeof outputSchema> = { definition, handler };
