/**
 * Words for analytics.explain_drivers: the drivers of a daily failure count or rate found
 * together, each as a threshold with a rate ratio ("asset volume the previous day ≥ 1,194 files:
 * failure rate ×2.83, 95% CI 2.55 to 3.14, q < 0.001"). Numbers come from SQL; this only words them.
 */
import { featureLabel, formatCount, formatP, lagPhrase } from "./wording.ts";

export interface DriverRow {
  feature: string;
  description: string;
  unit: string;
  lag: number;
  threshold: number | null;
  below: number | null;
  daysHigh: number | null;
  n: number;
  rateRatio: number | null;
  ci: [number | null, number | null];
  z: number | null;
  p: number | null;
  q: number | null;
  inModel: boolean;
  significant: boolean;
  note: string;
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? formatCount(v) : v.toLocaleString("en-US", { maximumSignificantDigits: 4 });
}

function ratio(v: number): string {
  return v.toFixed(2);
}

/** "asset volume the previous day ≥ 1,194 files/day" or "Mondays". */
export function driverCondition(d: DriverRow): string {
  if (/^is_/.test(d.feature)) return d.threshold === 1 ? featureLabel(d.feature) : `not ${featureLabel(d.feature)}`;
  const unit = d.unit.replace(/\/day$/, "");
  return `${featureLabel(d.feature)} ${lagPhrase(d.lag, "day")} ≥ ${formatValue(d.threshold!)}${unit ? ` ${unit}` : ""}`;
}

/** One finding: condition, rate ratio with its interval, days, q. */
export function driverFinding(d: DriverRow, noun: string): string {
  const [lo, hi] = d.ci;
  return `${driverCondition(d)} (${formatCount(d.daysHigh ?? 0)} of ${formatCount(d.n)} days): ${noun} ×${ratio(d.rateRatio!)} ` +
    `(95% CI ${ratio(lo!)} to ${ratio(hi!)}), ${formatP("q", d.q!)}`;
}

/** The text block of the driver model, or a one-line "nothing significant". */
export function writeDriverInsights(drivers: DriverRow[], noun: string): { findings: string[]; text: string[] } {
  const sig = drivers.filter((d) => d.significant && d.rateRatio !== null && d.ci[0] !== null);
  const findings = sig.map((d) => driverFinding(d, noun));
  const n = drivers[0]?.n ?? 0;
  if (!findings.length) {
    return {
      findings,
      text: [`🎯 DRIVERS TOGETHER: no threshold driver with q < 0.05 over ${formatCount(drivers.length)} candidates and ${formatCount(n)} days.`],
    };
  }
  return {
    findings,
    text: [
      `🎯 DRIVERS TOGETHER (each given the others; quasi-Poisson model of the daily ${noun.replace(/^the /, "")}, ${formatCount(n)} days, ${formatCount(drivers.length)} candidates, thresholds found from the data):`,
      ...findings.map((f) => `• ${f}`),
    ],
  };
}
