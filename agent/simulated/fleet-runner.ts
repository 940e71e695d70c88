// Starts a simulated fleet: N simulated SmartOS nodes in this process, each a real agent
// whose commands its simulated node answers in-process. Used by `zonescope simulate` and the
// fan-in benchmark.
import type { Log } from '../log.js';
import { illumosPlatform } from '../platform/illumos.js';
import { runAgent, type RunningAgent } from '../run.js';
import { simulatedRunner } from './commands.js';
import { fleetNodeData } from './fleet.js';
import { readNodeData, SimNode } from './node.js';

export interface FleetOptions {
  count: number;
  server: string;
  token: string;
  intervalS: number;
  log: Log;
  zonesPerNode?: number;
  prefix?: string;
  /** another node description file */
  data?: string;
  /** CA certificate(s), PEM, to trust for https/wss servers */
  ca?: string;
}

export interface SimulatedFleet {
  agents: RunningAgent[];
  /** stop starting more nodes, and stop those running */
  stop(): Promise<void>;
  /** resolves once every node has been started */
  started: Promise<void>;
}

export function nodeName(prefix: string, i: number, count: number): string {
  return `${prefix}${String(i).padStart(Math.max(4, String(count).length), '0')}`;
}

export function startFleet(o: FleetOptions): SimulatedFleet {
  const template = readNodeData(o.data);
  const agents: RunningAgent[] = [];
  let stopping = false;
  const started = (async () => {
    for (let i = 1; i <= o.count && !stopping; i++) {
      const name = nodeName(o.prefix ?? 'sim-', i, o.count);
      // nodes' clocks a few minutes apart, so their gauges do not wander in step
      const node = new SimNode(fleetNodeData(template, name, o.zonesPerNode), undefined, (i * 7.31) % 300);
      agents.push(await runAgent({
        server: o.server, token: o.token, node: name, intervalS: o.intervalS, log: o.log, tracer: false,
        ...(o.ca ? { ca: o.ca } : {}),
        platform: illumosPlatform({ simulated: true, run: simulatedRunner(node) }),
        // a simulated fleet is not worth a day of frames each while the server is away
        maxBuffer: 60,
      }));
      // spread the first frames over one interval
      if (i < o.count) await new Promise((r) => setTimeout(r, (o.intervalS * 1000) / o.count));
    }
  })();
  return {
    agents,
    started,
    async stop() {
      stopping = true;
      await started.catch(() => undefined);
      await Promise.all(agents.map((a) => a.stop()));
    },
  };
}
