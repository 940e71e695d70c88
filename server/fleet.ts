// The live state of the fleet: one entry per node that ever said hello since the server
// started, its zones, its latest samples (pre-rendered for /metrics) and a bounded history.
import { EventEmitter } from 'node:events';
import type { Hello, Point, Samples, Zone } from '../protocol/messages.js';
import { MAX_SERIES_PER_FAMILY, renderPoints } from '../protocol/exposition.js';

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
  latest: Frame | null;
  /** exposition text of the latest frame, per family, ready to concatenate */
  rendered: Map<string, string>;
  history: Frame[];
  seq: SeqState;
  samplerErrors: number;
}

export interface FleetOptions {
  /** history kept per node, in seconds of samples */
  retentionS: number;
  /** most frames of history per node whatever the interval (bounds memory) */
  maxHistoryFrames: number;
  /** most zone points kept in history across the whole fleet (memory: ~150 bytes each);
   * over it, the oldest frames of the largest histories go first */
  maxHistoryPoints: number;
  /** most series one node may expose per family; the rest are counted and dropped */
  maxSeriesPerFamily: number;
}

export const DEFAULT_FLEET: FleetOptions = { retentionS: 3600, maxHistoryFrames: 720, maxHistoryPoints: 2_000_000, maxSeriesPerFamily: MAX_SERIES_PER_FAMILY };

export class Fleet extends EventEmitter {
  readonly nodes = new Map<string, NodeState>();
  /** series dropped over the cap, by family, since the server started */
  readonly seriesDropped = new Map<string, number>();
  /** points naming a family the server does not know */
  unknownFamilyPoints = 0;
  /** zone points held in all nodes' history */
  historyPoints = 0;
  private lastSweep = 0;

  constructor(readonly opts: FleetOptions = DEFAULT_FLEET) {
    super();
  }

  connect(hello: Hello, seq: SeqState, now = Date.now()): NodeState {
    const prev = this.nodes.get(hello.node);
    const st: NodeState = {
      node: hello.node,
      hello,
      up: true,
      connectedAt: now,
      lastSeen: now,
      zones: prev?.zones ?? [],
      latest: prev?.hello.epoch === hello.epoch ? prev.latest : null,
      rendered: prev?.hello.epoch === hello.epoch ? prev.rendered : new Map(),
      history: prev?.history ?? [],
      seq,
      samplerErrors: prev?.samplerErrors ?? 0,
    };
    this.nodes.set(hello.node, st);
    this.emit('change');
    return st;
  }

  disconnect(node: string): void {
    const st = this.nodes.get(node);
    if (!st || !st.up) return;
    st.up = false;
    st.connectedAt = null;
    this.emit('change');
  }

  setZones(node: string, zones: Zone[]): void {
    const st = this.nodes.get(node);
    if (!st) return;
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
    if (st.seq.last > 0 && msg.seq > st.seq.last + 1) st.seq.gaps += msg.seq - st.seq.last - 1;
    st.seq.last = msg.seq;
    st.seq.received++;
    st.samplerErrors += msg.errors.length;
    const frame: Frame = { seq: msg.seq, time: msg.time, points: msg.points };
    // A resent backlog may arrive after newer frames were kept: only the newest is "latest".
    if (!st.latest || frame.time >= st.latest.time) {
      st.latest = frame;
      st.rendered = this.render(node, frame.points);
    }
    // history serves the zone views: only zone points are kept, within the fleet's budget
    const kept: Frame = { seq: frame.seq, time: frame.time, points: frame.points.filter((p) => p.l.zone !== undefined) };
    st.history.push(kept);
    this.historyPoints += kept.points.length;
    this.trim(st, now);
    if (now - this.lastSweep > 60_000) {
      this.lastSweep = now;
      for (const n of this.nodes.values()) this.trim(n, now);
    }
    while (this.historyPoints > this.opts.maxHistoryPoints) {
      let largest: NodeState | undefined;
      for (const n of this.nodes.values()) if (n.history.length > 1 && (!largest || n.history.length > largest.history.length)) largest = n;
      if (!largest) break;
      this.historyPoints -= largest.history.shift()!.points.length;
    }
    this.emit('samples', node, frame);
    return true;
  }

  /** Drop what is older than the retention or over the per-node frame cap. */
  private trim(st: NodeState, now: number): void {
    const keepFrom = now - this.opts.retentionS * 1000;
    while (st.history.length > this.opts.maxHistoryFrames || (st.history.length && st.history[0].time < keepFrom)) {
      this.historyPoints -= st.history.shift()!.points.length;
    }
  }

  private render(node: string, points: Point[]): Map<string, string> {
    return renderPoints(node, points, this.opts.maxSeriesPerFamily, {
      unknownFamily: () => void this.unknownFamilyPoints++,
      overCap: (f) => void this.seriesDropped.set(f, (this.seriesDropped.get(f) ?? 0) + 1),
    });
  }
}
