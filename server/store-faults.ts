// Storage faults on the agent path (a full or damaged disk): the server keeps going on what it
// holds in memory, counts each failed write, logs once a minute per operation, and says so on
// /healthz until a write of that kind succeeds again.
import type { Store } from './store.js';

export interface StoreHealth {
  status: 'ok' | 'degraded';
  path: string;
  /** operations whose last attempt failed, with the error */
  failing: { op: string; error: string; since: number; count: number }[];
  /** what integrity_check said at start, when not "ok" */
  damage?: string;
}

const LOG_EVERY_MS = 60_000;

export class StoreFaults {
  private readonly failing = new Map<string, { error: string; since: number; count: number }>();
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly counter: { inc(labels: { op: string }): void },
    private readonly log: { warn(o: object, m: string): void; error(o: object, m: string): void },
  ) {
    if (store.damage) log.error({ path: store.path }, `store ${store.path} is damaged (integrity_check: ${store.damage}); serving from memory where it cannot be read`);
  }

  /** Run a store operation the server can do without: undefined when it failed. */
  attempt<T>(op: string, fn: () => T): T | undefined {
    try {
      const r = fn();
      this.failing.delete(op);
      return r;
    } catch (e) {
      this.note(op, e);
      return undefined;
    }
  }

  /** Tables a feature adds to the store: made at the first call that can (a server that starts
   * on a full disk tries again before each use); the function says whether they exist. */
  tables(op: string, sql: string): () => boolean {
    let ready = false;
    return () => (ready ||= this.attempt(op, () => (this.store.db.exec(sql), true)) ?? false);
  }

  /** Count and (once a minute) log a failed store operation. */
  note(op: string, e: unknown): void {
    {
      const error = (e as Error).message;
      this.counter.inc({ op });
      const f = this.failing.get(op);
      if (f) {
        f.count++;
        f.error = error;
      } else this.failing.set(op, { error, since: Date.now(), count: 1 });
      const now = Date.now();
      if (now - (this.logged.get(op) ?? 0) >= LOG_EVERY_MS) {
        this.logged.set(op, now);
        this.log.warn({ op, failures: this.failing.get(op)!.count }, `store operation failed, going on with what is in memory: ${error}`);
      }
    }
  }

  health(): StoreHealth {
    const failing = [...this.failing].map(([op, f]) => ({ op, ...f }));
    return {
      status: failing.length || this.store.damage ? 'degraded' : 'ok',
      path: this.store.path,
      failing,
      ...(this.store.damage ? { damage: this.store.damage } : {}),
    };
  }
}
