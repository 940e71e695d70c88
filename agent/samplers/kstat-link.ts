// Zone network traffic per VNIC from the `link` kstats. In the global zone SmartOS names a
// zone's VNIC kstat z<zoneid>_<link> and gives it a `zonename` statistic; the zone id part
// changes on every boot, so the `interface` label is the link name without it.
import type { Zone } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { readKstat, stat, where, zoneLabels } from './kstat-read.js';

// the 64-bit counters where the kstat has them: the 32-bit ones wrap within minutes at 10G
const FIELDS: ReadonlyArray<[string, string, FamilyName]> = [
  ['rbytes64', 'rbytes', 'zone_net_receive_bytes_total'],
  ['obytes64', 'obytes', 'zone_net_transmit_bytes_total'],
  ['ipackets64', 'ipackets', 'zone_net_receive_packets_total'],
  ['opackets64', 'opackets', 'zone_net_transmit_packets_total'],
  ['ierrors', 'ierrors', 'zone_net_receive_errors_total'],
  ['oerrors', 'oerrors', 'zone_net_transmit_errors_total'],
];

export const linkInterface = (kstatName: string) => kstatName.replace(/^z\d+_/, '');

export function kstatLinkSampler(): Sampler {
  return {
    name: 'link',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['link'], ctx);
      const p = new Points(ctx);
      for (const k of kstats) {
        // a link with no zonename statistic (older platforms) is the global zone's own
        const zone = k.stats.get('zonename') || 'global';
        const labels = { ...zoneLabels(zones, zone), interface: linkInterface(k.name) };
        for (const [s64, s32, f] of FIELDS) {
          const s = k.stats.has(s64) ? s64 : s32;
          p.add(f, labels, stat(k, s), where(k, s));
        }
      }
      return p.list;
    },
  };
}
