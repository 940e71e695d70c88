// The ZFS ARC from `kstat -p zfs:0:arcstats`. Field names moved between illumos and OpenZFS
// versions; each family takes the first name present, and hits/misses fall back to the sum
// of their demand/prefetch parts where the totals are missing.
import type { Zone } from '../../protocol/messages.js';
import type { FamilyName } from '../../protocol/families.js';
import type { Kstat } from '../parse/kstat.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { readKstat, stat, where } from './kstat-read.js';

const PARTS = ['demand_data', 'demand_metadata', 'prefetch_data', 'prefetch_metadata'];
const FIELDS: ReadonlyArray<[FamilyName, string[], string?]> = [
  ['zfs_arc_size_bytes', ['size', 'arc_size']],
  ['zfs_arc_target_bytes', ['c', 'arc_c', 'target']],
  ['zfs_arc_max_bytes', ['c_max', 'arc_c_max']],
  ['zfs_arc_hits_total', ['hits'], 'hits'],
  ['zfs_arc_misses_total', ['misses'], 'misses'],
];

function sumOfParts(k: Kstat, suffix: string): number | undefined {
  const vals = PARTS.map((p) => stat(k, `${p}_${suffix}`)).filter((v): v is number => v !== undefined);
  return vals.length ? vals.reduce((a, b) => a + b, 0) : undefined;
}

export function illumosArcstatsSampler(): Sampler {
  return {
    name: 'arcstats',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['zfs:0:arcstats'], ctx);
      const p = new Points(ctx);
      const k = kstats.find((x) => x.module === 'zfs' && x.name === 'arcstats');
      if (!k) return p.list; // no ZFS loaded: nothing to say
      for (const [f, names, parts] of FIELDS) {
        const name = names.find((n) => k.stats.has(n));
        if (name !== undefined) p.add(f, {}, stat(k, name), where(k, name));
        else if (parts) p.add(f, {}, sumOfParts(k, parts), where(k, `*_${parts}`));
      }
      return p.list;
    },
  };
}
