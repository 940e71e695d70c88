// Wiring of one agent: platform → sampling loop → link → server, plus the server's requests.
import { hostname } from 'node:os';
import { PROTOCOL_VERSION, type Proc, type ProcsRequest, type VmAction } from '../protocol/messages.js';
import { Agent } from './agent.js';
import { Link } from './link.js';
import type { Log } from './log.js';
import { makePlatform } from './platform/index.js';
import type { Platform } from './platform/types.js';
import { TraceRunner } from './tracers/runner.js';
import { VERSION } from '../protocol/version.js';
import { listenMetrics } from './metrics-listen.js';
import { Growth } from './procs/growth.js';
import { Prerequisites } from './tracers/prerequisites.js';
import { loadCatalog } from '../scripts/catalog.js';

export interface RunAgentOptions {
  server: string;
  token: string;
  node?: string;
  intervalS: number;
  /** a platform name (default: detected), or a platform made by the caller (a simulated node) */
  platform?: string | Platform;
  /** false: do not look for the tracer (simulated nodes have none) */
  tracer?: false;
  /** frames kept while the server is away (default: a day at 10 s) */
  maxBuffer?: number;
  log: Log;
  /** serve this node's own /metrics on [HOST]:PORT */
  metricsListen?: string;
  /** with metricsListen: samples stay here, served at /metrics; the link carries only control
   * (hello, zones, traces, VM actions), for fleets where Prometheus does the fan-in */
  controlOnly?: boolean;
  metricsToken?: string;
  /** TLS trust for a wss:// server: a private CA, and/or the one certificate to accept */
  ca?: string;
  pin?: string;
}

export interface RunningAgent {
  node: string;
  link: Link;
  agent: Agent;
  stop(): Promise<void>;
}

export function agentUrl(server: string): string {
  const u = new URL(server);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/agent';
  return u.toString();
}

export async function runAgent(o: RunAgentOptions): Promise<RunningAgent> {
  if (o.controlOnly && !o.metricsListen) throw new Error('controlOnly needs metricsListen: the samples must be served somewhere');
  const platform = typeof o.platform === 'object' ? o.platform : makePlatform(o.platform);
  const node = o.node ?? hostname();
  // what each script needs, checked now (reported in the hello) and before each trace;
  // a node told not to look for its tracer (simulated) reports every script unavailable
  const prereq = new Prerequisites({ tracer: platform.tracer, log: o.log });
  const check = async () =>
    o.tracer === false ? loadCatalog().map((s) => ({ id: s.id, available: false, reason: `this node does not run ${platform.tracer}` })) : prereq.check(loadCatalog());
  let scripts = await check();
  if (!prereq.version && o.tracer !== false) o.log.warn(`${platform.tracer} not found or not runnable: traces are unavailable on this node`);
  const why = new Map<string, string[]>();
  for (const s of scripts) if (!s.available && prereq.version) why.set(s.reason ?? '', [...(why.get(s.reason ?? '') ?? []), s.id]);
  for (const [reason, ids] of why) o.log.warn(`cannot run ${ids.join(', ')} on this node: ${reason}`);
  const tracerUp = () => !!prereq.version && scripts.some((s) => s.available);
  const epoch = Date.now();
  const own = o.metricsListen ? await listenMetrics(o.metricsListen, hostname(), o.metricsToken) : undefined;
  const link = new Link({
    url: agentUrl(o.server),
    token: o.token,
    ca: o.ca,
    pin: o.pin,
    log: o.log,
    ...(o.maxBuffer ? { maxBuffer: o.maxBuffer } : {}),
    hello: () => ({
      v: PROTOCOL_VERSION,
      type: 'hello',
      node,
      hostname: hostname(),
      platform: platform.name,
      simulated: platform.simulated,
      // available: at least one script can run (which ones, and why not, is in `scripts`)
      tracer: { name: platform.tracer, available: tracerUp(), ...(prereq.version ? { version: prereq.version } : {}) },
      capabilities: [...(o.controlOnly ? [] : ['samples']), 'vm', 'procs', ...(tracerUp() ? ['trace'] : [])],
      agentVersion: VERSION,
      epoch,
      intervalS: o.intervalS,
      ...(own ? { metricsUrl: own.url } : {}),
      scripts,
    }),
  });
  const agent = new Agent({
    platform,
    intervalS: o.intervalS,
    log: o.log,
    emit: (f) => {
      own?.samples(f);
      if (!o.controlOnly) link.sendSamples(f);
    },
    emitZones: (z) => {
      own?.zones(z);
      link.sendZones(z);
    },
  });
  if (own) {
    own.hello({ ...link.helloFrame(), dropped: 0 });
    o.log.info(`serving this node's metrics on ${own.url}`);
  }
  const growth = new Growth();
  const procs = async (msg: ProcsRequest) => {
    const reply = (ok: boolean, list: Proc[], message?: string, previous?: number) =>
      link.send({ v: PROTOCOL_VERSION, type: 'procs-result', id: msg.id, ok, procs: list, ...(message ? { message: message.slice(0, 4096) } : {}), ...(previous ? { previous } : {}) });
    const zone = agent.currentZones.find((z) => z.name === msg.zone);
    if (!zone) return void reply(false, [], `no zone '${msg.zone}' on this node`);
    try {
      const { procs: list, previous } = growth.compare(zone.name, await platform.processes(zone, msg.limit));
      reply(true, list, undefined, previous);
    } catch (e) {
      reply(false, [], (e as Error).message);
    }
  };
  const vmAction = async (msg: VmAction) => {
    const reply = (ok: boolean, message: string) => link.send({ v: PROTOCOL_VERSION, type: 'vm-result', id: msg.id, ok, message: message.slice(0, 4096) });
    const zone = agent.currentZones.find((z) => z.name === msg.zone);
    if (!zone) return void reply(false, `no zone '${msg.zone}' on this node`);
    o.log.info(`vm ${msg.action} ${msg.zone} (request ${msg.id})`);
    try {
      reply(true, await platform.vmAction(zone, msg.action));
    } catch (e) {
      reply(false, (e as Error).message);
    }
    await agent.refreshZones().catch(() => undefined);
  };
  // The host changes under a running agent (tracefs unmounted, bpftrace removed or installed):
  // checked before each trace and every minute, and the server told when the answer changed.
  const recheck = async () => {
    const now = await check();
    if (JSON.stringify(now) !== JSON.stringify(scripts)) {
      o.log.info(`scripts now available: ${now.filter((s) => s.available).length} of ${now.length}`);
      link.send({ v: PROTOCOL_VERSION, type: 'scripts', scripts: now });
    }
    return (scripts = now);
  };
  const rechecks = setInterval(() => void recheck().catch((e: Error) => o.log.warn(`checking the scripts' prerequisites: ${e.message}`)), 60_000);
  rechecks.unref();
  const traces = new TraceRunner({
    tracer: platform.tracer,
    zones: () => platform.zones(),
    send: (m) => void link.send(m),
    log: o.log,
    prerequisites: recheck,
    watchProcesses: !platform.simulated,
    knownZones: () => agent.currentZones,
  });
  link.on('message', (msg) => {
    if (msg.type === 'trace-start') void traces.start(msg);
    else if (msg.type === 'trace-stop') traces.stop(msg.id);
    else if (msg.type === 'vm-action') void vmAction(msg);
    else if (msg.type === 'procs') void procs(msg);
  });
  // the server fails a disconnected node's traces: nobody would receive what they print
  link.on('disconnected', () => void traces.stopAll());
  link.start();
  agent.start();
  o.log.info(`agent for node '${node}' (${platform.name}${platform.simulated ? ', simulated' : ''}) sampling every ${o.intervalS}s → ${o.server}`);
  return {
    node,
    link,
    agent,
    async stop() {
      clearInterval(rechecks);
      await traces.stopAll();
      agent.stop();
      link.stop();
      await own?.close();
    },
  };
}
