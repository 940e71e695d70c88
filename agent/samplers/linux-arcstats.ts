// OpenZFS ARC from /proc/spl/kstat/zfs/arcstats, on hosts where the zfs module is loaded.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import { parseSplKstat } from '../parse/proc.js';
import { readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

const FIELDS: ReadonlyArray<[string, FamilyName]> = [
  ['size', 'zfs_arc_size_bytes'],
  ['c', 'zfs_arc_target_bytes'],
  ['c_max', 'zfs_arc_max_bytes'],
  ['hits', 'zfs_arc_hits_total'],
  ['misses', 'zfs_arc_misses_total'],
];

export function linuxArcstatsSampler(opts: { procRoot?: string } = {}): Sampler {
  const file = join(opts.procRoot ?? '/proc', 'spl', 'kstat', 'zfs', 'arcstats');
  return {
    name: 'linux-arcstats',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const text = await readIfExists(file);
      if (text === undefined) return []; // no ZFS on this host: nothing to report, nothing wrong
      const stats = parseSplKstat(text);
      const p = new Points(ctx);
      for (const [field, f] of FIELDS) p.add(f, {}, stats.get(field), `${file} ${field}`);
      return p.list;
    },
  };
}
