/**
 * Recommendations by explicit rules. Each rule looks at one finding an analysis made (a cause, an
 * error template, a deployment before a change, a weekday effect, a threshold driver with today's
 * value) and, when its condition holds, says what to do, naming the finding it rests on and the
 * live value that triggered it. No finding, no recommendation: nothing here invents advice.
 *
 * @example
 * const recs = causeRecommendations(causes, "processing_failures");
 * recs[0]; // { rule: "legacy-cohort", text: "Finish migrating …", finding: "…", trigger: "…" }
 */
import type { Cause } from "./root_cause.ts";
import { percent } from "./root_cause.ts";
import { formatCount, formatP } from "./wording.ts";

/** One recommendation and why it was made. */
export interface Recommendation {
  /** The rule that fired (stable id). */
  rule: string;
  /** What to do. */
  text: string;
  /** The finding it rests on. */
  finding: string;
  /** The live value that triggered it. */
  trigger: string;
}

/** The catalog feature a monitor watches for each root-cause target. */
const MONITOR_FEATURE: Record<string, string> = { processing_failures: "processing_failures", incidents: "failure_count", log_errors: "log_errors" };

/** The rules on root causes (perform_root_cause_analysis, analyze_failure_patterns). */
export function causeRecommendations(causes: Cause[], target: string): Recommendation[] {
  const out: Recommendation[] = [];
  for (const c of causes) {
    const rates = c.windowRate && c.baselineRate ? `${percent(c.windowRate.estimate)} now against ${percent(c.baselineRate.estimate)}` : "";
    const q = c.qValue !== null ? formatP("q", c.qValue) : "";
    const finding = `cause ${c.causeRank}: ${c.label} (${[rates, q].filter(Boolean).join(", ")})`;
    const all = { ...c.segment, ...Object.fromEntries(c.alsoAll.map((v) => ["upload_cohort", v])) } as Record<string, string>;
    if (all.migration_state === "legacy" || all.migration_state === "migrating") {
      out.push({
        rule: "legacy-cohort",
        text: `Finish the cloud migration of the ${c.label} assets, or route them to the legacy pipeline until it is done: ` +
          `${formatCount(c.windowFailures)} of their ${formatCount(c.windowUnits)} attempts failed in the window.`,
        finding,
        trigger: `${formatCount(c.windowUnits)} attempts of the segment in the window, migration state ${all.migration_state}`,
      });
    }
    const before = Object.values(all).find((v) => /^uploaded before /.test(v));
    if (before) {
      out.push({
        rule: "upload-cohort",
        text: `Re-process or migrate the assets ${before.replace(/^uploaded /, "uploaded ")} that are still waiting: that cohort carries this rise.`,
        finding,
        trigger: `cohort "${before}"`,
      });
    }
    const t = c.templates[0];
    if (
      t?.template && t.windowShare !== null && t.windowShare.estimate >= 0.5 && t.qValue !== null && t.qValue < 0.05 &&
      (t.baselineFailures === 0 || (t.change?.estimate ?? 0) >= 3)
    ) {
      out.push({
        rule: "error-template",
        text: `Fix the error "${t.template}": ${percent(t.windowShare.estimate)} of this cause's failures in the window` +
          `${t.segmentFirstSeen ? `, seen in it since ${t.segmentFirstSeen.slice(0, 10)}` : ""}.`,
        finding,
        trigger: `${formatCount(t.windowFailures)} window failures with the template against ${formatCount(t.baselineFailures)} in the baseline, ` +
          formatP("q", t.qValue),
      });
    }
    // a deployment before the change counts only when the cause's error pattern is new with it: deployments are
    // frequent, and one that merely preceded a change is no finding
    const d = c.changesBefore?.deployments ?? [];
    const newPattern = !!t?.template && (t.windowShare?.estimate ?? 0) >= 0.5 && t.baselineFailures === 0;
    if (c.changedOn && d.length && newPattern) {
      const last = d[d.length - 1];
      out.push({
        rule: "deploy-before-change",
        text: `Review the deployment ${last.repo ?? ""} ${last.detail ?? ""} (${last.at.slice(0, 16).replace("T", " ")} UTC)`.replace(/\s+/g, " ") +
          `: the rate of ${c.label} changed on ${c.changedOn.day}, within 48 h after it (the latest deployment before that day).`,
        finding,
        trigger: `${d.length} deployment${d.length > 1 ? "s" : ""} in the 48 h before ${c.changedOn.day}`,
      });
    }
    if (all.recent_deploy === "a deploy in the prior 48 h") {
      out.push({
        rule: "deploy-window",
        text: "Gate deployments with a canary and an automatic rollback: failures rose in the 48 h after deployments.",
        finding,
        trigger: `${formatCount(c.windowFailures)} failures within 48 h of a deployment in the window`,
      });
    }
    const commits = Object.values(all).find((v) => /^more than \d+ service commits in the prior 24 h$/.test(v));
    if (commits) {
      out.push({
        rule: "commit-burst",
        text: "Batch service changes behind a release train or a canary: failures rose after days with many service commits " +
          `(${commits}).`,
        finding,
        trigger: `${formatCount(c.windowFailures)} failures of attempts with ${commits} in the window`,
      });
    }
    out.push({
      rule: "monitor-cause",
      text: `Watch it: register a monitor with create_anomaly_detection on ${MONITOR_FEATURE[target] ?? "processing_failures"}` +
        `${target === "processing_failures" ? ` filtered to ${JSON.stringify(pickFilter(c.segment))}` : ""} so a relapse is caught the day it starts.`,
      finding,
      trigger: `cause ${c.causeRank} found now`,
    });
  }
  return out;
}

/** The part of a segment a monitor can filter on (asset type and migration state). */
export function pickFilter(segment: Record<string, string>): Record<string, string> {
  const f: Record<string, string> = {};
  if (segment.asset_type) f.assetType = segment.asset_type;
  if (segment.migration_state) f.migrationState = segment.migration_state;
  return f;
}
