// Zone ZFS I/O from the `zone_zfs` kstats (what the zone asked of ZFS, below the VFS layer).
import type { Zone } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { perZone, readKstat, stat, where } from './kstat-read.js';

const FIELDS: ReadonlyArray<[string, FamilyName]> = [
  ['reads', 'zone_zfs_reads_total'],
  ['writes', 'zone_zfs_writes_total'],
  ['nread', 'zone_zfs_read_bytes_total'],
  ['nwritten', 'zone_zfs_written_bytes_total'],
];

export function kstatZoneZfsSampler(): Sampler {
  return {
    name: 'zone_zfs',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['zone_zfs'], ctx);
      const p = new Points(ctx);
      for (const { k, labels } of perZone(kstats, zones, ctx)) {
        for (const [s, f] of FIELDS) p.add(f, labels, stat(k, s), where(k, s));
      }
      return p.list;
    },
  };
}
