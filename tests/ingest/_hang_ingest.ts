/**
 * A process that starts an ingest run and never finishes it, for the abandoned-run tests
 * (runs_test.ts), which kill it with SIGKILL. Not a test file itself.
 *
 *   deno run -A tests/ingest/_hang_ingest.ts --pglite DIR    (migrates the folder first)
 *   deno run -A tests/ingest/_hang_ingest.ts --url URL
 *
 * Prints "running <pid>" once its aoma.ingest_runs row is committed.
 */
import { migrateAll } from "../../src/db/migrate.ts";
import { openPglite } from "../../src/db/pglite.ts";
import { openPostgres } from "../../src/db/postgres.ts";
import { runIngest } from "../../src/ingest/run.ts";

const [how, where] = Deno.args;
const db = how === "--pglite" ? await openPglite(where) : openPostgres(where, { max: 2 });
if (how === "--pglite") await migrateAll(db);
setInterval(() => {}, 60_000); // stay alive until killed
await runIngest(db, "logs", async () => {
  console.log(`running ${Deno.pid}`);
  await new Promise(() => {});
});
