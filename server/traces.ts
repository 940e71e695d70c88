// The server's traces: what was asked, where it stands, and what came back — each trace's
// merged result plus its per-interval history (so a time range can be sliced later), kept
// within a memory budget, and written to the store as it arrives (server/trace-store.ts), so
// it is still there after a restart. Requests are checked here against the same catalog and
// limits the agent enforces, so a bad request is refused with a field name before anything is sent.
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type Hello, type TraceEnd, type TraceFrame } from '../protocol/messages.js';
import { recordKey, type TraceEvent, type TraceRecord } from '../protocol/records.js';
import { findScript } from '../scripts/catalog.js';
import { TRACE_LIMITS } from '../scripts/limits.js';
import { checkDuration, checkParams, checkZoneName, ParamError } from '../scripts/params.js';
import type { Fleet } from './fleet.js';
import type { Hub } from './hub.js';
import type { ServerMetrics } from './metrics.js';
import type { Store } from './store.js';
import { ENDED, type StorableTrace, type StoredTrace, type TraceMeta, type TraceStatus, type TraceStore } from './trace-store.js';

export type { TraceStatus } from './trace-store.js';

export const TRACE_BUDGET = {
  /** per trace: bytes (as JSON) of per-interval history; the oldest intervals go first */
  historyBytes: 8 * 1024 * 1024,
  /** per trace: distinct records in the merged result; new keys past it are counted, not kept */
  mergedRecords: 20_000,
  /** traces held in memory; the oldest finished ones are forgotten first (and read back from
   * the store when asked for) */
  traces: 50,
  /** traces listed by GET /api/traces, newest first */
  listed: 500,
  /** events kept per trace (the API shows them all) */
  events: 100,
  /** an agent that sends nothing for this long past the end of the trace has lost it */
  silenceS: 60,
};

export class TraceError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

export interface TraceRequest {
  node: string;
  zone: string;
  script: string;
  params?: Record<string, unknown>;
  durationS?: number;
  /** false: count intervals and events but keep no records (always-on traces, whose data
   * lives in Prometheus histograms; a history per node would not scale to a fleet) */
  retain?: boolean;
  /** the owner of the scoped token starting it: only that tenant's tokens see it (tenant-scope.ts) */
  owner?: string;
}

/** Who started a trace the server keeps running by itself (audited once, when configured). */
export const ALWAYS_ON_ACTOR = 'always-on';

interface IntervalEntry {
  interval: number;
  time: number;
  records: TraceRecord[];
  bytes: number;
}

interface Trace extends StorableTrace {
  history: IntervalEntry[];
  historyBytes: number;
  retain: boolean;
  watchdog?: NodeJS.Timeout;
}

const DROP_KINDS = new Set(['drops', 'aggregation-drops', 'dynvar-drops', 'speculation-drops']);
const ERROR_KINDS = new Set(['error', 'compile-error']);

/** Adds one interval's record into the running total (counts and sums add; histograms add bucket-wise). */
function mergeInto(into: TraceRecord, r: TraceRecord): void {
  if (into.kind === 'scalar' && r.kind === 'scalar') into.value += r.value;
  else if (into.kind === 'stack' && r.kind === 'stack') into.value += r.value;
  else if (into.kind === 'stats' && r.kind === 'stats') {
    into.count += r.count;
    into.total += r.total;
    into.avg = into.count ? into.total / into.count : 0;
  } else if (into.kind === 'hist' && r.kind === 'hist') {
    const at = new Map(into.buckets.map((b) => [`${b.lo}:${b.hi}`, b]));
    for (const b of r.buckets) {
      const have = at.get(`${b.lo}:${b.hi}`);
      if (have) have.count += b.count;
      else into.buckets.push({ ...b });
    }
    into.buckets.sort((a, b) => (a.lo ?? -Infinity) - (b.lo ?? -Infinity));
  }
}

/** Why a script cannot run on a node, from its hello (older agents: the tracer as a whole). */
export function unavailable(hello: Hello, script: string): string | undefined {
  const a = hello.scripts?.find((s) => s.id === script);
  if (a) return a.available ? undefined : (a.reason ?? 'its prerequisites are missing');
  if (hello.scripts) return 'the agent does not offer it (an agent of another version?)';
  return hello.tracer.available ? undefined : `${hello.tracer.name} is not available`;
}

/** The agent's reasons plus what the server sees itself: intervals it expected but did not
 * receive, samples reported lost that the agent did not mention. */
function judge(t: Trace, m: TraceEnd): string[] {
  const reasons = [...(m.reasons ?? [])];
  if (m.status === 'done' || m.status === 'partial') {
    if (t.intervals < t.durationS && !reasons.some((r) => /intervals? arrived/.test(r))) reasons.unshift(`${t.intervals} of ${t.durationS} intervals arrived`);
    if (t.samplesLost > 0 && !reasons.some((r) => / lost\b/.test(r))) reasons.push(`${t.samplesLost.toLocaleString('en-US')} ${t.unit} lost`);
    const dropped = Object.values(t.drops).reduce((a, b) => a + b, 0);
    if (dropped > 0 && !reasons.some((r) => /dropped|drops/.test(r))) reasons.push(`${dropped.toLocaleString('en-US')} events dropped by the tracer`);
  }
  return reasons;
}

export interface TraceHooks {
  /** a trace changed (status, a new interval): pushed to browsers */
  changed(summary: ReturnType<TraceManager['summary']>): void;
}

/** Where traces are kept past the process, and where what happens to them is said. */
export interface TracePersistence {
  store: TraceStore;
  log: { info(o: object, m: string): void; warn(o: object, m: string): void };
}

/** How often stored traces past their age or the byte budget are deleted. */
const EXPIRE_EVERY_MS = 60_000;

export class TraceManager {
  private readonly traces = new Map<string, Trace>();
  private readonly expirer?: NodeJS.Timeout;

  constructor(
    private readonly fleet: Fleet,
    private readonly hub: Hub,
    private readonly store: Store,
    private readonly metrics: ServerMetrics,
    private readonly hooks: TraceHooks,
    private readonly persist?: TracePersistence,
  ) {
    if (persist) {
      this.finishInterrupted();
      this.expire();
      this.expirer = setInterval(() => this.expire(), EXPIRE_EVERY_MS).unref();
    }
    hub.on('trace-frame', (node, msg) => this.onFrame(node, msg));
    hub.on('trace-end', (node, msg) => this.onEnd(node, msg));
    hub.on('disconnect', (node) => {
      for (const t of this.traces.values()) if (t.node === node && !ENDED.has(t.status)) this.finish(t, 'failed', `the agent of node '${node}' disconnected`);
    });
  }

  /** Checks a request like the agent would, then audits and sends it. Throws TraceError. */
  start(req: TraceRequest, actor: string, source = ''): Trace {
    const meta = findScript(String(req.script));
    if (!meta) throw new TraceError(400, `script: unknown script '${String(req.script).slice(0, 64)}'`);
    const n = this.fleet.nodes.get(req.node);
    if (!n) throw new TraceError(404, `node: unknown node '${req.node}'`);
    let params: Record<string, number | string>;
    let durationS: number;
    try {
      checkZoneName(req.zone);
      params = checkParams(meta, req.params ?? {});
      durationS = checkDuration(meta, req.durationS);
    } catch (e) {
      if (e instanceof ParamError) throw new TraceError(400, e.message);
      throw e;
    }
    const zone = n.zones.find((z) => z.name === req.zone);
    if (!zone) throw new TraceError(400, `zone: no zone '${req.zone}' on node '${req.node}'`);
    // checked by the route's scope too; here as well so no caller can start a tenant's trace elsewhere
    if (req.owner !== undefined && (zone.owner !== req.owner || zone.name === 'global')) throw new TraceError(404, `unknown zone '${req.zone}' on node '${req.node}'`);
    if (!n.up || !this.hub.connected(req.node)) throw new TraceError(409, `node: '${req.node}' is not connected`);
    const why = unavailable(n.hello, meta.id);
    if (why) throw new TraceError(409, `script: ${meta.id} cannot run on node '${req.node}': ${why}`);
    const active = this.active().filter((t) => t.node === req.node);
    if (active.length >= TRACE_LIMITS.perNode) throw new TraceError(429, `node: ${active.length} traces are running on '${req.node}', the limit is ${TRACE_LIMITS.perNode}`);
    const inZone = active.filter((t) => t.zone === req.zone).length;
    if (inZone >= TRACE_LIMITS.perZone) throw new TraceError(429, `zone: ${inZone} traces are running on zone '${req.zone}', the limit is ${TRACE_LIMITS.perZone}`);

    const t: Trace = {
      id: randomUUID(),
      node: req.node,
      zone: req.zone,
      script: meta.id,
      params,
      durationS,
      output: meta.output,
      unit: meta.unit,
      status: 'starting',
      createdAt: Date.now(),
      startedAt: null,
      endedAt: null,
      intervals: 0,
      reasons: [],
      samplesLost: 0,
      drops: {},
      errors: 0,
      events: [],
      merged: new Map(),
      truncated: 0,
      history: [],
      historyBytes: 0,
      evicted: 0,
      retain: req.retain !== false,
      ...(req.owner !== undefined ? { owner: req.owner } : {}),
      zoneOwner: zone.owner ?? '',
    };
    if (actor !== ALWAYS_ON_ACTOR) this.store.audit(actor, 'trace.start', `${req.node}/${req.zone}`, { id: t.id, script: meta.id, params, durationS }, source, t.zoneOwner ?? '');
    if (!this.hub.send(req.node, { v: PROTOCOL_VERSION, type: 'trace-start', id: t.id, script: meta.id, zone: req.zone, params, durationS })) {
      throw new TraceError(409, `node: '${req.node}' is not connected`);
    }
    this.metrics.tracesStarted.inc({ script: meta.id });
    this.traces.set(t.id, t);
    if (t.retain) this.persist?.store.changed(t);
    this.arm(t);
    this.forget();
    this.hooks.changed(this.summary(t));
    return t;
  }

  stop(id: string, actor: string, source = ''): Trace | undefined {
    const t = this.traces.get(id);
    if (!t) return undefined;
    this.store.audit(actor, 'trace.stop', `${t.node}/${t.zone}`, { id }, source, t.zoneOwner ?? '');
    if (!ENDED.has(t.status)) this.hub.send(t.node, { v: PROTOCOL_VERSION, type: 'trace-stop', id });
    return t;
  }

  /** A trace in memory, or read back from the store (a StoreError when the store cannot be read). */
  get(id: string): Trace | undefined {
    const t = this.traces.get(id);
    if (t || !this.persist) return t;
    const stored = this.persist.store.load(id);
    if (!stored) return undefined;
    const back = this.revive(stored);
    this.traces.set(id, back);
    this.forget();
    return back;
  }

  /** Traces not ended yet (in memory only: no store read, cheap to ask on every fleet change). */
  active(): Trace[] {
    return [...this.traces.values()].filter((t) => !ENDED.has(t.status));
  }

  /** People's traces, newest first (always-on ones are in /metrics, not here): those in memory
   * as they are now, the others as stored. */
  list(): TraceMeta[] {
    const mine = [...this.traces.values()].filter((t) => t.retain);
    let stored: TraceMeta[] = [];
    try {
      stored = this.persist?.store.summaries(TRACE_BUDGET.listed) ?? [];
    } catch (e) {
      // an unreadable store still lists what is in memory
      this.hub.faults.note('read traces', e);
    }
    const held = new Set(mine.map((t) => t.id));
    return [...mine, ...stored.filter((s) => !held.has(s.id))].sort((a, b) => b.createdAt - a.createdAt).slice(0, TRACE_BUDGET.listed);
  }

  summary(t: TraceMeta) {
    // the curated scripts print one interval a second: what arrived is what ran. A stopped or
    // failed trace keeps the share it reached instead of claiming 100%.
    const progress = t.status === 'done' ? 1 : Math.min(ENDED.has(t.status) ? 1 : 0.99, t.intervals / t.durationS);
    return {
      id: t.id,
      node: t.node,
      zone: t.zone,
      script: t.script,
      params: t.params,
      durationS: t.durationS,
      output: t.output,
      unit: t.unit,
      status: t.status,
      createdAt: t.createdAt,
      startedAt: t.startedAt,
      endedAt: t.endedAt,
      progress,
      intervals: t.intervals,
      ...(t.error ? { error: t.error } : {}),
      reasons: t.reasons,
      samplesLost: t.samplesLost,
      drops: t.drops,
      errors: t.errors,
      truncated: t.truncated,
      evictedIntervals: t.evicted,
    };
  }

  detail(t: Trace) {
    return { ...this.summary(t), events: t.events, records: [...t.merged.values()] };
  }

  /** Per-interval history with times in [from, to] (ms). */
  intervals(t: Trace, from = -Infinity, to = Infinity) {
    return t.history.filter((h) => h.time >= from && h.time <= to).map((h) => ({ interval: h.interval, time: h.time, records: h.records }));
  }

  /**
   * Records for a time range [from, to] (epoch ms): the merged result when the whole trace is
   * asked for. A stack with time slices counts exactly the samples of its slices that start in
   * the range (what a selection on the subsecond heatmap holds); other records come with the
   * intervals whose time is in it.
   */
  records(t: Trace, from?: number, to?: number): TraceRecord[] {
    if (from === undefined && to === undefined) return [...t.merged.values()];
    const lo = from ?? -Infinity;
    const hi = to ?? Infinity;
    const out: TraceRecord[] = [];
    for (const h of t.history) {
      // (every interval is looked at: a slice's time and an interval's are both the agent's
      // clock, but not read at the same moment, and a clock step would part them)
      for (const r of h.records) {
        if (r.kind === 'stack' && r.slices?.length) {
          const slices = r.slices.filter(([at]) => at >= lo && at <= hi);
          const n = slices.reduce((a, [, c]) => a + c, 0);
          // (a hostile agent's counts may add up past what a number holds)
          if (n > 0 && Number.isFinite(n)) out.push({ ...r, value: n, slices });
        } else if (h.time >= lo && h.time <= hi) out.push(r);
      }
    }
    return out;
  }

  /** Stops the timers and writes what is queued: a trace still running is stored as running,
   * and ends `partial` when the next server starts on this store. */
  close(): void {
    for (const t of this.traces.values()) clearTimeout(t.watchdog);
    clearInterval(this.expirer);
    this.persist?.store.close();
  }

  /** A stored trace as a live one: the merged snapshot plus the frames stored after it, and the
   * newest intervals within the history budget. */
  private revive(s: StoredTrace): Trace {
    const t: Trace = { ...s.meta, events: s.events, merged: new Map(), history: [], historyBytes: 0, retain: true };
    for (const r of s.merged) t.merged.set(recordKey(r), r);
    for (const f of s.frames) {
      // the truncated count stored with the summary already counts these frames' misses
      if (f.row > s.mergedThrough) for (const r of f.records) this.merge(t, r, false);
      const last = t.history[t.history.length - 1];
      if (last && last.interval === f.interval) {
        for (const r of f.records) last.records.push(r);
        last.bytes += f.bytes;
      } else t.history.push({ interval: f.interval, time: f.time, records: f.records, bytes: f.bytes });
      t.historyBytes += f.bytes;
    }
    while (t.historyBytes > TRACE_BUDGET.historyBytes && t.history.length > 1) t.historyBytes -= t.history.shift()!.bytes;
    return t;
  }

  /** Traces the store holds as running: the server stopped under them. They end partial,
   * saying so, with what arrived before it stopped. */
  private finishInterrupted(): void {
    const p = this.persist!;
    let ids: string[];
    try {
      ids = p.store.unfinished();
    } catch (e) {
      this.hub.faults.note('read traces', e);
      return;
    }
    for (const id of ids) {
      let s: StoredTrace | undefined;
      try {
        s = p.store.load(id);
      } catch (e) {
        this.hub.faults.note('read trace', e);
        continue;
      }
      if (!s) continue;
      const t = this.revive(s);
      t.status = 'partial';
      t.endedAt = s.state.updated;
      t.reasons = [`server restarted while the trace ran (${t.intervals} of ${t.durationS} intervals arrived)`, ...t.reasons];
      p.store.adopt(t, s.state);
      this.traces.set(id, t);
    }
    if (ids.length) p.log.warn({ traces: ids.length }, `${ids.length} trace(s) were running when the server stopped: ended partial ("server restarted")`);
    this.forget();
    p.store.flush();
  }

  /** Stored traces past --trace-retention or over --trace-budget go, oldest first, counted. */
  private expire(): void {
    const p = this.persist!;
    const gone = p.store.expire();
    for (const [reason, ids] of Object.entries(gone)) {
      if (!ids.length) continue;
      for (const id of ids) this.traces.delete(id);
      this.metrics.tracesExpired.inc({ reason }, ids.length);
      p.log.info({ traces: ids.length, reason }, `deleted ${ids.length} stored trace(s) ${reason === 'age' ? 'older than --trace-retention' : 'over --trace-budget, oldest first'}`);
    }
  }

  /** Adds one record to the trace's merged result, within its budget. */
  private merge(t: Trace, r: TraceRecord, count = true): void {
    const k = recordKey(r);
    const have = t.merged.get(k);
    if (have) mergeInto(have, r);
    else if (t.merged.size < TRACE_BUDGET.mergedRecords) {
      // when its samples fell is the intervals' business: the whole trace's total has no time
      t.merged.set(k, structuredClone(r.kind === 'stack' ? { ...r, slices: undefined } : r));
    }
    else if (count) t.truncated++;
  }

  private onFrame(node: string, f: TraceFrame): void {
    const t = this.traces.get(f.id);
    if (!t || t.node !== node || ENDED.has(t.status)) return; // not this node's trace, or already over
    if (t.status === 'starting') {
      t.status = 'running';
      t.startedAt = Date.now();
    }
    if (f.interval === 0) {
      // diagnostics from before the first interval (or of a trace that printed none)
      for (const e of f.events) this.event(t, e);
      this.arm(t);
      if (t.retain) this.persist?.store.changed(t);
      this.hooks.changed(this.summary(t));
      return;
    }
    const last = t.history[t.history.length - 1];
    if (!t.retain) {
      if (!last || last.interval !== f.interval) t.intervals++;
      t.history = [{ interval: f.interval, time: f.time, records: [], bytes: 0 }];
      for (const e of f.events) this.event(t, e);
      this.arm(t);
      return;
    }
    const json = JSON.stringify(f.records);
    const bytes = json.length;
    this.persist?.store.frame(t, f.interval, f.time, json);
    if (last && last.interval === f.interval) {
      for (const r of f.records) last.records.push(r);
      last.bytes += bytes;
    } else {
      t.history.push({ interval: f.interval, time: f.time, records: f.records, bytes });
      t.intervals++;
    }
    t.historyBytes += bytes;
    while (t.historyBytes > TRACE_BUDGET.historyBytes && t.history.length > 1) {
      const gone = t.history.shift()!;
      t.historyBytes -= gone.bytes;
      t.evicted++;
      this.persist?.store.evicted(t, gone.interval);
    }
    for (const r of f.records) this.merge(t, r);
    for (const e of f.events) this.event(t, e);
    this.arm(t);
    this.hooks.changed(this.summary(t));
  }

  private event(t: Trace, e: TraceEvent): void {
    t.events.push(e);
    if (t.events.length > TRACE_BUDGET.events) t.events.shift();
    if (e.kind === 'samples-lost') t.samplesLost += e.count;
    else if (DROP_KINDS.has(e.kind)) {
      t.drops[e.kind] = (t.drops[e.kind] ?? 0) + e.count;
      this.metrics.traceDrops.inc({ node: t.node, kind: e.kind }, e.count);
    } else if (ERROR_KINDS.has(e.kind)) {
      t.errors += e.count;
      this.metrics.traceErrors.inc({ node: t.node }, e.count);
    } else if (e.kind === 'unparsed') {
      this.metrics.traceLinesUnparsed.inc({ node: t.node }, e.count);
    }
  }

  private onEnd(node: string, m: TraceEnd): void {
    const t = this.traces.get(m.id);
    if (!t || t.node !== node || ENDED.has(t.status)) return;
    this.finish(t, m.status, m.error, judge(t, m));
  }

  private finish(t: Trace, status: TraceStatus, error?: string, reasons: string[] = []): void {
    clearTimeout(t.watchdog);
    // the agent's word is checked against what reached the server
    t.status = status === 'done' && reasons.length ? 'partial' : status;
    t.endedAt = Date.now();
    if (error) t.error = error;
    t.reasons = reasons;
    // the server's own always-on runs are audited once, when configured; their failures are
    // logged and retried with a backoff (one row per failed restart would flood the log)
    // also from a timer: a full disk must cost the audit row (counted), not the process
    if (status === 'failed' && t.retain) this.hub.faults.attempt('write audit', () => this.store.audit('server', 'trace.failed', `${t.node}/${t.zone}`, { id: t.id, error: error ?? '' }, '', t.zoneOwner ?? ''));
    if (t.retain) this.persist?.store.changed(t);
    this.hooks.changed(this.summary(t));
  }

  /** A trace whose agent goes silent well past its end is failed, not left 'running' forever. */
  private arm(t: Trace): void {
    clearTimeout(t.watchdog);
    const s = t.durationS + TRACE_LIMITS.startupGraceS + TRACE_LIMITS.endGraceS + 3 * TRACE_LIMITS.killGraceS + TRACE_BUDGET.silenceS;
    t.watchdog = setTimeout(() => !ENDED.has(t.status) && this.finish(t, 'failed', `no word from the agent for ${s}s`), s * 1000);
    t.watchdog.unref();
  }

  private forget(): void {
    // oldest first, the server's own (always-on) before people's; a trace the store has not
    // taken yet (a full disk) stays, or it would be lost
    const ended = [...this.traces.values()].filter((t) => ENDED.has(t.status) && !this.persist?.store.unwritten(t.id)).sort((a, b) => Number(a.retain) - Number(b.retain) || a.createdAt - b.createdAt);
    while (this.traces.size > TRACE_BUDGET.traces && ended.length) this.traces.delete(ended.shift()!.id);
  }
}
