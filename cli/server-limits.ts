// The server's bounds on what agents may make it hold, as flags (`server` and `start`): how
// long an absent node is remembered, how many nodes, zones, series and connections.
import type { FleetOptions } from '../server/fleet.js';
import type { HubOptions } from '../server/hub.js';
import { seconds, UsageError } from './args.js';

export const limitFlags = {
  'forget-after': { type: 'string' },
  'max-agent-connections': { type: 'string' },
  'max-nodes-per-token': { type: 'string' },
  'max-zones-per-node': { type: 'string' },
  'max-series-per-node': { type: 'string' },
  'max-history-points': { type: 'string' },
  'sd-allow-hosts': { type: 'string' },
} as const;

export const limitsHelp = `  --forget-after D    forget a node whose agent is away this long, with its series
                      (default 24h)
  --max-agent-connections N  /agent connections at once (default 10000)
  --max-nodes-per-token N    node names one agent token may hold (default 1000)
  --max-zones-per-node N     zones kept per node (default 2000)
  --max-series-per-node N    series exposed per node (default 100000)
  --max-history-points N     zone points held in memory across the fleet for the charts,
                      about 8.5 bytes each (default 12000000); the largest histories
                      give way first
  --sd-allow-hosts H,…       hosts an agent's --metrics-listen URL may name in /sd besides
                      the address it connected from
`;

function count(what: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what}: '${text}' is not a whole number of at least 1`);
  return n;
}

type Values = Record<string, string | boolean | string[] | undefined>;

export function parseLimits(v: Values): { fleet: Partial<FleetOptions>; agents: Partial<HubOptions> } {
  const fleet: Partial<FleetOptions> = { forgetAfterS: seconds('--forget-after', v['forget-after'] as string | undefined, 24 * 3600, 365 * 86400) };
  const zones = count('--max-zones-per-node', v['max-zones-per-node'] as string | undefined);
  const series = count('--max-series-per-node', v['max-series-per-node'] as string | undefined);
  if (zones) fleet.maxZonesPerNode = zones;
  if (series) fleet.maxSeriesPerNode = series;
  const points = count('--max-history-points', v['max-history-points'] as string | undefined);
  if (points) fleet.maxHistoryPoints = points;
  const agents: Partial<HubOptions> = {};
  const conns = count('--max-agent-connections', v['max-agent-connections'] as string | undefined);
  const nodes = count('--max-nodes-per-token', v['max-nodes-per-token'] as string | undefined);
  if (conns) agents.maxConnections = conns;
  if (nodes) agents.maxNodesPerToken = nodes;
  const hosts = v['sd-allow-hosts'] as string | undefined;
  if (hosts !== undefined) agents.sdAllowHosts = hosts.split(',').map((h) => h.trim()).filter(Boolean);
  return { fleet, agents };
}
