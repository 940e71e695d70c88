// Runs curated traces for the server: one tracer process per trace, checked against the host's
// prerequisites first, bounded in number (per node, per zone), in time (the script's own tick
// counter; then SIGINT once the duration has passed since its first output, SIGKILL if it does
// not exit) and in output, and tied to the agent's life: on Linux the tracer is started through
// `setpriv --pdeathsig KILL`, so the kernel kills it when the agent dies, even by kill -9.
// The target process and the zone are watched while it runs; how it ended is judged by
// outcome.ts from what was seen.
import { execa, type ResultPromise } from 'execa';
import { PROTOCOL_VERSION, type AgentMessage, type ScriptAvailability, type TraceStart, type Zone } from '../../protocol/messages.js';
import type { TraceEvent, TraceRecord } from '../../protocol/records.js';
import type { Log } from '../log.js';
import { bpftraceDriver } from './bpftrace.js';
import { findScript, scriptFile, scriptsDir, type ScriptMeta } from '../../scripts/catalog.js';
import type { Interval, StderrDecoder, TracerDriver } from './driver.js';
import { dtraceDriver } from './dtrace.js';
import { TRACE_LIMITS } from '../../scripts/limits.js';
import { checkDuration, checkParams, checkZoneName } from '../../scripts/params.js';
import { cleanupNoise, traceOutcome, type Outcome, type RunFacts } from './outcome.js';
import { TraceWatch } from './watch.js';
import { timeSlices } from './time-slices.js';
import { fitEvents, fitRecord } from './frame-fit.js';
import { which } from '../exec.js';

export interface RunnerOptions {
  tracer: 'dtrace' | 'bpftrace';
  zones(): Promise<Zone[]>;
  send(msg: AgentMessage): void;
  log: Log;
  limits?: Partial<typeof TRACE_LIMITS>;
  scriptsDir?: string;
  /** checks the host before each trace (agent/tracers/prerequisites.ts); none: assume all can run */
  prerequisites?: () => Promise<ScriptAvailability[]>;
  /** watch a per-process script's target pid in /proc (not for simulated nodes) */
  watchProcesses?: boolean;
  /** the zones the agent knows now, for watching zones that have no cgroup directory */
  knownZones?: () => readonly Zone[];
}

interface Running {
  id: string;
  zone: string;
  proc?: ResultPromise;
  pid?: number;
  /** why the runner signalled it, if it did */
  reason?: RunFacts['ended'];
  killed: boolean;
  unit: string;
  durationS: number;
  /** when the start reached this agent, and when the tracer was spawned (the start-up's log line) */
  requested: number;
  startedAt: number;
  firstOutput: number;
  /** when the first interval was sent: a second of tracing had passed by then */
  firstInterval: number;
  lastOutput: number;
  timers: NodeJS.Timeout[];
  interval: number;
  events: TraceEvent[];
  extraEvents: number;
  firstError?: string;
  lastStderr?: string;
  runErrors: Map<string, number>;
  lost: number;
  counted: number;
  drops: Record<string, number>;
  gone: string[];
  watch?: TraceWatch;
  done: Promise<void>;
  /** epoch ms minus monotonic ms, taken once so every time slice of the trace maps alike */
  epochOffsetMs: number;
  /** intervals waiting on the driver's finish(), sent in order */
  chain: Promise<void>;
}

const DROP_KINDS = new Set(['drops', 'aggregation-drops', 'dynvar-drops', 'speculation-drops']);

/** Frames stay well under MAX_FRAME_BYTES; a big interval goes out as several frames. */
const FRAME_BUDGET = 3 * 1024 * 1024;
const MAX_EVENTS = 1000;


export class TraceRunner {
  private readonly running = new Map<string, Running>();
  private readonly driver: TracerDriver;
  private readonly limits: typeof TRACE_LIMITS;
  private readonly setpriv = process.platform === 'linux' ? which('setpriv') : undefined;

  constructor(private readonly o: RunnerOptions) {
    this.driver = o.tracer === 'dtrace' ? dtraceDriver : bpftraceDriver;
    this.limits = { ...TRACE_LIMITS, ...o.limits };
    if (process.platform === 'linux' && !this.setpriv) o.log.warn('setpriv (util-linux) not found: tracers may outlive a killed agent');
  }

  get count(): number {
    return this.running.size;
  }

  /** pids of the tracer processes, for tests and diagnostics */
  pids(): number[] {
    return [...this.running.values()].flatMap((r) => (r.pid ? [r.pid] : []));
  }

  async start(msg: TraceStart): Promise<void> {
    const fail = (error: string) => this.end(msg.id, { status: 'failed', error });
    if (this.running.has(msg.id)) return fail(`trace ${msg.id} is already running`);
    const meta = findScript(msg.script, this.o.scriptsDir);
    if (!meta) return fail(`script: unknown script '${msg.script}'`);
    let values: Record<string, number | string>;
    let durationS: number;
    try {
      checkZoneName(msg.zone);
      values = checkParams(meta, msg.params);
      durationS = checkDuration(meta, msg.durationS);
    } catch (e) {
      return fail((e as Error).message);
    }
    if (this.running.size >= this.limits.perNode) return fail(`too many traces on this node: ${this.running.size} running, the limit is ${this.limits.perNode}`);
    const inZone = [...this.running.values()].filter((r) => r.zone === msg.zone).length;
    if (inZone >= this.limits.perZone) return fail(`too many traces on zone '${msg.zone}': ${inZone} running, the limit is ${this.limits.perZone}`);

    const r: Running = {
      id: msg.id,
      zone: msg.zone,
      killed: false,
      unit: meta.unit,
      durationS,
      requested: Date.now(),
      // the tracers' nsecs/timestamp and Node's hrtime read the same monotonic clock
      epochOffsetMs: Date.now() - Number(process.hrtime.bigint() / 1_000_000n),
      startedAt: Date.now(),
      firstOutput: 0,
      firstInterval: 0,
      lastOutput: 0,
      timers: [],
      interval: 0,
      events: [],
      extraEvents: 0,
      runErrors: new Map(),
      lost: 0,
      counted: 0,
      drops: {},
      gone: [],
      done: Promise.resolve(),
      chain: Promise.resolve(),
    };
    this.running.set(msg.id, r); // counted from now on, so concurrent starts see it
    let resolveDone!: () => void;
    r.done = new Promise((res) => (resolveDone = res));
    let cleanup: (() => void) | undefined;
    try {
      // both checks at once: an on-call engineer waits on them before anything is traced
      const [a, zone] = await Promise.all([
        this.o.prerequisites?.().then((all) => all.find((x) => x.id === meta.id), (e: Error) => ({ id: meta.id, available: false, reason: `prerequisites: ${e.message}` })),
        this.zone(msg.zone),
      ]);
      if (a && !a.available) throw new Error(`${meta.id} cannot run on this node: ${a.reason ?? 'its prerequisites are missing'}`);
      if (!zone) throw new Error(`zone: no zone '${msg.zone}' on this node`);
      const file = scriptFile(meta, this.driver.name, this.o.scriptsDir ?? scriptsDir());
      const inv = await this.driver.invocation(meta, file, zone, durationS, values);
      cleanup = inv.cleanup;
      for (const w of inv.warnings ?? []) this.event(r, { kind: 'warning', count: 1, message: w });
      const decoder = this.driver.stdout(meta, file);
      if (r.reason === 'stop') throw new Error('stopped before the tracer started');
      const [cmd, args] = this.setpriv ? [this.setpriv, ['--pdeathsig', 'KILL', '--', inv.cmd, ...inv.args]] : [inv.cmd, inv.args];
      this.o.log.info(`trace ${msg.id}: ${meta.id} on zone ${msg.zone} for ${durationS}s: ${inv.cmd} ${inv.args.join(' ')}`);
      const proc = execa(cmd, args, { env: inv.env, stdin: 'ignore', buffer: false, reject: false, cleanup: true, encoding: 'utf8' });
      r.proc = proc;
      r.pid = proc.pid;
      r.startedAt = Date.now();
      const pid = this.o.watchProcesses && meta.params.some((p) => p.name === 'pid') ? Number(values.pid) : undefined;
      r.watch = new TraceWatch({
        pid,
        zone,
        knownZones: this.o.knownZones,
        // counted like the duration: from the tracer's first output (probes attached), or a
        // second before the first interval came when that is earlier (bpftrace starts its
        // interval timer before it is done attaching uprobes and says so)
        since: () => Math.min(r.firstOutput || r.startedAt, r.firstInterval ? r.firstInterval - 1000 : Infinity),
        onGone: (why) => {
          this.o.log.info(`trace ${msg.id}: ${why}`);
          r.gone.push(why);
          this.signal(r, 'gone');
        },
      });
      await r.watch.begin();
      this.pump(r, proc, decoder, this.driver.stderr(), meta);
      // attaching probes can take a while (uprobes on a big binary): the duration counts from
      // the tracer's first output, and it gets a grace for its last print
      r.timers.push(setTimeout(() => r.firstOutput === 0 && this.signal(r, 'startup'), this.limits.startupGraceS * 1000));
      const result = await proc;
      r.watch.check();
      for (const iv of decoder.end()) this.deliver(r, meta, iv);
      await r.chain;
      if (r.events.length || r.extraEvents) this.frame(r, { records: [], events: [] }, false);
      this.end(msg.id, this.outcome(r, result.exitCode, result.signal, result.failed && result.exitCode === undefined && !result.signal ? result.shortMessage : undefined));
    } catch (e) {
      this.end(msg.id, { status: r.reason === 'stop' ? 'stopped' : 'failed', error: (e as Error).message });
    } finally {
      cleanup?.();
      r.watch?.stop();
      for (const t of r.timers) clearTimeout(t);
      this.running.delete(msg.id);
      resolveDone();
    }
  }

  /** The zone as the agent last discovered it, or as found now when that list does not have it
   * (created since): discovering walks the cgroup tree, which a loaded host makes slow. */
  private async zone(name: string): Promise<Zone | undefined> {
    const find = (zones: readonly Zone[]) => zones.find((z) => z.name === name);
    return find(this.o.knownZones?.() ?? []) ?? find(await this.o.zones()) ?? (name === 'global' ? { name: 'global', brand: 'global', state: 'running' } : undefined);
  }

  /** SIGINT: the tracer prints what it has and exits; SIGKILL if it has not after the grace
   * (longer while it is still printing: the last interval is worth the wait). */
  stop(id: string): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    this.signal(r, 'stop');
    return true;
  }

  async stopAll(): Promise<void> {
    const all = [...this.running.values()];
    for (const r of all) this.signal(r, 'stop');
    await Promise.all(all.map((r) => r.done));
  }

  private signal(r: Running, reason: NonNullable<Running['reason']>): void {
    if (r.reason) return;
    r.reason = reason;
    if (!r.proc) return;
    r.proc.kill('SIGINT');
    const sent = Date.now();
    const kill = () => {
      if (!r.proc || r.proc.exitCode !== null || r.proc.signalCode !== null) return;
      const printing = Date.now() - r.lastOutput < 1000 && Date.now() - sent < 3 * this.limits.killGraceS * 1000;
      if (printing) return void r.timers.push(setTimeout(kill, 500));
      r.killed = true;
      r.proc.kill('SIGKILL');
    };
    r.timers.push(setTimeout(kill, this.limits.killGraceS * 1000));
  }

  private pump(r: Running, proc: ResultPromise, decoder: { push(c: string): Interval[] }, stderr: StderrDecoder, meta: ScriptMeta): void {
    let bytes = 0;
    proc.stdout?.on('data', (chunk: string | Buffer) => {
      const text = String(chunk);
      if (r.firstOutput === 0) {
        r.firstOutput = Date.now();
        r.timers.push(setTimeout(() => this.signal(r, 'limit'), (r.durationS + this.limits.endGraceS) * 1000));
      }
      r.lastOutput = Date.now();
      bytes += Buffer.byteLength(text);
      let out: Interval[];
      try {
        out = decoder.push(text);
      } catch (e) {
        this.event(r, { kind: 'unparsed', count: Math.max(1, text.split('\n').length - 1), message: `unparsed tracer output: ${(e as Error).message}`.slice(0, 4096) });
        return;
      }
      if (out.length) bytes = 0;
      for (const iv of out) this.deliver(r, meta, iv);
      if (bytes > this.limits.maxIntervalBytes) {
        this.event(r, { kind: 'warning', count: 1, message: `one interval produced over ${this.limits.maxIntervalBytes} bytes: trace stopped` });
        this.signal(r, 'overflow');
      }
    });
    let partial = '';
    proc.stderr?.on('data', (chunk: string | Buffer) => {
      const lines = (partial + String(chunk)).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (l.trim()) r.lastStderr = l.trim().slice(0, 1024);
        for (const ev of stderr.line(l)) this.stderrEvent(r, ev);
      }
    });
    proc.stderr?.on('end', () => {
      if (partial.trim()) r.lastStderr = partial.trim().slice(0, 1024);
      for (const ev of [...(partial ? stderr.line(partial) : []), ...stderr.end()]) this.stderrEvent(r, ev);
    });
  }

  private stderrEvent(r: Running, ev: TraceEvent): void {
    ev = cleanupNoise(ev, !!r.reason);
    if (!r.firstError && (ev.kind === 'error' || ev.kind === 'compile-error' || ev.kind === 'no-probes')) r.firstError = ev.message;
    if (ev.kind === 'error') r.runErrors.set(ev.message, (r.runErrors.get(ev.message) ?? 0) + ev.count);
    this.event(r, ev);
  }

  /** what the outcome needs from an event: lost samples and drops */
  private tally(r: Running, ev: TraceEvent): void {
    if (ev.kind === 'samples-lost') r.lost += ev.count;
    else if (DROP_KINDS.has(ev.kind)) r.drops[ev.kind] = (r.drops[ev.kind] ?? 0) + ev.count;
  }

  private event(r: Running, ev: TraceEvent): void {
    this.tally(r, ev);
    if (r.events.length < MAX_EVENTS) r.events.push(ev);
    else r.extraEvents++;
  }

  /** Sends an interval once the driver has finished it, after those before it. */
  private deliver(r: Running, meta: ScriptMeta, iv: Interval): void {
    // one record per stack before its frames are named: fewer to name
    if (meta.timeSliced) iv.records = timeSlices(iv.records, r.epochOffsetMs);
    const finish = this.driver.finish;
    if (!finish) return this.frame(r, iv, !iv.trailing);
    r.chain = r.chain.then(async () => {
      let out = iv;
      const t0 = performance.now();
      try {
        out = await finish(iv, meta);
        this.o.log.debug(`trace ${r.id}: interval ${r.interval + 1} named and merged in ${(performance.now() - t0).toFixed(0)} ms`);
      } catch (e) {
        out.events.push({ kind: 'warning', count: 1, message: `interval not post-processed: ${(e as Error).message}`.slice(0, 4096) });
      }
      this.frame(r, out, !iv.trailing);
    });
  }

  /** One interval → one or more frames (same interval number); pending stderr events ride along.
   * Events left at the end go with the last interval's number (`next` false): not a new one. */
  private frame(r: Running, iv: Interval, next = true): void {
    const interval = next ? ++r.interval : r.interval;
    r.counted += iv.counted ?? 0;
    for (const e of iv.events) this.tally(r, e);
    const events = fitEvents([...iv.events, ...r.events], r.extraEvents);
    r.events = [];
    r.extraEvents = 0;
    const time = Date.now();
    // where the seconds before the first answer went: an on-call engineer waits on them
    if (interval === 1 && next) {
      r.firstInterval = time;
      this.o.log.info(`trace ${r.id}: first interval sent ${time - r.requested} ms after the start (checks ${r.startedAt - r.requested} ms, tracer's first output +${r.firstOutput - r.startedAt} ms, then +${time - r.firstOutput} ms)`);
    }
    let batch: TraceRecord[] = [];
    let size = 0;
    const flush = (last: boolean) => {
      this.o.send({ v: PROTOCOL_VERSION, type: 'trace-frame', id: r.id, interval, time, records: batch, events: last ? events : [] });
      batch = [];
      size = 0;
    };
    for (const raw of iv.records) {
      const rec = fitRecord(raw);
      const s = JSON.stringify(rec).length;
      if (batch.length && (size + s > FRAME_BUDGET || batch.length >= 100_000)) flush(false);
      batch.push(rec);
      size += s;
    }
    flush(true);
  }

  private outcome(r: Running, code: number | undefined, signal: string | undefined, spawnError?: string): Outcome {
    return traceOutcome({
      tracer: this.driver.name,
      unit: r.unit,
      durationS: r.durationS,
      intervals: r.interval,
      exitCode: code ?? null,
      signal,
      spawnError,
      ended: r.reason,
      killed: r.killed,
      firstError: r.firstError,
      lastStderr: r.lastStderr,
      runErrors: r.runErrors,
      lostSamples: r.lost,
      countedSamples: r.counted,
      drops: r.drops,
      gone: r.gone,
      limits: this.limits,
    });
  }

  private end(id: string, e: Outcome): void {
    if (e.status === 'failed') this.o.log.warn(`trace ${id} failed: ${e.error}`);
    else if (e.status === 'partial') this.o.log.info(`trace ${id} partial: ${e.reasons?.join('; ')}`);
    this.o.send({ v: PROTOCOL_VERSION, type: 'trace-end', id, ...e });
  }
}
