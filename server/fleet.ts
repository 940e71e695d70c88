// The live state of the fleet: one entry per node that ever said hello since the server
// started, its zones, its latest samples (pre-rendered for /metrics) and a bounded history.
import { EventEmitter } from 'node:events';
import type { Hello, Point, Samples, ScriptAvailability, Zone } from '../protocol/messages.js';
import { MAX_SERIES_PER_FAMILY, renderPoints } from '../protocol/exposition.js';
import { NodeHistory } from './history.js';

export interface SeqState {
  epoch: number;
  last: number;
  received: number;
  gaps: number;
}

export interface Frame {
  seq: number;
  time: number;
  points: Point[];
}

export interface NodeState {
  node: string;
  hello: Hello;
  up: boolean;
  connectedAt: number | null;
  lastSeen: number | null;
  zones: Zone[];
  /** the newest frame's position; its values are the last frame of `history` and `rendered`
   * (the decoded points are not kept: at 1,000 nodes they were ≈65 MiB) */
  latest: { seq: number; time: number } | null;
  /** exposition text of the latest frame, per family, ready to concatenate */
  rendered: Map<string, string>;
  /** its zones' points over the retention, compact (server/history.ts) */
  history: NodeHistory;
  seq: SeqState;
  samplerErrors: number;
  /** per sampler that ever failed: what the node, zone and fleet pages show */
  samplerIssues: Map<string, SamplerIssue>;
  /** what interrupted the samples lately (errors, gaps, disconnects), newest last, bounded */
  events: NodeEvent[];
}

export interface SamplerIssue {
  sampler: string;
  /** failed runs since the server started */
  count: number;
  message: string;
  /** first failure of the current run of failures (ms) */
  since: number;
  /** latest failure (ms) */
  last: number;
  /** whether it still fails: false once frames come without its error and it is not backing off */
  failing: boolean;
  /** frames in a row without its error since it last failed */
  clean: number;
}

/** Why a zone chart may have a hole at `time`: said on hover over the gap. */
export interface NodeEvent {
  time: number;
  kind: 'sampler-error' | 'frames-missing' | 'disconnected' | 'connected';
  message: string;
}

const MAX_EVENTS = 500;
/** frames in a row without a sampler's error before it counts as working again */
const RECOVERED_AFTER = 2;
// host points carry no zone label; the global zone's charts show them (load, network, disk, ARC)
const HOST_FAMILY = /^(node_load1$|node_net_|node_disk_|zfs_arc_)/;

export interface FleetOptions {
  /** history kept per node, in seconds of samples */
  retentionS: number;
  /** most frames of history per node whatever the interval (bounds memory) */
  maxHistoryFrames: number;
  /** most zone points kept in history across the whole fleet (memory: ≈16 bytes each, measured);
   * over it, the oldest frames of the largest histories go first */
  maxHistoryPoints: number;
  /** most series one node may expose per family; the rest are counted and dropped */
  maxSeriesPerFamily: number;
  /** most series one node may expose in all; the rest are counted and dropped */
  maxSeriesPerNode: number;
  /** most zones one node may have; the rest are counted and left out */
  maxZonesPerNode: number;
  /** a node whose agent is away this long is forgotten, with its series (seconds) */
  forgetAfterS: number;
}

export const DEFAULT_FLEET: FleetOptions = {
  retentionS: 3600,
  maxHistoryFrames: 720,
  maxHistoryPoints: 12_000_000,
  maxSeriesPerFamily: MAX_SERIES_PER_FAMILY,
  maxSeriesPerNode: 100_000,
  maxZonesPerNode: 2000,
  forgetAfterS: 24 * 3600,
};

export class Fleet extends EventEmitter {
  readonly nodes = new Map<string, NodeState>();
  /** series dropped over the cap, by family, since the server started */
  readonly seriesDropped = new Map<string, number>();
  /** points naming a family the server does not know */
  unknownFamilyPoints = 0;
  /** points refused for their value (a negative counter) */
  invalidPoints = 0;
  /** zones left out over the per-node cap */
  zonesDropped = 0;
  /** zone points held in all nodes' history */
  historyPoints = 0;
  private lastSweep = 0;

  constructor(
    readonly opts: FleetOptions = DEFAULT_FLEET,
    /** a node's stored history, read when it first says hello (after a restart) */
    private readonly stored?: { restore(node: string, now: number): NodeHistory | undefined },
  ) {
    super();
  }

  connect(hello: Hello, seq: SeqState, now = Date.now()): NodeState {
    const prev = this.nodes.get(hello.node);
    const restored = prev ? undefined : this.stored?.restore(hello.node, now);
    const st: NodeState = {
      node: hello.node,
      hello,
      up: true,
      connectedAt: now,
      lastSeen: now,
      zones: prev?.zones ?? [],
      latest: prev?.hello.epoch === hello.epoch ? prev.latest : null,
      rendered: prev?.hello.epoch === hello.epoch ? prev.rendered : new Map(),
      history: prev?.history ?? restored ?? new NodeHistory(),
      seq,
      samplerErrors: prev?.samplerErrors ?? 0,
      samplerIssues: prev?.samplerIssues ?? new Map(),
      events: prev?.events ?? [],
    };
    if (prev) pushEvent(st, { time: now, kind: 'connected', message: `agent reconnected` });
    if (restored) {
      this.historyPoints += restored.points;
      this.trim(st, now);
    }
    this.nodes.set(hello.node, st);
    if (restored) this.keepBudget();
    this.emit('change');
    return st;
  }

  disconnect(node: string): void {
    const st = this.nodes.get(node);
    if (!st || !st.up) return;
    st.up = false;
    st.connectedAt = null;
    pushEvent(st, { time: Date.now(), kind: 'disconnected', message: 'agent disconnected' });
    this.emit('change');
  }

  /** The agent's scripts changed availability since its hello: the hello says what is true now. */
  setScripts(node: string, scripts: ScriptAvailability[]): void {
    const st = this.nodes.get(node);
    if (!st) return;
    const available = scripts.some((s) => s.available);
    const capabilities = st.hello.capabilities.filter((c) => c !== 'trace').concat(available ? ['trace'] : []);
    st.hello = { ...st.hello, scripts, capabilities, tracer: { ...st.hello.tracer, available } };
    this.emit('change');
  }

  setZones(node: string, zones: Zone[]): void {
    const st = this.nodes.get(node);
    if (!st) return;
    if (zones.length > this.opts.maxZonesPerNode) {
      this.zonesDropped += zones.length - this.opts.maxZonesPerNode;
      zones = zones.slice(0, this.opts.maxZonesPerNode);
    }
    st.zones = zones;
    st.lastSeen = Date.now();
    this.emit('change');
  }

  /** Take a samples frame. Returns false for a duplicate (already seen) sequence number. */
  addSamples(node: string, msg: Samples, now = Date.now()): boolean {
    const st = this.nodes.get(node);
    if (!st) return false;
    st.lastSeen = now;
    if (msg.seq <= st.seq.last) return false;
    if (st.seq.last > 0 && msg.seq > st.seq.last + 1) {
      const missing = msg.seq - st.seq.last - 1;
      st.seq.gaps += missing;
      pushEvent(st, { time: msg.time, kind: 'frames-missing', message: `${missing} sample frame${missing === 1 ? '' : 's'} never arrived (dropped from the agent's buffer)` });
    }
    st.seq.last = msg.seq;
    st.seq.received++;
    st.samplerErrors += msg.errors.length;
    // a sampler that starts or stops failing changes what the fleet page says of the node
    const healthChanged = noteSamplerErrors(st, msg);
    const frame: Frame = { seq: msg.seq, time: msg.time, points: msg.points };
    // A resent backlog may arrive after newer frames were kept: only the newest is "latest".
    if (!st.latest || frame.time >= st.latest.time) {
      st.latest = { seq: frame.seq, time: frame.time };
      st.rendered = this.render(node, frame.points);
    }
    // history serves the zone views: only zone points are kept, within the fleet's budget
    this.historyPoints += st.history.add(frame.seq, frame.time, withHostZone(frame.points));
    this.trim(st, now);
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now;
      for (const n of this.nodes.values()) this.trim(n, now);
    }
    this.keepBudget();
    this.emit('samples', node, frame);
    if (healthChanged) this.emit('change');
    return true;
  }

  /** Forget nodes whose agent has been away longer than forgetAfterS; returns their names. */
  forgetIdle(now = Date.now()): string[] {
    const gone: string[] = [];
    const before = now - this.opts.forgetAfterS * 1000;
    for (const [name, n] of this.nodes) {
      if (n.up || (n.lastSeen ?? 0) >= before) continue;
      this.historyPoints -= n.history.clear();
      this.nodes.delete(name);
      gone.push(name);
    }
    if (gone.length) this.emit('change');
    return gone;
  }

  /** Over the fleet's point budget, the oldest frames of the largest histories go first. */
  private keepBudget(): void {
    while (this.historyPoints > this.opts.maxHistoryPoints) {
      let largest: NodeState | undefined;
      for (const n of this.nodes.values()) if (n.history.length > 1 && (!largest || n.history.length > largest.history.length)) largest = n;
      if (!largest) break;
      this.historyPoints -= largest.history.shift();
    }
  }

  /** Drop what is older than the retention or over the per-node frame cap. */
  private trim(st: NodeState, now: number): void {
    const keepFrom = now - this.opts.retentionS * 1000;
    const h = st.history;
    while (h.length > this.opts.maxHistoryFrames || (h.length && h.frames[0].time < keepFrom)) this.historyPoints -= h.shift();
  }

  private render(node: string, points: Point[]): Map<string, string> {
    return renderPoints(node, points, this.opts.maxSeriesPerFamily, {
      unknownFamily: () => void this.unknownFamilyPoints++,
      invalid: () => void this.invalidPoints++,
      overCap: (f) => void this.seriesDropped.set(f, (this.seriesDropped.get(f) ?? 0) + 1),
    }, this.opts.maxSeriesPerNode);
  }
}

function pushEvent(st: NodeState, e: NodeEvent): void {
  st.events.push(e);
  if (st.events.length > MAX_EVENTS) st.events.splice(0, st.events.length - MAX_EVENTS);
}

/**
 * A sampler is failing from its first error until frames come without its error while it is
 * not backing off (a sampler that backs off sends no error in the rounds it skips).
 */
function noteSamplerErrors(st: NodeState, msg: Samples): boolean {
  const now = msg.time;
  let changed = false;
  const failed = new Set<string>();
  for (const e of msg.errors) {
    failed.add(e.sampler);
    const had = st.samplerIssues.get(e.sampler);
    if (had) {
      if (!had.failing) {
        had.since = now;
        changed = true;
      }
      had.count++;
      had.message = e.message;
      had.last = now;
      had.failing = true;
      had.clean = 0;
    } else if (st.samplerIssues.size < 64) {
      st.samplerIssues.set(e.sampler, { sampler: e.sampler, count: 1, message: e.message, since: now, last: now, failing: true, clean: 0 });
      changed = true;
    }
    pushEvent(st, { time: now, kind: 'sampler-error', message: `sampler ${e.sampler} failed: ${e.message}` });
  }
  for (const issue of st.samplerIssues.values()) {
    if (!issue.failing || failed.has(issue.sampler)) continue;
    const backoff = msg.points.find((p) => p.f === 'agent_sampler_backoff_seconds' && p.l.sampler === issue.sampler);
    // one good round between timeouts (a late run's value) is not recovery: two in a row are
    if ((!backoff || backoff.v <= 0) && ++issue.clean >= RECOVERED_AFTER) {
      issue.failing = false;
      changed = true;
    }
  }
  return changed;
}

/** Host points (no zone label) are kept in history as the global zone's. */
function withHostZone(points: readonly Point[]): readonly Point[] {
  if (!points.some((p) => p.l.zone === undefined && HOST_FAMILY.test(p.f))) return points;
  return points.map((p) => (p.l.zone === undefined && HOST_FAMILY.test(p.f) ? { ...p, l: { ...p.l, zone: 'global' } } : p));
}
