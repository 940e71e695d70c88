// The server's limit flags reach the options they name: what an operator types is what the
// fleet and the hub hold to.
import { describe, expect, it } from 'vitest';
import { parseLimits } from '../../cli/server-limits.js';
import { DEFAULT_FLEET } from '../../server/fleet.js';

describe('server limit flags', () => {
  it('sets the fleet-wide history budget, and leaves the default when the flag is absent', () => {
    expect(parseLimits({ 'max-history-points': '4000000' }).fleet.maxHistoryPoints).toBe(4_000_000);
    expect({ ...DEFAULT_FLEET, ...parseLimits({}).fleet }.maxHistoryPoints).toBe(12_000_000);
  });

  it('takes zones, series, connections and nodes per token as whole numbers', () => {
    const { fleet, agents } = parseLimits({ 'max-zones-per-node': '20', 'max-series-per-node': '300', 'max-agent-connections': '12000', 'max-nodes-per-token': '5' });
    expect(fleet).toMatchObject({ maxZonesPerNode: 20, maxSeriesPerNode: 300 });
    expect(agents).toMatchObject({ maxConnections: 12000, maxNodesPerToken: 5 });
    expect(() => parseLimits({ 'max-history-points': '1.5' })).toThrow(/--max-history-points: '1.5' is not a whole number/);
  });
});
