/**
 * Which process runs an ingest, and whether a process recorded earlier still lives — so a run
 * left `running` by a killed process can be told from one that is still at work (run.ts).
 *
 * On Linux a process is identified by `<boot id>:<PID namespace>:<pid>:<start time>`: the boot id
 * changes with every boot, the namespace separates containers that share a host name, and the
 * start time (clock ticks since boot, /proc/<pid>/stat) tells a reused pid from the original. A
 * process recorded with the same boot id and namespace as this one is alive exactly when
 * /proc/<pid>/stat exists, is not a zombie, and shows the recorded start time. Anything else (another
 * machine, another container, another OS, a runtime without /proc) cannot be judged here; then
 * only the run's heartbeat tells.
 *
 * @example
 * const me = await thisProcess();        // { host: "build-7", pid: 4242, processId: "3f…:4026531836:4242:918273" }
 * await processGone(row.process_id);     // true only when that process certainly ended
 */

/** The process an ingest run records. */
export interface ProcessIdentity {
  /** Host name, or null when the runtime does not tell. */
  host: string | null;
  /** Process id, or null when the runtime does not tell. */
  pid: number | null;
  /** Linux: boot id, PID namespace, pid and start time; null elsewhere. */
  processId: string | null;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

/** State letter and start time of a process from /proc/<pid>/stat, or null when there is none. */
async function procStat(pid: number | "self"): Promise<{ state: string; start: string } | null> {
  const stat = await readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")"
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields.length > 19 ? { state: fields[0], start: fields[19] } : null;
}

/** "<boot id>:<PID namespace>" of this process, or null without /proc. */
async function namespace(): Promise<string | null> {
  const boot = (await readText("/proc/sys/kernel/random/boot_id"))?.trim();
  let ns: string | null = null;
  try {
    ns = (await Deno.readLink("/proc/self/ns/pid")).replace(/^pid:\[(\d+)\]$/, "$1");
  } catch {
    ns = null;
  }
  return boot && ns ? `${boot}:${ns}` : null;
}

let self: Promise<ProcessIdentity> | null = null;

/** This process (computed once). */
export function thisProcess(): Promise<ProcessIdentity> {
  return self ??= (async () => {
    let host: string | null = null, pid: number | null = null;
    try {
      host = Deno.hostname();
    } catch { /* no permission, or no such API here */ }
    try {
      pid = typeof Deno.pid === "number" ? Deno.pid : null;
    } catch { /* idem */ }
    const ns = await namespace();
    const stat = pid === null || ns === null ? null : await procStat("self");
    return { host, pid, processId: stat ? `${ns}:${pid}:${stat.start}` : null };
  })();
}

/**
 * True when the process `processId` (as thisProcess records it) has certainly ended: it belongs to
 * this machine's boot and PID namespace, and /proc shows no live process with its pid and start
 * time. False when it lives or when that cannot be told from here.
 */
export async function processGone(processId: string | null): Promise<boolean> {
  if (!processId) return false;
  const me = await thisProcess();
  const m = /^(.+):(\d+):(\d+)$/.exec(processId);
  if (!m || !me.processId?.startsWith(`${m[1]}:`)) return false;
  const stat = await procStat(Number(m[2]));
  return stat === null || stat.state === "Z" || stat.state === "X" || stat.start !== m[3];
}
