// The fleet's Prometheus text: every node's pre-rendered pieces (protocol/exposition.ts)
// joined, plus what the series caps cost.
import { FAMILIES, PREFIX } from '../protocol/families.js';
import { Readable } from 'node:stream';
import { escapeLabel, helpLines, labelString, nodePieces } from '../protocol/exposition.js';
import type { Zone } from '../protocol/messages.js';
import type { Fleet, NodeState } from './fleet.js';

/** Everything the fleet says, as exposition text (without the server's own metrics). */
export function renderFleet(fleet: Fleet, only?: string): string {
  return fleetPieces(fleet, only).join('');
}

/** renderFleet() as pieces in order, to be written one after another (see nodePieces). */
export function fleetPieces(fleet: Fleet, only?: string): string[] {
  const pieces = nodePieces([...fleet.nodes.values()].filter((n) => only === undefined || n.node === only));
  if (only === undefined) pieces.push(renderDropped(fleet));
  return pieces;
}

/** Pieces of text as a stream of chunks of at least `size` characters (the small ones joined,
 * so a response is not thousands of tiny writes): a scrape of the whole fleet then costs the
 * server a chunk at a time, not a copy of tens of MiB. */
export function textStream(pieces: readonly string[], size = 64 * 1024): Readable {
  return Readable.from((function* () {
    let batch = '';
    for (const p of pieces) {
      batch += p;
      if (batch.length >= size) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  })());
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
 * their zone_info; nothing about the nodes themselves or the server. Cut from each node's
 * pre-rendered text: a zone's label is `zone="NAME"` with NAME a protocol name (no quote or
 * backslash), and inside another label's value a quote is always escaped, so `{zone="` or
 * `,zone="` only ever starts the zone label. */
export function renderTenant(nodes: readonly { node: NodeState; zones: readonly Zone[] }[]): string {
  const live = nodes.filter((x) => x.node.up);
  const parts = [helpLines('zone_info', 'Zone facts as labels; always 1.', 'gauge')];
  for (const { node, zones } of live) {
    for (const z of zones) parts.push(`${PREFIX}zone_info{node="${escapeLabel(node.node)}"${labelString({ zone: z.name, alias: z.alias ?? '', brand: z.brand, state: z.state }, true)}} 1\n`);
  }
  for (const [name, fam] of Object.entries(FAMILIES)) {
    let body = '';
    for (const { node, zones } of live) {
      const text = node.rendered.get(name);
      if (!text) continue;
      const names = new Set(zones.map((z) => z.name));
      for (const line of text.split('\n')) {
        const m = ZONE_LABEL.exec(line);
        if (m && names.has(m[1])) body += `${line}\n`;
      }
    }
    if (body) parts.push(helpLines(name, fam.help, fam.type), body);
  }
  return parts.join('');
}

const ZONE_LABEL = /[{,]zone="([^"\\]*)"/;
