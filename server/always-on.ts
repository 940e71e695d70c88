// Always-on instrumentation: curated scripts the server keeps running on every node (on the
// zones it names), restarted when they end. Histogram scripts become Prometheus histograms;
// cpu-profile, run at a low rate, becomes each zone's continuous profile (profile-store.ts).
// They go through the same TraceManager as any trace: same checks, limits and audit log.
import type { HistRecord, TraceRecord } from '../protocol/records.js';
import { foldedStack, foldStacks } from '../protocol/folded.js';
import type { ProfileStore } from './profile-store.js';
import type { Fleet } from './fleet.js';
import type { Hub } from './hub.js';
import { HistogramFamily } from './histograms.js';
import { ALWAYS_ON_ACTOR, type TraceManager } from './traces.js';
import { findScript } from '../scripts/catalog.js';

/** How a script's histogram aggregation becomes a Prometheus histogram. */
interface Export {
  name: string;
  help: string;
  agg: string;
  keyLabels: string[];
  scale: number;
  /** a scalar sum() aggregation with the same keys, for _sum */
  sumAgg?: string;
}

export const EXPORTS: Record<string, Export> = {
  'syscall-latency': {
    name: 'zonescope_syscall_latency_seconds',
    help: 'System call latency in the zone, from the always-on syscall-latency script.',
    agg: 'latency',
    keyLabels: ['syscall'],
    scale: 1e-9,
    sumAgg: 'latency_sum',
  },
  'io-latency': {
    name: 'zonescope_block_io_latency_seconds',
    help: 'Block I/O latency, from the always-on io-latency script.',
    agg: 'latency',
    keyLabels: ['device'],
    scale: 1e-9,
  },
};

/** Scripts kept running as continuous profiles, and the parameters they run with: a low rate,
 * so a profile that never stops costs little (measured in the README). */
export const PROFILES: Record<string, { params: Record<string, number> }> = {
  'cpu-profile': { params: { hz: 19 } },
};

export interface AlwaysOnSpec {
  script: string;
  /** zones to cover; ['global'] = the whole host (the default) */
  zones: string[];
}

/** "syscall-latency" or "syscall-latency@global,web1" */
export function parseAlwaysOn(text: string): AlwaysOnSpec {
  const [script, zones] = text.split('@');
  if ((!EXPORTS[script] && !PROFILES[script]) || !findScript(script)) {
    throw new Error(`--always-on: '${script}' cannot run always-on (one of: ${[...Object.keys(EXPORTS), ...Object.keys(PROFILES)].join(', ')})`);
  }
  const list = zones ? zones.split(',').filter(Boolean) : ['global'];
  for (const z of list) if (!/^[A-Za-z0-9_.:@-]{1,256}$/.test(z)) throw new Error(`--always-on: bad zone name '${z}'`);
  return { script, zones: list };
}

interface Slot {
  node: string;
  zone: string;
  spec: AlwaysOnSpec;
  trace?: string;
  retryAt: number;
  /** runs in a row that ended failed without a single interval: the retry backs off */
  failures: number;
  /** the current run sent at least one interval */
  ran: boolean;
  /** when the current run's first second began, as well as the server can tell (profiles) */
  runStart?: number;
}

/** First retry after a run that failed at once, doubled per failure in a row, up to the cap:
 * a script this node's tracer cannot run must not be respawned every few seconds forever. */
export const RETRY = { baseMs: 5000, maxMs: 10 * 60_000 };

export class AlwaysOn {
  readonly families = new Map<string, HistogramFamily>();
  private readonly slots = new Map<string, Slot>();
  /** the slot whose current run a trace id is */
  private readonly byTrace = new Map<string, Slot>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly specs: AlwaysOnSpec[],
    private readonly fleet: Fleet,
    hub: Hub,
    private readonly traces: TraceManager,
    private readonly log: { warn(o: object, m: string): void },
    maxSeriesPerNode = 2000,
    private readonly profiles?: ProfileStore,
  ) {
    for (const s of specs) {
      const e = EXPORTS[s.script];
      if (!e) continue;
      this.families.set(s.script, new HistogramFamily({ name: e.name, help: e.help, keyLabels: e.keyLabels, scale: e.scale, maxSeriesPerNode }));
    }
    hub.on('trace-frame', (node, f) => {
      // every trace's frames come through here, people's too: a lookup, not a scan
      const slot = this.byTrace.get(f.id);
      if (slot?.node === node) {
        slot.ran = true;
        this.take(slot, f.records, f.interval, f.time);
      }
    });
    // judged when the agent ends the run (the trace itself may be forgotten by then)
    hub.on('trace-end', (node, m) => {
      const slot = this.byTrace.get(m.id);
      if (slot?.node !== node) return;
      if (m.status !== 'failed' || slot.ran) {
        slot.failures = 0;
        // a profile's next run starts now, not at the next 5 s tick: fewer seconds unprofiled
        if (PROFILES[slot.spec.script]) setImmediate(() => this.reconcile());
        return;
      }
      slot.failures++;
      slot.retryAt = Math.max(slot.retryAt, Date.now() + Math.min(RETRY.maxMs, RETRY.baseMs * 2 ** slot.failures));
      this.log.warn({ node, zone: slot.zone, script: slot.spec.script, failures: slot.failures }, `always-on ${slot.spec.script} failed: ${m.error ?? 'no reason given'}; next try in ${Math.round((slot.retryAt - Date.now()) / 1000)}s`);
    });
    fleet.on('change', () => this.reconcile());
    this.timer = setInterval(() => this.reconcile(), 5000).unref();
  }

  render(only?: string, keep?: (node: string, zone: string) => boolean): string {
    let out = '';
    for (const f of this.families.values()) out += f.render(only, keep);
    return out;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /**
   * A profile whose stacks say when each sample fell (time slices, the agent's clock): each
   * second of samples goes to its own bucket, however late its interval arrived. The agent's
   * clock is moved onto the server's by the frame's own stamp (when the agent sent it against
   * when it came), so a node whose clock is off still lands where it should; a time from longer
   * ago than the script's longest run (plus 10 s) is held to that bound.
   */
  private takeSliced(slot: Slot, records: TraceRecord[], sentAt: number): void {
    const now = Date.now();
    const shift = now - sentAt;
    const earliest = now - findScript(slot.spec.script)!.maxDurationS * 1000 - 10_000;
    const bySecond = new Map<number, Map<string, number>>();
    const add = (t: number, stack: string, n: number) => {
      const second = t - (t % 1000);
      let m = bySecond.get(second);
      if (!m) bySecond.set(second, (m = new Map()));
      m.set(stack, (m.get(stack) ?? 0) + n);
    };
    for (const r of records) {
      if (r.kind !== 'stack') continue;
      // each stack folded once, its samples spread over the seconds they fell in (a stack
      // without slices is taken as of now)
      const stack = foldedStack(r);
      if (!r.slices?.length) add(now, stack, r.value);
      else for (const [at, n] of r.slices) add(Math.min(now, Math.max(earliest, at + shift)), stack, n);
    }
    // oldest first: a later second must not close the bucket an earlier one still belongs to
    for (const second of [...bySecond.keys()].sort((a, b) => a - b)) this.profiles?.add(slot.node, slot.zone, bySecond.get(second)!, second + 500);
  }

  private take(slot: Slot, records: TraceRecord[], interval: number, sentAt: number): void {
    if (PROFILES[slot.spec.script]) {
      if (interval < 1) return;
      if (records.some((r) => r.kind === 'stack' && r.slices?.length)) return this.takeSliced(slot, records, sentAt);
      // Interval n holds the samples of the run's second n. It arrives late, by as long as the
      // agent took to name its frames (seconds on a loaded node), so the time it arrived would
      // put samples in the next minute. The run's start is estimated from the server's own
      // clock (an agent's clock is not trusted to place data): the least late interval so far
      // bounds it best.
      const start = Date.now() - interval * 1000;
      slot.runStart = Math.min(slot.runStart ?? start, start);
      const folded = foldStacks(records);
      if (folded.size) this.profiles?.add(slot.node, slot.zone, folded, slot.runStart + (interval - 0.5) * 1000);
      return;
    }
    const e = EXPORTS[slot.spec.script];
    const fam = this.families.get(slot.spec.script)!;
    const sums = new Map<string, number>();
    if (e.sumAgg) for (const r of records) if (r.kind === 'scalar' && r.agg === e.sumAgg) sums.set(JSON.stringify(r.keys), r.value);
    const before = fam.dropped;
    for (const r of records) {
      if (r.kind !== 'hist' || r.agg !== e.agg) continue;
      fam.add(slot.node, slot.zone, r as HistRecord, e.sumAgg ? (sums.get(JSON.stringify(r.keys)) ?? 0) : undefined);
    }
    // over the cap: counted with the fleet's other dropped series
    const name = e.name.replace(/^zonescope_/, '');
    if (fam.dropped > before) this.fleet.seriesDropped.set(name, (this.fleet.seriesDropped.get(name) ?? 0) + fam.dropped - before);
  }

  /** Start what should run and is not running; forget nodes that left. */
  private reconcile(): void {
    const now = Date.now();
    for (const n of this.fleet.nodes.values()) {
      if (!n.up || !n.hello.tracer.available) continue;
      for (const spec of this.specs) {
        for (const zone of spec.zones) {
          if (!n.zones.some((z) => z.name === zone)) continue;
          const key = `${n.node}\0${spec.script}\0${zone}`;
          let slot = this.slots.get(key);
          if (!slot) this.slots.set(key, (slot = { node: n.node, zone, spec, retryAt: 0, failures: 0, ran: false }));
          const t = slot.trace ? this.traces.get(slot.trace) : undefined;
          if (t && (t.status === 'starting' || t.status === 'running')) continue;
          if (now < slot.retryAt) continue;
          try {
            const meta = findScript(spec.script)!;
            slot.ran = false;
            slot.runStart = undefined;
            if (slot.trace) this.byTrace.delete(slot.trace);
            slot.trace = this.traces.start({ node: n.node, zone, script: spec.script, params: PROFILES[spec.script]?.params ?? {}, durationS: meta.maxDurationS, retain: false }, ALWAYS_ON_ACTOR).id;
            this.byTrace.set(slot.trace, slot);
            slot.retryAt = now + 5000;
          } catch (e) {
            // a failing tracer must not be restarted in a tight loop
            slot.retryAt = now + 30_000;
            this.log.warn({ node: n.node, zone, script: spec.script }, `always-on ${spec.script} not started: ${(e as Error).message}`);
          }
        }
      }
    }
    for (const [key, slot] of this.slots) {
      const n = this.fleet.nodes.get(slot.node);
      if (!n || !n.up) {
        this.slots.delete(key);
        if (slot.trace) this.byTrace.delete(slot.trace);
        for (const f of this.families.values()) f.dropNode(slot.node);
      }
    }
  }
}
