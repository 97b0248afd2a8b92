/**
 * Message templates kept stable across runs: the Drain parser (drain.ts) fed with the templates
 * already stored in aoma.message_templates, and the writes that keep that table in step with it.
 * Shared by the log ingest (logs.ts) and the processing-attempt ingest (attempts.ts).
 *
 * Stability rules (tests/ingest/drain_test.ts and logs_test.ts pin them):
 * - Every stored template is loaded at the start of a run. A message a stored template covers gets
 *   that template and its id, template_id = left(md5(template), 16) — also in a later run, for a
 *   message first seen then.
 * - When Drain generalises a template that is already stored (a position becomes `<*>`), the new
 *   template gets its own row and, in the SAME transaction as the batch that caused it, every stored
 *   log event of the old template is moved to the new one (template_id and params recomputed from
 *   its message), every processing attempt's error_template_id likewise, and the old row is deleted.
 *   So a template id always names the current, most general template of its cluster, and a run that
 *   was killed and re-run ends with exactly the rows of an uninterrupted run.
 * - first_seen, last_seen and occurrences are recomputed in SQL from the stored events at the end of
 *   a run, for the templates the run touched (never incremented), so re-ingesting a file cannot
 *   double them. They count log events; a template that only processing errors use (no log event)
 *   counts those attempts, by started_at. A killed run leaves them stale until its re-run ends.
 * - One log or attempt ingest at a time per database: concurrent runs do not see each other's new
 *   templates, and a move by one can fail the other's batch on the foreign key (its re-run fixes it).
 *
 * @example
 * const miner = await TemplateMiner.load(db);
 * const m = miner.mine("AssetUploadTask type 'AssetUploadSorting' not supported");
 * const plan = miner.plan([m]);          // plan.resolved[0].template: "AssetUploadTask type <*> not supported"
 * await db.transaction(async (tx) => {
 *   await plan.apply(tx, report);        // template rows first (foreign keys), moves
 *   …upsert the events with plan.resolved[i].template_id and .params…
 * });
 * plan.committed();                      // only after the transaction committed
 * await miner.refreshStats(db, report);
 */
import { templateId } from "../demo/generate.ts";
import type { Queryable } from "../db/types.ts";
import { Cluster, Drain, type DrainOptions, slotValues, tokenize } from "./drain.ts";
import { type MaskOptions, maskMessage, type RequestPaths } from "./mask.ts";
import type { IngestReport } from "./report.ts";

/** One mined message: its cluster (resolve at write time: it may still generalise) and masked parts. */
export interface Mined {
  cluster: Cluster;
  tokens: string[];
  maskParams: string[];
}

/** A mined message's final template, id and slot values. */
export interface ResolvedTemplate {
  template_id: string;
  template: string;
  params: string[];
}

/** The template writes of one batch (see {@link TemplateMiner.plan}). */
export interface TemplatePlan {
  /** Per mined message (same order): its template, id and slot values; null where none was mined. */
  resolved: (ResolvedTemplate | null)[];
  /**
   * Writes the template rows and moves, inside the batch's transaction. With `only`, writes just the
   * templates of those ids (the rows of a part of the batch, batch.ts) and the targets of moves.
   */
  apply(tx: Queryable, report: IngestReport, only?: ReadonlySet<string>): Promise<void>;
  /**
   * Records what is stored now; call only after the transaction(s) committed. With `stored`, only
   * the templates of those ids (those of the rows that were stored) and the targets of moves count
   * as stored; the others are written again with the next batch that needs them.
   */
  committed(stored?: ReadonlySet<string>): void;
}

/** Most characters of a template kept (longer messages are cut before mining). */
export const MAX_TEMPLATE_CHARS = 4_000;

/** Templates mined by the Drain parser and kept in step with aoma.message_templates. */
export class TemplateMiner {
  readonly drain: Drain;
  /** Ids of templates written or referenced in this run (their stats are refreshed at the end). */
  readonly touched = new Set<string>();
  /** Ids this run inserted (their stats changes are not "updates"). */
  private readonly insertedIds = new Set<string>();
  /** Clusters whose template changed since they were last persisted. */
  private readonly dirty = new Set<Cluster>();

  /** How messages are masked (request lines: analytics.settings.request_paths). */
  readonly mask: MaskOptions;

  constructor(opts: DrainOptions = {}, mask: MaskOptions = {}) {
    this.drain = new Drain(opts);
    this.mask = mask;
  }

  /**
   * A miner preloaded with every stored template (in template order, so loading is deterministic),
   * masking as analytics.settings says (request_paths; "parameter" where the setting is absent).
   */
  static async load(db: Queryable, opts: DrainOptions = {}): Promise<TemplateMiner> {
    const miner = new TemplateMiner(opts, { requestPaths: await requestPathsSetting(db) });
    const rows = await db.query<{ template: string }>(
      "select template from aoma.message_templates order by template collate \"C\"",
    );
    for (const r of rows) {
      const c = miner.drain.load(r.template);
      c.stored = c.template;
    }
    return miner;
  }

  /** Masks, tokenizes and mines one message. */
  mine(message: string): Mined {
    const text = message.length > MAX_TEMPLATE_CHARS ? message.slice(0, MAX_TEMPLATE_CHARS) : message;
    const { masked, params } = maskMessage(text, this.mask);
    const tokens = tokenize(masked);
    const { cluster, change, merged } = this.drain.add(tokens, this.mask.requestPaths === "shape" ? requestTargets(tokens) : []);
    if (change === "generalised") {
      this.dirty.add(cluster);
      // a merge leaves an alias behind whose stored rows must move too
      if (merged) this.dirty.add(merged);
    }
    return { cluster, tokens, maskParams: params };
  }

  /** The current template of a mined message, its id and its slot values. */
  resolve(m: Mined): ResolvedTemplate {
    const c = m.cluster.resolve();
    const template = c.template;
    return { template_id: idOf(template), template, params: slotValues(c.tokens, m.tokens, m.maskParams) };
  }

  /**
   * Plans the template writes of the next batch, synchronously — a snapshot of the parser at this
   * moment, so more lines may be mined while the batch is written: the batch's resolved templates
   * (one per entry of `mined`, null for null), the template rows not stored yet, and the moves of
   * stored templates that were generalised since they were written. Run `apply` inside the batch's
   * transaction before the rows that reference the templates, and `committed` after it committed.
   * Plan the next batch only after this one committed (or failed).
   */
  plan(mined: readonly (Mined | null)[]): TemplatePlan {
    const resolved = mined.map((m) => (m ? this.resolve(m) : null));
    const need = new Map<string, Cluster>();
    for (const m of mined) {
      if (!m) continue;
      const c = m.cluster.resolve();
      if (c.stored !== c.template) need.set(c.template, c);
      else this.touched.add(idOf(c.template));
    }
    const moves: { cluster: Cluster; live: Cluster; from: string; to: string; tokens: string[] }[] = [];
    for (const c of this.dirty) {
      const live = c.resolve();
      if (c.stored === null || c.stored === live.template) continue;
      need.set(live.template, live);
      moves.push({ cluster: c, live, from: c.stored, to: live.template, tokens: live.tokens.slice() });
    }
    const rows = [...need].map(([template, cluster]) => ({ template, cluster }));
    const targets = new Set(moves.map((m) => m.to));
    const wanted = (ids: ReadonlySet<string> | undefined) =>
      ids ? rows.filter((r) => ids.has(idOf(r.template)) || targets.has(r.template)) : rows;
    return {
      resolved,
      apply: async (tx, report, only) => {
        const rows = wanted(only);
        if (rows.length) {
          const inserted = await tx.query<{ template_id: string }>(
            `insert into aoma.message_templates (template_id, template)
             select template_id, template from jsonb_to_recordset($1::text::jsonb) as r(template_id text, template text)
             on conflict do nothing returning template_id`,
            [JSON.stringify(rows.map((r) => ({ template_id: idOf(r.template), template: r.template })))],
          );
          for (const r of inserted) this.insertedIds.add(r.template_id);
          report.add("message_templates", { inserted: inserted.length, updated: 0, unchanged: 0 });
          for (const r of rows) this.touched.add(idOf(r.template));
        }
        for (const m of moves) await this.move(tx, m.from, m.to, m.tokens, report);
      },
      committed: (stored) => {
        for (const m of moves) if (m.cluster !== m.live) m.cluster.stored = null;
        for (const r of wanted(stored)) r.cluster.stored = r.template;
        // still dirty: a stored template generalised again after the snapshot
        for (const c of [...this.dirty]) {
          if (c.stored === null || (!c.aliasOf && c.stored === c.template)) this.dirty.delete(c);
        }
      },
    };
  }

  /** Moves every stored row of template `from` to the live template of `to`, then deletes `from`. */
  private async move(tx: Queryable, from: string, to: string, toTokens: string[], report: IngestReport): Promise<void> {
    const fromId = idOf(from), toId = idOf(to);
    if (fromId === toId) return;
    const events = await tx.query<{ source: string; event_key: string; message: string | null }>(
      "select source, event_key, message from aoma.log_events where template_id = $1",
      [fromId],
    );
    if (events.length) {
      const moved = events.map((e) => {
        const text = e.message ?? "";
        const cut = text.length > MAX_TEMPLATE_CHARS ? text.slice(0, MAX_TEMPLATE_CHARS) : text;
        const { masked, params } = maskMessage(cut, this.mask);
        return {
          source: e.source,
          event_key: e.event_key,
          params: slotValues(toTokens, tokenize(masked), params),
        };
      });
      await tx.query(
        `update aoma.log_events e set template_id = $2, params = r.params
         from jsonb_to_recordset($1::text::jsonb) as r(source text, event_key text, params jsonb)
         where e.source = r.source and e.event_key = r.event_key`,
        [JSON.stringify(moved), toId],
      );
      report.add("log_events", { inserted: 0, updated: events.length, unchanged: 0 });
    }
    const attempts = await tx.query<{ n: number }>(
      `with u as (update aoma.processing_attempts set error_template_id = $2 where error_template_id = $1 returning 1)
       select count(*)::int as n from u`,
      [fromId, toId],
    );
    if (attempts[0].n) report.add("processing_attempts", { inserted: 0, updated: attempts[0].n, unchanged: 0 });
    const del = await tx.query("delete from aoma.message_templates where template_id = $1 returning 1", [fromId]);
    if (del.length) {
      report.add("message_templates", { inserted: 0, updated: 1, unchanged: 0 });
      report.notes.push(`template ${fromId} generalised to ${toId} ("${short(to)}"); its rows moved`);
    }
    this.touched.delete(fromId);
    this.touched.add(toId);
  }

  /**
   * Recomputes first_seen, last_seen and occurrences of the templates this run touched, from the
   * stored rows (log events; attempts for templates no log event uses). Idempotent: a template
   * whose numbers do not change is not written. Counts changed rows that existed before the run
   * as updated.
   */
  async refreshStats(db: Queryable, report?: IngestReport): Promise<void> {
    const ids = [...this.touched];
    if (ids.length === 0) return;
    const changed = await db.query<{ template_id: string }>(
      `with ids as (select unnest($1::text[]) as id),
       l as (select template_id, count(*) as n, min(ts) as f, max(ts) as t
             from aoma.log_events where template_id = any($1::text[]) group by 1),
       a as (select error_template_id as template_id, count(*) as n, min(started_at) as f, max(started_at) as t
             from aoma.processing_attempts where error_template_id = any($1::text[]) group by 1),
       s as (select ids.id,
                    coalesce(l.n, a.n, 0) as n,
                    case when l.n is not null then l.f else a.f end as f,
                    case when l.n is not null then l.t else a.t end as t
             from ids left join l on l.template_id = ids.id left join a on a.template_id = ids.id)
       update aoma.message_templates m
          set occurrences = s.n, first_seen = s.f, last_seen = s.t
         from s
        where m.template_id = s.id
          and (m.occurrences, m.first_seen, m.last_seen) is distinct from (s.n, s.f, s.t)
       returning m.template_id`,
      [ids],
    );
    if (report) {
      const updated = changed.filter((r) => !this.insertedIds.has(r.template_id)).length;
      report.add("message_templates", { inserted: 0, updated, unchanged: 0 });
    }
  }
}

/** Positions of request-line targets (`"GET` · target · `HTTP/1.1"`): pinned when paths keep their shape. */
function requestTargets(tokens: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 1; i + 1 < tokens.length; i++) {
    if (/"[A-Z]{3,12}$/.test(tokens[i - 1]) && /^HTTP\/\d(?:\.\d)?"/.test(tokens[i + 1])) out.push(i);
  }
  return out;
}

/** analytics.settings.request_paths ("parameter" when unset). */
async function requestPathsSetting(db: Queryable): Promise<RequestPaths> {
  const rows = await db.query<{ v: RequestPaths | null }>("select request_paths as v from analytics.settings");
  return rows[0]?.v === "shape" ? "shape" : "parameter";
}

/** The template ids rows refer to (template_id of log events, error_template_id of attempts). */
export function templatesOf(rows: readonly { template_id?: string | null; error_template_id?: string | null }[]): Set<string> {
  const ids = new Set<string>();
  for (const r of rows) {
    const id = r.template_id ?? r.error_template_id;
    if (id) ids.add(id);
  }
  return ids;
}

const idCache = new Map<string, string>();
/** template_id of a template (memoised left(md5, 16)). */
export function idOf(template: string): string {
  let id = idCache.get(template);
  if (!id) {
    id = templateId(template);
    if (idCache.size > 100_000) idCache.clear();
    idCache.set(template, id);
  }
  return id;
}

const short = (s: string) => (s.length > 80 ? s.slice(0, 77) + "…" : s);
