/**
 * What every benchmark shares (not a benchmark itself): its command-line flags and appending its
 * result section to bench/RESULTS.md.
 *
 * @example
 * const args = benchArgs();           // --sizes 1000,2000 --write → Map { sizes: "1000,2000", write: "true" }
 * if (args.has("write")) await appendResults(table);
 */

/** `--name value` and bare `--flag` (= "true") from Deno.args. */
export function benchArgs(argv: string[] = Deno.args): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith("--")) args.set(a.slice(2), argv[i + 1]?.startsWith("--") ? "true" : argv[++i] ?? "true");
  }
  return args;
}

/** Appends one result section to bench/RESULTS.md (creating it with its header when missing). */
export async function appendResults(section: string): Promise<void> {
  const path = new URL("./RESULTS.md", import.meta.url);
  let prev: string;
  try {
    prev = await Deno.readTextFile(path);
  } catch {
    prev = "# Benchmark results\n\nRun on demand; each section is one run, newest last.\n\n";
  }
  await Deno.writeTextFile(path, prev + section + "\n");
}
