// `zonescope simulate`: a fleet of simulated SmartOS nodes in one process, each a real agent
// (platform, samplers, parsers, link) whose illumos commands are answered in-process by the
// simulated node (agent/simulated/), the same code the stand-in executables run. For demos,
// and for measuring a server against many nodes without many machines.
import { makeLog, type Log } from '../agent/log.js';
import { startFleet } from '../agent/simulated/fleet-runner.js';
import { loadCa } from '../agent/tls-trust.js';
import { readNodeData } from '../agent/simulated/node.js';
import { readToken } from './agent.js';
import { parse, seconds, UsageError } from './args.js';

export const simulateHelp = `zonescope simulate — run simulated SmartOS nodes, each a real agent, in one process

  --nodes N            how many nodes (default 10)
  --zones-per-node Z   zones per node besides the global zone (default: the description's 4)
  --interval S         sampling interval, seconds (default 10)
  --server URL         the server; env ZONESCOPE_SERVER
  --token-file F       a file holding an agent token; or env ZONESCOPE_TOKEN
  --prefix P           node names P0001, P0002, … (default sim-)
  --data FILE          another node description (default agent/simulated/smartos-node.json)
  --ca FILE            trust this CA for an https server

Every node connects on its own WebSocket and is marked simulated. Nodes start spread over
one interval, so their frames do not all arrive at once. Ctrl-C stops them all.
`;

/** one line a minute for the whole fleet instead of one per node and event */
function fleetLog(log: Log): Log & { warnings: number } {
  const seen = new Set<string>();
  const quiet = {
    warnings: 0,
    debug() {},
    info() {},
    warn(msg: string) {
      quiet.warnings++;
      const key = msg.replace(/sim-?\w*\d+/g, 'NODE').slice(0, 200);
      if (!seen.has(key) && seen.size < 100) (seen.add(key), log.warn(msg));
    },
    error(msg: string) {
      log.error(msg);
    },
  };
  return quiet;
}

export async function simulateCommand(argv: string[]) {
  const { values } = parse('simulate', argv, {
    nodes: { type: 'string' },
    'zones-per-node': { type: 'string' },
    interval: { type: 'string' },
    server: { type: 'string' },
    'token-file': { type: 'string' },
    prefix: { type: 'string' },
    data: { type: 'string' },
    ca: { type: 'string' },
  });
  if (values.help) return void process.stdout.write(simulateHelp);
  const count = values.nodes === undefined ? 10 : Number(values.nodes);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) throw new UsageError(`simulate: --nodes must be a whole number from 1 to 100000, not '${values.nodes}'`);
  const zones = values['zones-per-node'] === undefined ? undefined : Number(values['zones-per-node']);
  if (zones !== undefined && (!Number.isInteger(zones) || zones < 0 || zones > 1000)) throw new UsageError(`simulate: --zones-per-node must be a whole number from 0 to 1000, not '${values['zones-per-node']}'`);
  const intervalS = seconds('--interval', values.interval, 10, 3600);
  const server = values.server ?? process.env.ZONESCOPE_SERVER;
  if (!server) throw new UsageError('simulate: --server URL is required (or ZONESCOPE_SERVER)');
  const out = makeLog('simulate');
  const token = readToken(values['token-file'], undefined, out, 'simulate');
  if (!token) throw new UsageError('simulate: an agent token is required (--token-file F or ZONESCOPE_TOKEN)');
  const prefix = values.prefix ?? 'sim-';
  if (!/^[A-Za-z0-9_.:@-]{0,200}$/.test(prefix)) throw new UsageError(`simulate: --prefix '${prefix}' may hold only letters, digits and _.:@-`);
  if (values.data) readNodeData(values.data); // a bad file is a clear error before anything starts

  const log = fleetLog(out);
  out.info(`starting ${count} simulated nodes (${zones ?? 'the described'} zones each) against ${server}, every ${intervalS}s`);
  const fleet = startFleet({ count, server, token, intervalS, log, zonesPerNode: zones, prefix, data: values.data, ca: values.ca === undefined ? undefined : loadCa(values.ca) });
  const connected = () => fleet.agents.filter((a) => a.link.connected).length;
  void fleet.started.then(() => out.info(`${fleet.agents.length} simulated nodes running; ${connected()} connected`));
  const status = setInterval(() => out.info(`${connected()}/${fleet.agents.length} connected; ${log.warnings} warnings`), 60_000);
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) process.exit(1);
      stopping = true;
      clearInterval(status);
      void fleet.stop().then(() => process.exit(0));
    });
  }
}
