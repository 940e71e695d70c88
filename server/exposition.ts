// The fleet's Prometheus text: every node's pre-rendered pieces (protocol/exposition.ts)
// joined, plus what the series caps cost.
import { FAMILIES, PREFIX } from '../protocol/families.js';
import { escapeLabel, helpLines, labelString, MAX_SERIES_PER_FAMILY, renderNodes, renderPoints } from '../protocol/exposition.js';
import type { Zone } from '../protocol/messages.js';
import type { Fleet, NodeState } from './fleet.js';

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

/** A tenant's view (a scoped metrics token): only series labelled with one of its zones, and
 * their zone_info; nothing about the nodes themselves or the server. Rendered at scrape time
 * (the pre-rendered text mixes every zone); a tenant holds a handful of zones per node. */
export function renderTenant(nodes: readonly { node: NodeState; zones: readonly Zone[] }[]): string {
  const live = nodes.filter((x) => x.node.up);
  const none = { unknownFamily() {}, overCap() {} };
  const rendered = live.map(({ node, zones }) => {
    const names = new Set(zones.map((z) => z.name));
    const points = (node.latest?.points ?? []).filter((p) => p.l.zone !== undefined && names.has(p.l.zone));
    return renderPoints(node.node, points, MAX_SERIES_PER_FAMILY, none);
  });
  const parts = [helpLines('zone_info', 'Zone facts as labels; always 1.', 'gauge')];
  for (const { node, zones } of live) {
    for (const z of zones) parts.push(`${PREFIX}zone_info{node="${escapeLabel(node.node)}"${labelString({ zone: z.name, alias: z.alias ?? '', brand: z.brand, state: z.state }, true)}} 1\n`);
  }
  for (const [name, fam] of Object.entries(FAMILIES)) {
    const bodies = rendered.map((r) => r.get(name)).filter((b): b is string => !!b);
    if (bodies.length) parts.push(helpLines(name, fam.help, fam.type), ...bodies);
  }
  return parts.join('');
}
