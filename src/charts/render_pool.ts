/**
 * Renders charts on worker threads (src/charts/render_worker.ts): the Renderers the tools use by
 * default. The workers start on first use (each loads vega, vega-lite and resvg once) and take
 * renders in turn; the process may exit while they idle (they are unref'd).
 */
import type { Renderers } from "./content.ts";
import type { RenderReply, RenderRequest } from "./render_worker.ts";

/** Workers in the pool: rendering is CPU-bound, and the machine the server runs on may be small. */
const POOL_SIZE = Math.max(1, Math.min(2, navigator.hardwareConcurrency - 1));

type Pending = { resolve: (r: RenderReply & { ok: true }) => void; reject: (e: Error) => void };

class RenderWorker {
  readonly worker = new Worker(new URL("./render_worker.ts", import.meta.url), { type: "module" });
  readonly pending = new Map<number, Pending>();
  constructor() {
    this.worker.onmessage = (ev: MessageEvent<RenderReply>) => {
      const p = this.pending.get(ev.data.id);
      if (!p) return;
      this.pending.delete(ev.data.id);
      if (ev.data.ok) p.resolve(ev.data);
      else p.reject(new Error(ev.data.message));
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault();
      for (const p of this.pending.values()) p.reject(new Error(`the chart renderer stopped (${ev.message})`));
      this.pending.clear();
      workers.splice(workers.indexOf(this), 1);
      this.worker.terminate();
    };
    (this.worker as unknown as { unref?: () => void }).unref?.();
  }
}

const workers: RenderWorker[] = [];
let nextId = 1;

/** The least busy worker, starting one while the pool is not full. */
function pick(): RenderWorker {
  const idle = workers.find((w) => w.pending.size === 0);
  if (idle) return idle;
  if (workers.length < POOL_SIZE) {
    const w = new RenderWorker();
    workers.push(w);
    return w;
  }
  return workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
}

/** A request without its id (numbered here). */
type Message = RenderRequest extends infer R ? (R extends RenderRequest ? Omit<R, "id"> : never) : never;

function send(msg: Message): Promise<RenderReply & { ok: true }> {
  const w = pick();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    w.pending.set(id, { resolve, reject });
    w.worker.postMessage({ ...msg, id });
  });
}

/** Renderers that run on the pool's workers. */
export const workerRenderers: Renderers = {
  svg: async (spec) => (await send({ op: "svg", spec })).svg!,
  png: async (svg) => (await send({ op: "png", svg })).png!,
};
