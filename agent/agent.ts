// The agent's clock: every interval it refreshes the zone list, runs all samplers side by side
// and hands one numbered frame to the link. The frame goes out on time whatever a sampler
// does: one that has not answered by the round's deadline is abandoned for that round (its
// command keeps its own timeout and is never started twice at once), and one that keeps
// timing out is tried less and less often, so a hung `kstat` costs its own data only.
import { PROTOCOL_VERSION, type Point, type SamplerError, type Samples, type Zone } from '../protocol/messages.js';
import { CommandTimeout } from './exec.js';
import type { Log } from './log.js';
import type { Platform, Sampler } from './platform/types.js';

export interface AgentOptions {
  platform: Platform;
  intervalS: number;
  log: Log;
  /** per-command time budget; a sampler over it is abandoned and counted as an error */
  samplerTimeoutMs?: number;
  /** where each frame goes (the link, or a test) */
  emit(frame: Samples): void;
  emitZones(zones: Zone[]): void;
}

/** a sampler that timed out this many rounds in a row waits 2^(n-1) intervals, at most this long */
const MAX_BACKOFF_MS = 5 * 60_000;

interface Slot {
  /** the sampler's run still going, if any (never two at once) */
  inflight?: Promise<unknown>;
  /** the run its round stopped waiting for */
  abandoned?: Promise<unknown>;
  /** what an abandoned run brought when it finished: the next round's fallback */
  late?: { value: unknown };
  since: number;
  timeouts: number;
  skipUntil: number;
}

class RoundTimeout extends Error {}
/** thrown by bounded() for a round a backing-off sampler sits out */
const SKIPPED = new Error('skipped');

export class Agent {
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private running = false;
  private zones: Zone[] = [];
  private zonesKey = '';
  private readonly errors = new Map<string, number>();
  private readonly unparsed = new Map<string, number>();
  private readonly durations = new Map<string, number>();
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly o: AgentOptions) {}

  get currentZones(): readonly Zone[] {
    return this.zones;
  }

  private get timeoutMs(): number {
    return this.o.samplerTimeoutMs ?? 5000;
  }

  /** How long a round waits for its samplers: a little over the command timeout (so the
   * command's own, clearer error wins), but never so long that the frame comes late. */
  private get deadlineMs(): number {
    return Math.min(this.timeoutMs + 1000, Math.max(100, this.o.intervalS * 1000 * 0.8));
  }

  start(): void {
    this.running = true;
    void this.tick();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  /** One round: zones, then samples. Scheduled on a fixed cadence, never overlapping. */
  async tick(): Promise<Samples> {
    const started = Date.now();
    const frame = await this.sampleOnce();
    if (this.running) {
      const next = Math.max(0, this.o.intervalS * 1000 - (Date.now() - started));
      this.timer = setTimeout(() => void this.tick(), next);
    }
    return frame;
  }

  /** Discover zones now (after a VM action, say); the server hears of them only when they changed. */
  async refreshZones(): Promise<void> {
    this.setZones(await this.o.platform.zones());
  }

  private setZones(zones: Zone[]): void {
    const key = JSON.stringify(zones);
    this.zones = zones;
    if (key !== this.zonesKey) {
      this.zonesKey = key;
      this.o.emitZones(zones);
    }
  }

  async sampleOnce(): Promise<Samples> {
    const errors: SamplerError[] = [];
    const roundStart = Date.now();
    // Until the first zone list, a round waits for discovery as long as a command may take.
    // After that, discovery runs beside the samplers, which sample the last list: a slow
    // zoneadm never eats the samplers' time, and a new zone is sampled from the next round.
    const first = this.zonesKey === '';
    const discovery = this.bounded('zone-discovery', () => this.refreshZones(), roundStart, first ? this.timeoutMs + 1000 : this.deadlineMs).catch((e) => {
      // the last zone list stands; the samplers still run on it
      if (e !== SKIPPED) errors.push(this.fail('zone-discovery', e));
    });
    if (first) await discovery;

    // the round's start is when it sampled, whatever discovery cost: frames stay evenly spaced
    const time = roundStart;
    const results = await Promise.all(this.o.platform.samplers.map((s) => this.run(s, roundStart)));
    await discovery;
    const points: Point[] = [];
    for (const r of results) {
      if ('error' in r) {
        if (r.error) errors.push(r.error);
      } else for (const p of r.points) points.push(p);
    }
    for (const [sampler, n] of this.errors) points.push({ f: 'agent_sampler_errors_total', l: { sampler }, v: n });
    for (const [sampler, n] of this.unparsed) points.push({ f: 'agent_values_unparsed_total', l: { sampler }, v: n });
    for (const [sampler, s] of this.durations) points.push({ f: 'agent_sampler_duration_seconds', l: { sampler }, v: s });
    for (const [sampler, slot] of this.slots) points.push({ f: 'agent_sampler_backoff_seconds', l: { sampler }, v: Math.max(0, slot.skipUntil - time) / 1000 });
    const frame: Samples = { v: PROTOCOL_VERSION, type: 'samples', seq: ++this.seq, time, points, errors };
    this.o.emit(frame);
    return frame;
  }

  private async run(s: Sampler, roundStart: number): Promise<{ points: Point[] } | { error: SamplerError | undefined }> {
    const t0 = performance.now();
    try {
      const ctx = {
        timeoutMs: this.timeoutMs,
        run: this.o.platform.run,
        unparsed: (what: string) => {
          this.unparsed.set(s.name, (this.unparsed.get(s.name) ?? 0) + 1);
          this.o.log.debug(`${s.name}: could not parse ${what}`);
        },
      };
      const points = await this.bounded(s.name, () => s.sample(this.zones, ctx), roundStart);
      this.durations.set(s.name, (performance.now() - t0) / 1000);
      return { points };
    } catch (e) {
      // a skipped round (backing off) is not a new failure: the one that caused it was counted
      return e === SKIPPED ? { error: undefined } : { error: this.fail(s.name, e) };
    }
  }

  /**
   * Runs `fn` for this round, answering by the round's deadline (or `deadlineMs`). A run still
   * going from an earlier round is waited for, not started again. A run that finishes after its
   * round gave up is not wasted: the next round falls back on it when its own run is late too,
   * so a slow sampler delivers every round, one round late. Only a round with nothing at all is
   * a timeout; timeouts in a row make the next tries wait longer.
   */
  private async bounded<T>(name: string, fn: () => Promise<T>, roundStart = Date.now(), deadlineMs = this.deadlineMs): Promise<T> {
    let slot = this.slots.get(name);
    if (!slot) this.slots.set(name, (slot = { since: 0, timeouts: 0, skipUntil: 0 }));
    const s = slot;
    const now = Date.now();
    if (now < s.skipUntil) throw SKIPPED;
    const resumed = s.inflight !== undefined;
    if (!s.inflight) {
      const started = fn();
      s.inflight = started;
      s.since = now;
      // settles the slot whenever the run ends, in this round or a later one
      void started.then(
        (value) => {
          s.inflight = undefined;
          if (s.abandoned === started) s.late = { value };
        },
        () => (s.inflight = undefined),
      );
    }
    const work = s.inflight as Promise<T>;
    const left = Math.max(0, roundStart + deadlineMs - now);
    const why = resumed
      ? `${name}: still running from a round ${((now - s.since) / 1000).toFixed(1)} s ago; not started again`
      : `${name}: no answer within ${left} ms; abandoned for this round`;
    let timer: NodeJS.Timeout | undefined;
    try {
      const out = await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new RoundTimeout(why)), left)))]);
      s.timeouts = 0;
      s.late = undefined;
      return out;
    } catch (e) {
      if (e instanceof RoundTimeout) {
        s.abandoned = work;
        if (s.late) {
          const { value } = s.late;
          s.late = undefined;
          s.timeouts = 0;
          return value as T;
        }
        throw this.timedOut(name, s, e.message);
      }
      if (e instanceof CommandTimeout) throw this.timedOut(name, s, e.message);
      s.timeouts = 0;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One more round without an answer; from the second in a row, the next tries wait. */
  private timedOut(name: string, s: Slot, message: string): Error {
    s.timeouts++;
    if (s.timeouts < 2) return new Error(message);
    const wait = Math.min(MAX_BACKOFF_MS, this.o.intervalS * 1000 * 2 ** (s.timeouts - 1));
    s.skipUntil = Date.now() + wait;
    this.o.log.debug(`${name}: backing off for ${wait} ms`);
    return new Error(`${message} (timed out ${s.timeouts} rounds in a row: next try in ${(wait / 1000).toFixed(wait < 10_000 ? 1 : 0)} s)`);
  }

  private fail(sampler: string, e: unknown): SamplerError {
    this.errors.set(sampler, (this.errors.get(sampler) ?? 0) + 1);
    const message = (e as Error)?.message ?? String(e);
    this.o.log.warn(`sampler ${sampler} failed: ${message}`);
    return { sampler, message: message.slice(0, 4096) };
  }
}
