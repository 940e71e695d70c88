// The server's own metrics (prom-client): what it received, what it refused, who is connected.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export function serverMetrics() {
  const registry = new Registry();
  // the process's own CPU, memory (heap, external) and event-loop lag: the first things to read
  // when a server carrying a fleet runs short
  collectDefaultMetrics({ register: registry });
  // gauges named like counters (promtool refuses them); the handles they count are not ours to tune
  for (const n of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(n);
  const p = 'zonescope_';
  return {
    registry,
    framesReceived: new Counter({ name: `${p}agent_frames_received_total`, help: 'Frames received from agents, by message type.', labelNames: ['type'], registers: [registry] }),
    framesRejected: new Counter({ name: `${p}agent_frames_rejected_total`, help: 'Frames from agents refused, by reason; the connection is closed.', labelNames: ['reason'], registers: [registry] }),
    agentsConnected: new Gauge({ name: `${p}agents_connected`, help: 'Agents connected now.', registers: [registry] }),
    // labelled by route pattern (/api/nodes/:node), never the raw path: strangers mint no series
    authFailures: new Counter({
      name: `${p}auth_failures_total`,
      help: 'Requests and upgrades refused: a missing, invalid, revoked or expired token or session (reason token), a foreign Origin (origin), too many logins (rate-limit); by route pattern.',
      labelNames: ['route', 'reason'],
      registers: [registry],
    }),
    samplerErrors: new Counter({ name: `${p}sampler_errors_total`, help: 'Sampler errors agents reported, by node and sampler.', labelNames: ['node', 'sampler'], registers: [registry] }),
    liveClients: new Gauge({ name: `${p}live_clients`, help: 'Browsers connected to /live.', registers: [registry] }),
    traceDrops: new Counter({ name: `${p}trace_drops_total`, help: 'Tracer drops reported by agents, by node and kind.', labelNames: ['node', 'kind'], registers: [registry] }),
    traceErrors: new Counter({ name: `${p}trace_errors_total`, help: 'Tracer errors reported by agents, by node.', labelNames: ['node'], registers: [registry] }),
    traceLinesUnparsed: new Counter({ name: `${p}trace_lines_unparsed_total`, help: 'Lines of tracer output agents could not read and skipped, by node.', labelNames: ['node'], registers: [registry] }),
    agentConnectionsRefused: new Counter({ name: `${p}agent_connections_refused_total`, help: 'Agent connections refused before any frame, by reason (connection-cap).', labelNames: ['reason'], registers: [registry] }),
    storeErrors: new Counter({ name: `${p}store_errors_total`, help: 'Store operations on the agent path that failed (full or damaged disk); the data is kept in memory.', labelNames: ['op'], registers: [registry] }),
    samplesStored: new Histogram({
      name: `${p}agent_samples_store_seconds`,
      help: 'From a samples frame read off its socket to its ack: checked, in fleet state, its position stored.',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    tracesStarted: new Counter({ name: `${p}traces_started_total`, help: 'Traces started, by script.', labelNames: ['script'], registers: [registry] }),
    tracesExpired: new Counter({
      name: `${p}traces_expired_total`,
      help: 'Stored traces deleted, oldest first: past --trace-retention (reason age) or over --trace-budget (reason budget).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}

/** A node left the fleet: its per-node series of the server's own metrics go with it. */
export async function forgetNodeSeries(m: ReturnType<typeof serverMetrics>, node: string): Promise<void> {
  for (const c of [m.samplerErrors, m.traceDrops, m.traceErrors, m.traceLinesUnparsed]) {
    for (const v of (await c.get()).values) if (v.labels.node === node) c.remove(v.labels as Record<string, string>);
  }
}
export type ServerMetrics = ReturnType<typeof serverMetrics>;
