// Zone VFS operations from the `zone_vfs` kstats: counts, bytes, busy and queue time, and
// the 10ms/100ms/1s/10s buckets counting operations slower than each bound.
import type { Zone } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { perZone, readKstat, stat, where } from './kstat-read.js';

const FIELDS: ReadonlyArray<[string, FamilyName, number]> = [
  ['reads', 'zone_vfs_reads_total', 1],
  ['writes', 'zone_vfs_writes_total', 1],
  ['nread', 'zone_vfs_read_bytes_total', 1],
  ['nwritten', 'zone_vfs_written_bytes_total', 1],
  // kstat_io style times are nanoseconds
  ['rtime', 'zone_vfs_run_seconds_total', 1e9],
  ['wtime', 'zone_vfs_wait_seconds_total', 1e9],
  ['rlentime', 'zone_vfs_run_queue_length_seconds_total', 1e9],
  ['wlentime', 'zone_vfs_wait_queue_length_seconds_total', 1e9],
];
const BUCKETS: ReadonlyArray<[string, string]> = [
  ['10ms_ops', '0.01'],
  ['100ms_ops', '0.1'],
  ['1s_ops', '1'],
  ['10s_ops', '10'],
];

export function kstatZoneVfsSampler(): Sampler {
  return {
    name: 'zone_vfs',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['zone_vfs'], ctx);
      const p = new Points(ctx);
      for (const { k, labels } of perZone(kstats, zones, ctx)) {
        for (const [s, f, by] of FIELDS) {
          const v = stat(k, s);
          p.add(f, labels, v === undefined ? undefined : v / by, where(k, s));
        }
        for (const [s, over] of BUCKETS) p.add('zone_vfs_ops_over_total', { ...labels, over }, stat(k, s), where(k, s));
      }
      return p.list;
    },
  };
}
