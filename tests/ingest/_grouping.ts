/**
 * Grouping accuracy of a template miner on a labelled log sample (the measure of the log-parsing
 * benchmarks, Zhu et al., ICSE-SEIP 2019): a line counts as correct when the set of lines in its
 * mined group equals the set of lines of its true event. Used by tests/ingest/log_formats_test.ts.
 *
 * @example
 * groupingAccuracy(["E1", "E1", "E2"], ["a", "a", "b"]); // 1
 * groupingAccuracy(["E1", "E1", "E2"], ["a", "a", "a"]); // 0   (E1's lines share a group with E2's)
 * groupingAccuracy(["E1", "E1", "E2"], ["a", "b", "c"]); // 1/3 (only E2's line is grouped right)
 */
import { LogLineParser, type LogParseOptions } from "../../src/ingest/logs.ts";
import type { MaskOptions } from "../../src/ingest/mask.ts";
import { TemplateMiner } from "../../src/ingest/templates.ts";

/**
 * Share of lines whose mined group holds exactly the lines of their true group. `truth[i]` and
 * `mined[i]` are the true event and the mined group of line i (any labels; only equality counts).
 */
export function groupingAccuracy(truth: readonly unknown[], mined: readonly unknown[]): number {
  if (truth.length !== mined.length) throw new Error(`${truth.length} true labels for ${mined.length} mined ones`);
  if (truth.length === 0) return 1;
  const minedSize = new Map<unknown, number>();
  for (const m of mined) minedSize.set(m, (minedSize.get(m) ?? 0) + 1);
  // per true event: its size, and the one mined group of all its lines (null once they differ)
  const events = new Map<unknown, { n: number; group: unknown; one: boolean }>();
  truth.forEach((e, i) => {
    const g = events.get(e);
    if (!g) events.set(e, { n: 1, group: mined[i], one: true });
    else {
      g.n++;
      if (g.group !== mined[i]) g.one = false;
    }
  });
  let correct = 0;
  for (const g of events.values()) if (g.one && minedSize.get(g.group) === g.n) correct += g.n;
  return correct / truth.length;
}

/** A labelled sample of tests/ingest/testdata/logs (written by make_samples.ts). */
export interface Sample {
  lines: string[];
  /** True event id of each line. */
  events: string[];
  /** Event id → its true template. */
  templates: Map<string, string>;
}

const DATA = new URL("./testdata/logs/", import.meta.url);

/** Reads `<name>.log`, `<name>.events` and `<name>.templates`. */
export async function readSample(name: string): Promise<Sample> {
  const read = async (ext: string) => (await Deno.readTextFile(new URL(`${name}.${ext}`, DATA))).replace(/\n$/, "").split("\n");
  const [lines, events, templates] = await Promise.all([read("log"), read("events"), read("templates")]);
  return { lines, events, templates: new Map(templates.map((l) => l.split("\t") as [string, string])) };
}

/** What a miner made of a sample: the final template of each line, and the lines it rejected. */
export interface Mining {
  templates: string[];
  rejections: { line: number; reason: string }[];
}

/**
 * Parses every line of `sample` as the ingest does (LogLineParser with `opts`) and mines its
 * message with a fresh TemplateMiner (masking with `mask`); each line's group is its cluster's final template.
 */
export function mineSample(sample: Sample, opts: LogParseOptions, mask: MaskOptions = {}): Mining {
  const parser = new LogLineParser(opts);
  const miner = new TemplateMiner({}, mask);
  const mined = [];
  const rejections: { line: number; reason: string }[] = [];
  for (const [i, text] of sample.lines.entries()) {
    const r = parser.parse(text, i + 1);
    if (r === null || "reason" in r) {
      rejections.push(r ?? { line: i + 1, reason: "blank" });
      mined.push(null);
    } else mined.push(miner.mine(r.message));
  }
  return { templates: mined.map((m) => (m ? miner.resolve(m).template : "")), rejections };
}
