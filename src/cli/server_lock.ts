/**
 * Who holds the embedded database. PGlite is single-process: while `npm start` serves a PGlite
 * folder, no other process may open it. `npm start` writes `<dir>.server.json` (its pid and URL)
 * next to the folder and removes it on a clean stop; the CLI reads it before opening the folder.
 * A lock whose process is gone (a crash, kill -9) is stale and ignored.
 *
 * @example
 * const holder = await serverHoldingPglite(".data/pglite");
 * if (holder) throw new Error(`npm start (pid ${holder.pid}) serves it at ${holder.url}`);
 */

/** What the lock file says. */
export interface ServerLock {
  pid: number;
  /** Origin of the running gateway, e.g. http://127.0.0.1:54321. */
  url: string;
}

/** Path of the lock file of PGlite folder `dir`. */
export function lockPath(dir: string): string {
  return `${dir.replace(/\/+$/, "")}.server.json`;
}

/** Records that this process serves `dir` at `url`. */
export async function writeServerLock(dir: string, url: string): Promise<void> {
  await Deno.writeTextFile(lockPath(dir), JSON.stringify({ pid: Deno.pid, url } satisfies ServerLock) + "\n");
}

/** Removes the lock when it is this process's own (synchronous: it runs while exiting). */
export function removeServerLock(dir: string): void {
  try {
    const lock = JSON.parse(Deno.readTextFileSync(lockPath(dir))) as ServerLock;
    if (lock.pid === Deno.pid) Deno.removeSync(lockPath(dir));
  } catch {
    // no lock or not readable: nothing to remove
  }
}

/** True when `pid` runs (a Deno process, so a recycled pid of something else does not count). */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes("deno");
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    return true; // no /proc (macOS): assume alive; better refuse than corrupt the folder
  }
}

/** The live server holding `dir`, or null (no lock, or the lock of a process that is gone). */
export async function serverHoldingPglite(dir: string): Promise<ServerLock | null> {
  let lock: ServerLock;
  try {
    lock = JSON.parse(await Deno.readTextFile(lockPath(dir)));
  } catch {
    return null;
  }
  if (typeof lock?.pid !== "number" || !processAlive(lock.pid) || lock.pid === Deno.pid) return null;
  return { pid: lock.pid, url: String(lock.url ?? "") };
}
