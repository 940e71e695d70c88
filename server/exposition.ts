// The fleet's Prometheus text: every node's pre-rendered pieces (protocol/exposition.ts)
// joined, plus what the series caps cost.
import { PREFIX } from '../protocol/families.js';
import { escapeLabel, helpLines, renderNodes } from '../protocol/exposition.js';
import type { Fleet } from './fleet.js';

/** Everything the fleet says, as exposition text (without the server's own metrics). */
export function renderFleet(fleet: Fleet, only?: string): string {
  const nodes = [...fleet.nodes.values()].filter((n) => only === undefined || n.node === only);
  const text = renderNodes(nodes);
  return only === undefined ? text + renderDropped(fleet) : text;
}

/** What the caps cost: part of the server's own metrics. */
export function renderDropped(fleet: Fleet): string {
  let out = helpLines('series_dropped_total', 'Series not exposed because a node went over the per-family series cap.', 'counter');
  for (const [family, count] of fleet.seriesDropped) out += `${PREFIX}series_dropped_total{family="${escapeLabel(family)}"} ${count}\n`;
  out += helpLines('zones_dropped_total', 'Zones left out because a node went over the per-node zone cap.', 'counter');
  out += `${PREFIX}zones_dropped_total ${fleet.zonesDropped}\n`;
  out += helpLines('agent_points_invalid_total', 'Points left out for their value (a negative counter).', 'counter');
  out += `${PREFIX}agent_points_invalid_total ${fleet.invalidPoints}\n`;
  return out;
}
