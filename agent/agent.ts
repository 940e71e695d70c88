// The agent's clock: every interval it refreshes the zone list, runs all samplers side by side
// (one failing or hanging sampler never stops the others) and hands one numbered frame to the link.
import { PROTOCOL_VERSION, type Point, type SamplerError, type Samples, type Zone } from '../protocol/messages.js';
import type { Log } from './log.js';
import type { Platform, Sampler } from './platform/types.js';

export interface AgentOptions {
  platform: Platform;
  intervalS: number;
  log: Log;
  /** per-sampler time budget; a sampler over it is abandoned and counted as an error */
  samplerTimeoutMs?: number;
  /** where each frame goes (the link, or a test) */
  emit(frame: Samples): void;
  emitZones(zones: Zone[]): void;
}

export class Agent {
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private running = false;
  private zones: Zone[] = [];
  private zonesKey = '';
  private readonly errors = new Map<string, number>();
  private readonly unparsed = new Map<string, number>();
  private readonly durations = new Map<string, number>();

  constructor(private readonly o: AgentOptions) {}

  get currentZones(): readonly Zone[] {
    return this.zones;
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

  /** Discover zones now; the server hears of them only when they changed. */
  async refreshZones(): Promise<void> {
    const zones = await this.withTimeout('zones', () => this.o.platform.zones());
    const key = JSON.stringify(zones);
    this.zones = zones;
    if (key !== this.zonesKey) {
      this.zonesKey = key;
      this.o.emitZones(zones);
    }
  }

  async sampleOnce(): Promise<Samples> {
    const errors: SamplerError[] = [];
    try {
      await this.refreshZones();
    } catch (e) {
      errors.push(this.fail('zones', e));
    }

    const time = Date.now();
    const results = await Promise.all(this.o.platform.samplers.map((s) => this.run(s)));
    const points: Point[] = [];
    for (const r of results) {
      if ('error' in r) errors.push(r.error);
      else for (const p of r.points) points.push(p);
    }
    for (const [sampler, n] of this.errors) points.push({ f: 'agent_sampler_errors_total', l: { sampler }, v: n });
    for (const [sampler, n] of this.unparsed) points.push({ f: 'agent_values_unparsed_total', l: { sampler }, v: n });
    for (const [sampler, s] of this.durations) points.push({ f: 'agent_sampler_duration_seconds', l: { sampler }, v: s });
    const frame: Samples = { v: PROTOCOL_VERSION, type: 'samples', seq: ++this.seq, time, points, errors };
    this.o.emit(frame);
    return frame;
  }

  private async run(s: Sampler): Promise<{ points: Point[] } | { error: SamplerError }> {
    const t0 = performance.now();
    try {
      const ctx = {
        timeoutMs: this.o.samplerTimeoutMs ?? 5000,
        unparsed: (what: string) => {
          this.unparsed.set(s.name, (this.unparsed.get(s.name) ?? 0) + 1);
          this.o.log.debug(`${s.name}: could not parse ${what}`);
        },
      };
      const points = await this.withTimeout(s.name, () => s.sample(this.zones, ctx));
      return { points };
    } catch (e) {
      return { error: this.fail(s.name, e) };
    } finally {
      this.durations.set(s.name, (performance.now() - t0) / 1000);
    }
  }

  private fail(sampler: string, e: unknown): SamplerError {
    this.errors.set(sampler, (this.errors.get(sampler) ?? 0) + 1);
    const message = (e as Error)?.message ?? String(e);
    this.o.log.warn(`sampler ${sampler} failed: ${message}`);
    return { sampler, message: message.slice(0, 4096) };
  }

  private withTimeout<T>(name: string, fn: () => Promise<T>): Promise<T> {
    // a little over the command timeout, so the command's own (clearer) error wins the race
    const ms = (this.o.samplerTimeoutMs ?? 5000) + 1000;
    let timer: NodeJS.Timeout;
    return Promise.race([
      fn().finally(() => clearTimeout(timer)),
      new Promise<T>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  }
}
