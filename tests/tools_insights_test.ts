/**
 * The insight writer of analyze_correlations (src/insights/): lag wording, number formatting, and
 * the three honest outcomes — significant drivers, none significant, not enough data — written
 * only from the numbers given.
 */
import assert from "node:assert/strict";
import { type CorrelationReport, type CorrelationRow, writeCorrelationInsights } from "../src/insights/correlations.ts";
import { featureLabel, formatCi, formatP, formatR, lagPhrase, leadPhrase } from "../src/insights/wording.ts";

Deno.test("lag wording per grain", () => {
  assert.equal(lagPhrase(0, "day"), "the same day");
  assert.equal(lagPhrase(1, "day"), "the previous day");
  assert.equal(lagPhrase(3, "day"), "3 days earlier");
  assert.equal(lagPhrase(0, "hour"), "the same hour");
  assert.equal(lagPhrase(1, "hour"), "the previous hour");
  assert.equal(lagPhrase(24, "hour"), "24 hours earlier");
  assert.equal(lagPhrase(1, "week"), "the previous week");
  assert.equal(lagPhrase(2, "week"), "2 weeks earlier");
  assert.equal(leadPhrase(1, "day"), "one day later");
  assert.equal(leadPhrase(2, "week"), "2 weeks later");
});

Deno.test("number and label formatting", () => {
  assert.equal(formatR(0.6149), "0.61");
  assert.equal(formatR(-0.315), "\u22120.32");
  assert.equal(formatR(-0.001), "0.00");
  assert.equal(formatCi(0.45, 0.731), "95% CI 0.45 to 0.73");
  assert.equal(formatP("q", 0.0002), "q < 0.001");
  assert.equal(formatP("q", 0.0042), "q = 0.0042");
  assert.equal(formatP("q", 0.0377), "q = 0.038");
  assert.equal(formatP("q", 0.0497), "q = 0.0497", "never rounds a significant q up to 0.05");
  assert.equal(formatP("q", 0.04996), "q = 0.04996");
  assert.equal(formatP("q", 0.0501), "q = 0.05");
  assert.equal(formatP("q", 0.26), "q = 0.26");
  assert.equal(formatP("q", 0.951), "q = 0.95");
  assert.equal(featureLabel("asset_volume"), "asset volume");
  assert.equal(featureLabel("is_monday"), "Mondays");
  assert.equal(featureLabel("is_weekend"), "weekends");
  assert.equal(featureLabel("processing_time_avg"), "average processing time");
  assert.equal(featureLabel("tickets_priority_high"), "high-priority tickets");
});

function row(feature: string, lag: number, r: number | null, q: number | null, rank: number, extra: Partial<CorrelationRow> = {}): CorrelationRow {
  return {
    feature,
    description: feature,
    unit: "x/day",
    kind: feature.startsWith("is_") ? "calendar" : "driver",
    lag,
    n: 89,
    pearson: { r, p: q === null ? null : q / 2, ci: r === null ? [null, null] : [r - 0.15, r + 0.12] },
    spearman: { rho: r, p: q === null ? null : q / 2, q },
    q,
    rank,
    significant: q !== null && q < 0.05,
    note: null,
    adjustedFor: null,
    ...extra,
  };
}

function report(results: CorrelationRow[]): CorrelationReport {
  return {
    target: "failure_count",
    grain: "day",
    period: { start: "2026-08-26", end: "2026-11-23" },
    dataSources: { tickets: 6012, commits: 15118, days: 90, processingAttempts: 41999, incidents: 350, logEvents: 29394 },
    testsRun: results.length,
    results,
  };
}

Deno.test("significant drivers: headline, findings one per feature, recommendations, caveat", () => {
  const out = writeCorrelationInsights(report([
    row("asset_volume", 1, 0.61, 0.0004, 1),
    row("is_monday", 0, 0.43, 0.001, 2, { n: 90 }),
    row("asset_volume", 0, 0.35, 0.02, 3),
    row("commits", 1, -0.32, 0.04, 4),
    row("churn", 0, 0.1, 0.6, 5),
  ]));
  assert.equal(
    out.summary,
    "Strongest driver: asset volume the previous day, r = 0.61 (95% CI 0.46 to 0.73), Spearman \u03c1 = 0.61, n = 89, q < 0.001; more asset volume \u2192 more failures.",
  );
  assert.equal(out.keyFindings.length, 3, "asset_volume appears once, churn is not significant");
  assert.equal(out.keyFindings[1], "Mondays: r = 0.43 (95% CI 0.28 to 0.55), Spearman \u03c1 = 0.43, n = 90, q = 0.001; Mondays \u2192 more failures.");
  assert.match(out.keyFindings[2], /^commits the previous day: r = \u22120\.32 .*more commits \u2192 fewer failures\.$/);
  assert.match(out.recommendations[0], /^Treat high asset volume as an early warning: it precedes more failures one day later \(r = 0\.61\)/);
  assert.match(out.recommendations[1], /^Plan for Mondays/);
  assert.match(out.recommendations[2], /^Find out why commits the previous day is linked to fewer failures/);
  assert.match(out.recommendations.at(-1)!, /not proof of cause/);
  assert.ok(out.text.includes("Based on 6,012 Jira tickets, 15,118 git commits, 41,999 processing attempts, 350 incidents and 90 days of data (2026-08-26 to 2026-11-23): 5 tests"));
  assert.ok(out.text.includes("📈 KEY FINDINGS:\n• Strongest driver: asset volume the previous day"));
});

Deno.test("nothing significant: says so plainly, no findings invented", () => {
  const out = writeCorrelationInsights(report([
    row("tickets_created", 0, 0.25, 0.26, 1, { n: 90 }),
    row("commits", 1, -0.2, 0.4, 2),
    row("is_friday", 0, null, null, 3, { note: "constant: no variation in is_friday" }),
  ]));
  assert.deepEqual(out.keyFindings, []);
  assert.equal(
    out.summary,
    "No driver is statistically significant at q < 0.05 over 3 tests; the strongest candidate, tickets created the same day, has r = 0.25 (95% CI 0.10 to 0.37), Spearman \u03c1 = 0.25, n = 90, q = 0.26.",
  );
  assert.match(out.recommendations[0], /^Do not act on any single driver yet/);
  assert.ok(out.text.includes("• Not testable: is_friday (constant: no variation in is_friday)."));
  assert.doesNotMatch(out.text, /KEY FINDINGS/);
});

Deno.test("not enough data: says that, with the reason SQL gave", () => {
  const out = writeCorrelationInsights(report([
    row("asset_volume", 0, null, null, 1, { n: 2, note: "not enough data (n=2; need at least 4)" }),
  ]));
  assert.equal(out.summary, "Not enough data to correlate anything with failures (n=2; need at least 4).");
  assert.deepEqual(out.keyFindings, []);
  assert.match(out.text, /⚠️ Not enough data/);
});

Deno.test("nothing to test: says why instead of blaming the data", () => {
  const out = writeCorrelationInsights(report([]));
  assert.match(out.summary, /^Nothing to test: the chosen features leave no \(feature, lag\) pair to correlate with failures/);
  assert.deepEqual(out.keyFindings, []);
});
