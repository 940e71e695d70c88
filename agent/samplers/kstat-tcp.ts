// Zone TCP health from the `tcp:<stack>:tcp` MIB kstats. They are per IP stack: a zone with an
// exclusive stack has its own (instance = its zone id; the kstat has no zonename statistic,
// so the zone list places it); zones sharing the global stack are counted in the global one.
import type { Zone } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { perZone, readKstat, stat, where } from './kstat-read.js';

const FIELDS: ReadonlyArray<[string, FamilyName]> = [
  ['retransSegs', 'zone_tcp_retransmits_total'],
  ['listenDrop', 'zone_tcp_listen_drops_total'],
  ['attemptFails', 'zone_tcp_attempt_fails_total'],
  ['currEstab', 'zone_tcp_established'],
];

export function kstatTcpSampler(): Sampler {
  return {
    name: 'tcp',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['tcp::tcp'], ctx);
      const p = new Points(ctx);
      const running = zones.filter((z) => z.zoneid !== null && z.zoneid !== undefined);
      for (const { k, labels } of perZone(kstats, running, ctx, true)) {
        for (const [s, f] of FIELDS) p.add(f, labels, stat(k, s), where(k, s));
      }
      return p.list;
    },
  };
}
