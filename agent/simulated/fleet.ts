// Many simulated SmartOS nodes from one description: each node gets its own name, zone UUIDs
// (derived from the node's name, so a restart of the simulation names them the same) and
// datasets, and as many zones as asked, cloned from the description's zones in turn.
import { createHash } from 'node:crypto';
import type { NodeData, SimDataset, SimZone } from './node.js';

/** A stable UUID-shaped name for zone `i` of `node`. */
function uuidFor(node: string, i: number): string {
  const h = createHash('sha1').update(`${node}/${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function fleetNodeData(template: NodeData, node: string, zonesPerNode?: number): NodeData {
  const global = template.zones.filter((z) => z.name === 'global');
  const others = template.zones.filter((z) => z.name !== 'global');
  const count = zonesPerNode ?? others.length;
  const zones: SimZone[] = [...global];
  const datasets: SimDataset[] = (template.datasets ?? []).filter((d) => !others.some((z) => d.name.split('/')[1] === z.name));
  for (let i = 0; i < count && others.length; i++) {
    const from = others[i % others.length];
    const uuid = uuidFor(node, i);
    const id = from.zoneid === null ? null : i + 1;
    const copies = Math.floor(i / others.length);
    zones.push({ ...from, name: uuid, uuid, zoneid: id, debugid: i + 1, alias: copies ? `${from.alias ?? 'zone'}-${copies + 1}` : from.alias });
    for (const d of template.datasets ?? []) {
      const [pool, owner, ...rest] = d.name.split('/');
      if (owner === from.name) datasets.push({ ...d, name: [pool, uuid, ...rest].join('/') });
    }
  }
  return { ...template, hostname: node, zones, datasets };
}
