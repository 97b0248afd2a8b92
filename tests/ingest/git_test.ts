/**
 * Git ingest (src/ingest/git.ts, src/ingest/git_log.ts) on a real repository built here with git
 * commands — several authors and time zones, a rename with edits, a binary file, a merge, Latin-1
 * messages with and without i18n.commitEncoding, an empty commit, tags in and out of the pattern —
 * and on the project's own repository, followed by the feature views and analytics.correlate.
 *
 * Runs on an in-memory PGlite database and, when AOMA_TEST_DB_URL is set, in a scratch database
 * (aoma_test_git) created on that server and dropped afterwards.
 */
import { testOnBothEngines } from "../_engines.ts";
import assert from "node:assert/strict";
import type { Db } from "../../src/db/types.ts";
import { compileTagPattern, ingestGit, readGitCommits, repoNameOf } from "../../src/ingest/git.ts";
import { decodeText, fallbackDecoder, GitLogParser, toCommitRow } from "../../src/ingest/git_log.ts";
import type { Progress } from "../../src/ingest/report.ts";

// ───────────────────────────── the fixture repository ─────────────────────────────

interface Who {
  name: string;
  email: string;
}
const ALICE = { name: "Alice Ångström", email: "alice@example.com" };
const BOB = { name: "Bob", email: "bob@example.com" };
const CAROL = { name: "Carol", email: "carol@example.in" };
const DAVE = { name: "Dave", email: "dave@example.jp" };

/** Runs git in `dir` with no user or system config; returns trimmed stdout. */
async function git(dir: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command("git", {
    args: ["-C", dir, ...args],
    env: { GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

/** Commits what is staged as `author` at `date` (git date with offset), committed by `committer`. */
async function commit(
  dir: string,
  message: string | Uint8Array,
  author: Who,
  date: string,
  opts: { committer?: Who; committerDate?: string; extra?: string[] } = {},
): Promise<string> {
  const c = opts.committer ?? author;
  const msgFile = `${dir}/../msg-${crypto.randomUUID()}`;
  await Deno.writeFile(msgFile, typeof message === "string" ? new TextEncoder().encode(message) : message);
  await git(dir, [...(opts.extra ?? []), "commit", "-q", "--allow-empty", "-F", msgFile], {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: c.name,
    GIT_COMMITTER_EMAIL: c.email,
    GIT_COMMITTER_DATE: opts.committerDate ?? date,
  });
  await Deno.remove(msgFile);
  return await git(dir, ["rev-parse", "HEAD"]);
}

const lines = (n: number, prefix = "line") => Array.from({ length: n }, (_, i) => `${prefix} ${i + 1}`).join("\n") + "\n";
const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));

interface Fixture {
  dir: string;
  sha: Record<string, string>;
}

async function buildRepo(root: string): Promise<Fixture> {
  const dir = `${root}/fixture-repo`;
  await Deno.mkdir(`${dir}/src`, { recursive: true });
  await git(dir, ["init", "-q", "-b", "main"]);
  const sha: Record<string, string> = {};
  const write = (p: string, text: string | Uint8Array) =>
    typeof text === "string" ? Deno.writeTextFile(`${dir}/${p}`, text) : Deno.writeFile(`${dir}/${p}`, text);

  // c1: two new files, 10 + 3 lines
  await write("src/app.ts", lines(10));
  await write("README.md", lines(3, "readme"));
  await git(dir, ["add", "-A"]);
  sha.c1 = await commit(dir, "Initial commit\n\nWith a body.", ALICE, "2025-03-03 09:00:00 +0200");

  // c2: 2 lines changed + 1 added in app.ts (3+, 2-), and a binary file (counts 0)
  await write("src/app.ts", lines(10).replace("line 3\n", "LINE 3\n").replace("line 7\n", "LINE 7\n") + "line 11\n");
  await Deno.mkdir(`${dir}/assets`);
  await write("assets/logo.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13, 0, 1, 2, 3, 255, 0, 7]));
  await git(dir, ["add", "-A"]);
  sha.c2 = await commit(dir, "Add logo, tweak app", BOB, "2025-03-03 10:30:00 -0500");
  await git(dir, ["tag", "experiment"]);

  // c3: rename with one line edited (1+, 1-, one file); author and committer differ
  await git(dir, ["mv", "src/app.ts", "src/main.ts"]);
  await write("src/main.ts", (await Deno.readTextFile(`${dir}/src/main.ts`)).replace("line 5\n", "line five\n"));
  await git(dir, ["add", "-A"]);
  sha.c3 = await commit(dir, "Rename app to main", CAROL, "2025-03-04 11:00:00 +0530", {
    committer: ALICE,
    committerDate: "2025-03-04 08:00:00 +0200",
  });
  await git(dir, ["tag", "-a", "v1.0.0", "-m", "First release"], {
    GIT_COMMITTER_NAME: ALICE.name,
    GIT_COMMITTER_EMAIL: ALICE.email,
    GIT_COMMITTER_DATE: "2025-03-04 12:00:00 +0000",
  });

  // c4 on a feature branch, c5 on main, then a merge (no fast-forward)
  await git(dir, ["checkout", "-q", "-b", "feature"]);
  await Deno.mkdir(`${dir}/docs`);
  await write("docs/guide.md", lines(5, "guide"));
  await git(dir, ["add", "-A"]);
  sha.c4 = await commit(dir, "Write the guide", DAVE, "2025-03-05 10:00:00 +0900");
  await git(dir, ["checkout", "-q", "main"]);
  await write("README.md", lines(3, "readme").replace("readme 2", "readme two"));
  await git(dir, ["add", "-A"]);
  sha.c5 = await commit(dir, "Fix README", ALICE, "2025-03-05 12:00:00 +0200");
  const mergeEnv = {
    GIT_AUTHOR_NAME: BOB.name,
    GIT_AUTHOR_EMAIL: BOB.email,
    GIT_AUTHOR_DATE: "2025-03-05 09:00:00 -0500",
    GIT_COMMITTER_NAME: BOB.name,
    GIT_COMMITTER_EMAIL: BOB.email,
    GIT_COMMITTER_DATE: "2025-03-05 09:00:00 -0500",
  };
  await git(dir, ["merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature"], mergeEnv);
  sha.m = await git(dir, ["rev-parse", "HEAD"]);
  await git(dir, ["tag", "release-2025-03"]);

  // c6: Latin-1 message with i18n.commitEncoding (git re-encodes it); c7: Latin-1 without it
  await write("README.md", lines(4, "readme"));
  await git(dir, ["add", "-A"]);
  sha.c6 = await commit(dir, latin1("Caf\xe9 r\xe9sum\xe9"), CAROL, "2025-03-06 10:00:00 +0530", {
    extra: ["-c", "i18n.commitEncoding=ISO-8859-1"],
  });
  await write("README.md", lines(5, "readme"));
  await git(dir, ["add", "-A"]);
  sha.c7 = await commit(dir, latin1("Na\xefve fix"), BOB, "2025-03-06 09:00:00 -0500");

  // c8: empty commit, tagged outside the default pattern
  sha.c8 = await commit(dir, "Empty commit", ALICE, "2025-03-07 12:00:00 +0000");
  await git(dir, ["tag", "vnext"]);
  return { dir, sha };
}

/** Adds two commits on main (the incremental step). */
async function addTwo(fx: Fixture): Promise<void> {
  await Deno.writeTextFile(`${fx.dir}/src/extra.ts`, lines(2, "extra"));
  await git(fx.dir, ["add", "-A"]);
  fx.sha.c9 = await commit(fx.dir, "Extra", DAVE, "2025-03-10 09:00:00 +0100");
  await Deno.writeTextFile(`${fx.dir}/src/extra.ts`, lines(1, "extra"));
  await git(fx.dir, ["add", "-A"]);
  fx.sha.c10 = await commit(fx.dir, "Less extra", DAVE, "2025-03-10 09:30:00 +0100");
}

/**
 * A repository whose tags are every kind git allows: lightweight, annotated with and without a
 * tagger (git mktag refuses the latter, so it is written with hash-object), tags of tags (with and
 * without a tagger), a tag of a tree, and one outside the pattern.
 */
async function buildTagRepo(root: string): Promise<Fixture> {
  const dir = `${root}/tag-repo`;
  await Deno.mkdir(dir, { recursive: true });
  await git(dir, ["init", "-q", "-b", "main"]);
  const sha: Record<string, string> = {};
  sha.c1 = await commit(dir, "First", ALICE, "2025-04-01 10:00:00 +0200");
  sha.c2 = await commit(dir, "Second", BOB, "2025-04-02 10:00:00 -0500");
  const tagger = { GIT_COMMITTER_NAME: ALICE.name, GIT_COMMITTER_EMAIL: ALICE.email, GIT_COMMITTER_DATE: "2025-04-03 12:00:00 +0000" };
  /** Writes a tag object without a tagger line pointing at `object` (of `type`); returns its id. */
  const taggerless = async (name: string, object: string, type: string) => {
    const file = `${root}/${name}.tag`;
    await Deno.writeTextFile(file, `object ${object}\ntype ${type}\ntag ${name}\n\nNo tagger\n`);
    // newer git checks objects in hash-object; --literally writes what older git wrote plainly
    const id = await git(dir, ["hash-object", "-t", "tag", "-w", file]).catch(() => git(dir, ["hash-object", "-t", "tag", "-w", "--literally", file]));
    await git(dir, ["update-ref", `refs/tags/${name}`, id]);
    return id;
  };
  await git(dir, ["tag", "v1.0-light", sha.c1]);
  sha.notagger = await taggerless("v1.1-notagger", sha.c1, "commit");
  await git(dir, ["tag", "-a", "-m", "Release of a release", "v1.2-nested", "v1.1-notagger"], tagger);
  await taggerless("v1.3-nested-notagger", sha.notagger, "tag");
  await git(dir, ["tag", "-a", "-m", "Plain release", "v1.4", sha.c2], tagger);
  await git(dir, ["tag", "-a", "-m", "A tree", "v1.5-tree", `${sha.c2}^{tree}`], tagger);
  await git(dir, ["tag", "nightly", sha.c2]);
  return { dir, sha };
}

// ───────────────────────────── helpers ─────────────────────────────

interface CommitRow {
  sha: string;
  author_name: string;
  author_email: string;
  authored: number;
  author_tz: string;
  committer_name: string;
  committer_email: string;
  committed: number;
  committer_tz: string;
  files_changed: number;
  insertions: number;
  deletions: number;
  is_merge: boolean;
  parents: string[];
  message: string | null;
}

async function commitsOf(db: Db, repo: string): Promise<Map<string, CommitRow>> {
  const rows = await db.query<CommitRow>(
    `select sha, author_name, author_email, extract(epoch from authored_at)::int as authored, author_tz,
            committer_name, committer_email, extract(epoch from committed_at)::int as committed, committer_tz,
            files_changed, insertions, deletions, is_merge, parents, message
     from aoma.git_commits where repo = $1 order by sha`,
    [repo],
  );
  return new Map(rows.map((r) => [r.sha, r]));
}

const epoch = (iso: string) => Date.parse(iso) / 1000;
const one = async <T>(db: Db, sql: string, params: unknown[] = []) => (await db.query<T>(sql, params))[0];

/** Deletes every row a git ingest wrote for `repo` (a step's own repository, so later steps' totals hold). */
async function forget(db: Db, repo: string): Promise<void> {
  for (const table of ["deployments", "git_commits", "ingest_state", "repositories"]) {
    await db.query(`delete from aoma.${table} where ${table === "ingest_state" ? "scope" : "repo"} = $1`, [repo]);
  }
}

function assertNothingWritten(report: Awaited<ReturnType<typeof ingestGit>>) {
  const t = report.totals();
  assert.equal(t.inserted, 0, report.format());
  assert.equal(t.updated, 0, report.format());
}

// ───────────────────────────── the scenario ─────────────────────────────

const PROJECT_ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

async function runAll(t: Deno.TestContext, db: Db): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "aoma-git-test-" });
  try {
    const fx = await buildRepo(root);
    const s = fx.sha;

    await t.step("first ingest: every commit with its fields, tags as deployments", async () => {
      const report = await ingestGit(db, { path: fx.dir, name: "fixture", isService: true });
      assert.equal(report.read, 9);
      assert.equal(report.rejected, 0);
      assert.deepEqual(report.tables.git_commits, { inserted: 9, updated: 0, unchanged: 0 });
      assert.deepEqual(report.tables.deployments, { inserted: 2, updated: 0, unchanged: 0 });
      assert.deepEqual(report.tables.repositories, { inserted: 1, updated: 0, unchanged: 0 });

      const rows = await commitsOf(db, "fixture");
      assert.equal(rows.size, 9);
      assert.deepEqual(rows.get(s.c1), {
        sha: s.c1, author_name: ALICE.name, author_email: ALICE.email,
        authored: epoch("2025-03-03T07:00:00Z"), author_tz: "+0200",
        committer_name: ALICE.name, committer_email: ALICE.email,
        committed: epoch("2025-03-03T07:00:00Z"), committer_tz: "+0200",
        files_changed: 2, insertions: 13, deletions: 0, is_merge: false, parents: [],
        message: "Initial commit\n\nWith a body.",
      });
      // binary file: one more file, no lines
      const c2 = rows.get(s.c2)!;
      assert.deepEqual([c2.files_changed, c2.insertions, c2.deletions, c2.author_tz, c2.authored],
        [2, 3, 2, "-0500", epoch("2025-03-03T15:30:00Z")]);
      assert.deepEqual(c2.parents, [s.c1]);
      // rename with an edit: one file, 1+ 1-; author and committer with their own zones
      const c3 = rows.get(s.c3)!;
      assert.deepEqual(
        [c3.files_changed, c3.insertions, c3.deletions, c3.author_name, c3.author_tz, c3.authored,
          c3.committer_name, c3.committer_tz, c3.committed],
        [1, 1, 1, "Carol", "+0530", epoch("2025-03-04T05:30:00Z"), ALICE.name, "+0200", epoch("2025-03-04T06:00:00Z")],
      );
      assert.equal(rows.get(s.c4)!.author_tz, "+0900");
      assert.equal(rows.get(s.c4)!.authored, epoch("2025-03-05T01:00:00Z"));
      assert.deepEqual([rows.get(s.c5)!.insertions, rows.get(s.c5)!.deletions], [1, 1]);
      // the merge: two parents, no numstat
      const m = rows.get(s.m)!;
      assert.deepEqual(
        [m.is_merge, m.parents, m.files_changed, m.insertions, m.deletions, m.committed, m.committer_tz, m.message],
        [true, [s.c5, s.c4], 0, 0, 0, epoch("2025-03-05T14:00:00Z"), "-0500", "Merge branch 'feature'"],
      );
      // Latin-1 with an encoding header (git re-encodes) and without one (read as Windows-1252)
      assert.equal(rows.get(s.c6)!.message, "Café résumé");
      assert.equal(rows.get(s.c7)!.message, "Naïve fix");
      assert.deepEqual([rows.get(s.c7)!.insertions, rows.get(s.c7)!.deletions], [1, 0]);
      const c8 = rows.get(s.c8)!;
      assert.deepEqual([c8.files_changed, c8.insertions, c8.deletions, c8.committer_tz, c8.message], [0, 0, 0, "+0000", "Empty commit"]);
      assert.equal([...rows.values()].filter((r) => r.is_merge).length, 1);

      const deps = await db.query<{ deployment_id: string; ref: string; sha: string; at: number; status: string; env: string }>(
        `select deployment_id, ref, sha, extract(epoch from deployed_at)::int as at, status, environment as env
         from aoma.deployments where repo = 'fixture' order by deployment_id`,
      );
      assert.deepEqual([...deps], [
        { deployment_id: "fixture:tag:release-2025-03", ref: "release-2025-03", sha: s.m, at: epoch("2025-03-05T14:00:00Z"), status: "succeeded", env: "production" },
        { deployment_id: "fixture:tag:v1.0.0", ref: "v1.0.0", sha: s.c3, at: epoch("2025-03-04T12:00:00Z"), status: "succeeded", env: "production" },
      ]);
      const repo = await one<{ is_service: boolean; default_branch: string }>(
        db, "select is_service, default_branch from aoma.repositories where repo = 'fixture'",
      );
      assert.deepEqual(repo, { is_service: true, default_branch: "main" });
      const cursor = await one<{ state: string }>(db, "select state::text from aoma.ingest_state where source = 'git' and scope = 'fixture'");
      assert.deepEqual(JSON.parse(cursor.state).refs, { "refs/heads/main": s.c8 });
      const run = await one<{ status: string; read: number }>(
        db, "select status, (summary->>'read')::int as read from aoma.ingest_runs order by started_at desc limit 1",
      );
      assert.deepEqual(run, { status: "succeeded", read: 9 });
    });

    await t.step("every kind of tag is a deployment or listed in the report, none dropped silently", async () => {
      const tx = await buildTagRepo(root);
      try {
        const report = await ingestGit(db, { path: tx.dir, name: "tags" });
        const deps = await db.query<{ ref: string; sha: string; at: number; raw: string }>(
          `select ref, sha, extract(epoch from deployed_at)::int as at, raw::text as raw
           from aoma.deployments where repo = 'tags' order by ref`,
        );
        const c1 = epoch("2025-04-01T08:00:00Z"), tagged = epoch("2025-04-03T12:00:00Z");
        assert.deepEqual(deps.map((d) => ({ ...d, raw: JSON.parse(d.raw) })), [
          // lightweight: the commit's time
          { ref: "v1.0-light", sha: tx.sha.c1, at: c1, raw: { source: "git-tag", annotated: false } },
          // annotated without a tagger: the commit's time, said in raw
          { ref: "v1.1-notagger", sha: tx.sha.c1, at: c1, raw: { source: "git-tag", annotated: true, dated: "commit" } },
          // a tag of that tag: peeled to the commit, at its own tagger date
          { ref: "v1.2-nested", sha: tx.sha.c1, at: tagged, raw: { source: "git-tag", annotated: true, peeled: true } },
          // a tag of a tag, neither with a tagger: the commit's time
          { ref: "v1.3-nested-notagger", sha: tx.sha.c1, at: c1, raw: { source: "git-tag", annotated: true, dated: "commit", peeled: true } },
          { ref: "v1.4", sha: tx.sha.c2, at: tagged, raw: { source: "git-tag", annotated: true } },
        ]);
        assert.deepEqual(report.notes, [
          `tags: 2 annotated tag(s) without a tagger date are deployments at their commit's time: "v1.1-notagger", "v1.3-nested-notagger"`,
          `tags: 2 tag(s) of a tag are deployments of the commit at the end of the chain: "v1.2-nested", "v1.3-nested-notagger"`,
          `tags: 1 tag(s) matching the pattern are no deployment: "v1.5-tree" (it points at a tree, not a commit)`,
        ]);
        // every tag the pattern takes is a deployment or named in the report
        for (const tag of (await git(tx.dir, ["tag", "--list", "v*"])).split("\n")) {
          assert.ok(deps.some((d) => d.ref === tag) || report.notes.some((n) => n.includes(JSON.stringify(tag))), tag);
        }
        assert.ok(report.format().includes('note: tags: 1 tag(s) matching the pattern are no deployment: "v1.5-tree"'), report.format());
        const run = await one<{ notes: string[] }>(db, "select summary->'notes' as notes from aoma.ingest_runs order by started_at desc limit 1");
        assert.deepEqual(run.notes, report.notes);
        // a re-run writes nothing
        const again = await ingestGit(db, { path: tx.dir, name: "tags" });
        assertNothingWritten(again);
        assert.equal(again.tables.deployments.unchanged, 5);
      } finally {
        await forget(db, "tags");
      }
    });

    await t.step("second run reads nothing and writes nothing; is_service is kept", async () => {
      const report = await ingestGit(db, { path: fx.dir, name: "fixture" });
      assert.equal(report.read, 0);
      assertNothingWritten(report);
      assert.equal(report.tables.deployments.unchanged, 2);
      assert.equal((await one<{ s: boolean }>(db, "select is_service as s from aoma.repositories where repo = 'fixture'")).s, true);
    });

    await t.step("merges on the main line as deployments (option), then idempotent", async () => {
      const report = await ingestGit(db, { path: fx.dir, name: "fixture", mergeDeployments: true });
      assert.equal(report.read, 0);
      assert.deepEqual(report.tables.deployments, { inserted: 1, updated: 0, unchanged: 2 });
      const dep = await one<{ ref: string; sha: string; at: number }>(
        db, "select ref, sha, extract(epoch from deployed_at)::int as at from aoma.deployments where deployment_id = $1",
        [`fixture:merge:${s.m}`],
      );
      assert.deepEqual(dep, { ref: "main", sha: s.m, at: epoch("2025-03-05T14:00:00Z") });
      assertNothingWritten(await ingestGit(db, { path: fx.dir, name: "fixture", mergeDeployments: true }));
    });

    await t.step("merge deployments stream in batches: three merges, batches of one", async () => {
      const dir = `${root}/merges-repo`;
      await Deno.mkdir(dir);
      await git(dir, ["init", "-q", "-b", "main"]);
      await commit(dir, "Root", ALICE, "2025-05-01 09:00:00 +0000");
      const merges: string[] = [];
      for (const k of [1, 2, 3]) {
        await git(dir, ["checkout", "-q", "-b", `topic${k}`]);
        await commit(dir, `Topic ${k}`, BOB, `2025-05-0${k + 1} 09:00:00 +0000`);
        await git(dir, ["checkout", "-q", "main"]);
        await commit(dir, `Main ${k}`, ALICE, `2025-05-0${k + 1} 10:00:00 +0000`);
        const when = `2025-05-0${k + 1} 11:00:00 +0000`;
        await git(dir, ["merge", "-q", "--no-ff", "-m", `Merge topic${k}`, `topic${k}`], {
          GIT_AUTHOR_NAME: BOB.name, GIT_AUTHOR_EMAIL: BOB.email, GIT_AUTHOR_DATE: when,
          GIT_COMMITTER_NAME: BOB.name, GIT_COMMITTER_EMAIL: BOB.email, GIT_COMMITTER_DATE: when,
        });
        merges.push(await git(dir, ["rev-parse", "HEAD"]));
      }
      // per transaction: which tables it upserted into (the run's own bookkeeping writes none of them)
      const writes: string[] = [];
      const counting: Db = {
        ...db,
        transaction: (fn, opts) =>
          db.transaction((tx) => {
            const tables = new Set<string>();
            const seen = {
              ...tx,
              query: <T>(sql: string, params?: unknown[]) => {
                const m = /insert into aoma\."(\w+)"/.exec(sql);
                if (m) tables.add(m[1]);
                return tx.query<T>(sql, params);
              },
            };
            return fn(seen).finally(() => tables.size && writes.push([...tables].sort().join("+")));
          }, opts),
      };
      try {
        const report = await ingestGit(counting, { path: dir, name: "merges", mergeDeployments: true, batchSize: 1, refresh: false });
        // the merges first, one transaction each, then one per commit
        assert.deepEqual(writes, [...Array(3).fill("deployments"), ...Array(10).fill("git_commits")]);
        assert.equal(report.read, 10);
        assert.deepEqual(report.tables.deployments, { inserted: 3, updated: 0, unchanged: 0 });
        const deps = await db.query<{ sha: string; at: number }>(
          "select sha, extract(epoch from deployed_at)::int as at from aoma.deployments where repo = 'merges' order by deployed_at",
        );
        assert.deepEqual([...deps], merges.map((sha, k) => ({ sha, at: epoch(`2025-05-0${k + 2}T11:00:00Z`) })));
        assertNothingWritten(await ingestGit(db, { path: dir, name: "merges", mergeDeployments: true, batchSize: 1 }));
      } finally {
        await forget(db, "merges");
      }
    });

    await t.step("a custom tag pattern (glob or regex)", async () => {
      const report = await ingestGit(db, { path: fx.dir, name: "fixture", tagPattern: "/^(vnext|experiment)$/" });
      assert.deepEqual(report.tables.deployments, { inserted: 2, updated: 0, unchanged: 0 });
      await db.query("delete from aoma.deployments where deployment_id in ('fixture:tag:vnext', 'fixture:tag:experiment')");
      const m = compileTagPattern("v*,release-*");
      assert.deepEqual(await m.match(["v1", "vnext", "release-1", "rel", "xv1"]), [true, true, true, false, false]);
      const d = compileTagPattern(undefined);
      assert.deepEqual(await d.match(["v1.0.0", "vnext", "release-x"]), [true, false, true]);
      assert.deepEqual(await compileTagPattern(null).match(["v1"]), [false]);
    });

    await t.step("incremental: two new commits → only two read", async () => {
      await addTwo(fx);
      const report = await ingestGit(db, { path: fx.dir, name: "fixture" });
      assert.equal(report.read, 2);
      assert.deepEqual(report.tables.git_commits, { inserted: 2, updated: 0, unchanged: 0 });
      const rows = await commitsOf(db, "fixture");
      assert.equal(rows.size, 11);
      assert.deepEqual([rows.get(s.c9)!.insertions, rows.get(s.c10)!.deletions, rows.get(s.c10)!.author_tz], [2, 1, "+0100"]);
    });

    await t.step("killed after the first batch, then re-run: identical rows to a clean run", async () => {
      const stop = new AbortController();
      const progress: Progress = { total() {}, advance() { stop.abort("simulated kill"); }, done() {} };
      await assert.rejects(
        ingestGit(db, { path: fx.dir, name: "crashy", batchSize: 2, signal: stop.signal }, progress),
        /Ingest of crashy stopped: simulated kill/,
      );
      const partial = await commitsOf(db, "crashy");
      assert.equal(partial.size, 2, "exactly the first batch was committed");
      assert.equal((await db.query("select 1 from aoma.ingest_state where scope = 'crashy'")).length, 0, "cursor did not move");
      const failed = await one<{ status: string }>(db, "select status from aoma.ingest_runs order by started_at desc limit 1");
      assert.equal(failed.status, "failed");

      const report = await ingestGit(db, { path: fx.dir, name: "crashy", batchSize: 2 });
      assert.equal(report.read, 11);
      assert.deepEqual(report.tables.git_commits, { inserted: 9, updated: 0, unchanged: 2 });
      assert.deepEqual(await commitsOf(db, "crashy"), await commitsOf(db, "fixture"));
      assertNothingWritten(await ingestGit(db, { path: fx.dir, name: "crashy", batchSize: 2 }));
    });

    await t.step("reader: batches, since, stopping early", async () => {
      const sizes: number[] = [];
      for await (const b of readGitCommits(fx.dir, { repo: "r", batchSize: 4 })) sizes.push(b.rows.length);
      assert.deepEqual(sizes, [4, 4, 3]);
      // a batch also ends at its text budget: one commit's row is past one character
      const small: number[] = [];
      for await (const b of readGitCommits(fx.dir, { repo: "r", batchSize: 4, batchChars: 1 })) small.push(b.read);
      assert.deepEqual(small, Array(11).fill(1));
      const budget: number[] = [];
      for await (const b of readGitCommits(fx.dir, { repo: "r", batchChars: 1000 })) budget.push(b.read);
      assert.deepEqual(budget, [3, 3, 3, 2]); // ~400 + text per row: the third row crosses 1,000
      let n = 0;
      for await (const b of readGitCommits(fx.dir, { repo: "r", since: "2025-03-06T00:00:00Z" })) n += b.read;
      assert.equal(n, 5); // c6, c7, c8, c9, c10
      for await (const _ of readGitCommits(fx.dir, { repo: "r", batchSize: 1 })) break; // kills git, no leak
      await assert.rejects(
        async () => {
          for await (const _ of readGitCommits(fx.dir, { repo: "r", revs: ["--output=/tmp/x"] })) { /* never */ }
        },
        /must not start with "-"/,
      );
      await assert.rejects(ingestGit(db, { path: `${root}/nope` }), /Cannot open the repository in ".*nope"/);
      assert.equal(repoNameOf("/srv/git/api.git"), "api");
      assert.equal(repoNameOf("/home/me/web/"), "web");
    });

    await t.step("the project's own repository; features and correlate run on it", async () => {
      const report = await ingestGit(db, { path: PROJECT_ROOT, name: "aoma-mesh-analytics", isService: true });
      assert.equal(report.rejected, 0);
      const cursor = await one<{ state: string }>(
        db, "select state::text from aoma.ingest_state where source = 'git' and scope = 'aoma-mesh-analytics'",
      );
      const tip = Object.values(JSON.parse(cursor.state).refs as Record<string, string>)[0];
      const expected = Number(await git(PROJECT_ROOT, ["rev-list", "--count", tip]));
      assert.ok(expected >= 1);
      assert.equal(report.read, expected);
      const stored = await one<{ n: number }>(db, "select count(*)::int as n from aoma.git_commits where repo = 'aoma-mesh-analytics'");
      assert.equal(stored.n, expected);
      assertNothingWritten(await ingestGit(db, { path: PROJECT_ROOT, name: "aoma-mesh-analytics" }));

      // the daily feature view equals the SQL counts over the raw commits (all repositories)
      const mismatches = await db.query(
        `with raw as (
           select (committed_at at time zone 'UTC')::date as day, count(*)::int as commits,
                  count(*) filter (where is_merge)::int as merges,
                  sum(insertions + deletions)::bigint as churn, sum(files_changed)::bigint as files
           from aoma.git_commits group by 1)
         select * from raw full join analytics.features_daily f using (day)
         where (raw.commits is not null or f.commits <> 0)
           and (raw.commits is distinct from f.commits or raw.merges is distinct from f.merges
                or raw.churn is distinct from f.churn::bigint or raw.files is distinct from f.files_changed::bigint)`,
      );
      assert.deepEqual([...mismatches], []);
      const totals = await one<{ commits: number; service: number; deployments: number; raw: number; raw_service: number; raw_dep: number }>(
        db,
        `select (select sum(commits)::int from analytics.features_daily) as commits,
                (select sum(service_commits)::int from analytics.features_daily) as service,
                (select sum(deployments)::int from analytics.features_daily) as deployments,
                (select count(*)::int from aoma.git_commits) as raw,
                (select count(*)::int from aoma.git_commits c join aoma.repositories r using (repo) where r.is_service) as raw_service,
                (select count(*)::int from aoma.deployments) as raw_dep`,
      );
      assert.equal(totals.commits, totals.raw);
      assert.equal(totals.service, totals.raw_service);
      assert.equal(totals.deployments, totals.raw_dep);
      assert.equal(totals.raw, 11 + 11 + expected);

      // correlate runs on a git-only database (commits as the target, the other git drivers as features)
      const rows = await db.query<{ feature: string; n: number }>(
        `select feature, lag, n from analytics.correlate(target => 'commits',
           features => array['churn', 'files_changed', 'merges', 'is_monday'], max_lag => 1)`,
      );
      assert.ok(rows.length >= 4, JSON.stringify(rows));
      assert.ok(rows.every((r) => r.n > 0));
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

// ───────────────────────────── parser unit tests (no git, no database) ─────────────────────────────

Deno.test("git log parser: split chunks, renames in -z form, binary, merges, bad records", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const A = "a".repeat(40), B = "b".repeat(40), C = "c".repeat(40);
  const header = (sha: string, parents: string, msg: string) =>
    `\x1e${sha}\0${parents}\0N\0n@x\0${1700000000} +0200\0M\0m@x\0${1700000100} -0130\0${msg}\n\0`;
  const out = header(A, B, "one") + "\n3\t1\tsrc/a.ts\0-\t-\tbin.png\0" + "2\t2\t\0old name\0new\tname\0" +
    header(B, "", "two\x1eweird") + header(C, `${A} ${B}`, "merge") + header("zz", "", "bad");
  const bytes = enc(out);
  for (const step of [1, 3, 7, 64, bytes.length]) {
    const p = new GitLogParser();
    const recs = [];
    for (let i = 0; i < bytes.length; i += step) recs.push(...p.push(bytes.subarray(i, i + step)));
    recs.push(...p.end());
    assert.equal(recs.length, 4, `chunk ${step}`);
    assert.deepEqual([recs[0].files, recs[0].insertions, recs[0].deletions], [3, 5, 3]);
    assert.equal(recs[1].message, "two\x1eweird\n");
    assert.deepEqual([recs[1].files, recs[1].parents], [0, []]);
    const row = toCommitRow("r", recs[0]);
    assert.ok(typeof row !== "string");
    assert.deepEqual([row.authored_at, row.author_tz, row.committed_at, row.committer_tz, row.message],
      ["2023-11-14T22:13:20.000Z", "+0200", "2023-11-14T22:15:00.000Z", "-0130", "one"]);
    const merge = toCommitRow("r", recs[2]);
    assert.ok(typeof merge !== "string" && merge.is_merge && merge.parents.length === 2);
    assert.equal(toCommitRow("r", recs[3]), 'invalid commit hash "zz"');
  }
  const p = new GitLogParser();
  p.push(enc(`\x1e${A}\0\0N\0`));
  assert.throws(() => p.end(), /ended inside the header of commit 0/);
  // text that is not UTF-8: the repository's i18n.commitEncoding when known, else Windows-1252
  const sjis = new Uint8Array([0x93, 0xfa, 0x96, 0x7b]); // "日本" in Shift_JIS
  assert.equal(decodeText(sjis, fallbackDecoder("Shift_JIS")), "日本");
  assert.equal(decodeText(new Uint8Array([0x43, 0x61, 0x66, 0xe9])), "Café");
  assert.equal(fallbackDecoder("no-such-encoding").encoding, "windows-1252");
  assert.equal(fallbackDecoder("UTF-8").encoding, "windows-1252");
  assert.equal(decodeText(enc("a\u0000b")), "ab");
  const late = new GitLogParser();
  const recs = [...late.push(enc(header(A, "", "x").replace("1700000000 +0200", "99999999999999 +0200"))), ...late.end()];
  assert.match(toCommitRow("r", recs[0]) as string, /absurd author date/);
});

testOnBothEngines("git ingest: fixture repository, incremental, recovery, own repository, features", "aoma_test_git", runAll);
