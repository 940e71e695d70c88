// ZFS datasets from one `zfs list -Hp` of the whole node. A dataset belongs to the zone whose
// name (or UUID) is its second path component — zones/<uuid>, zones/<uuid>/data, and the
// zones/<uuid>-disk0 volumes of KVM guests; the rest (the pool's own, images) to `global`.
import type { Zone } from '../../protocol/messages.js';
import { parseZfsList, ZFS_LIST_FIELDS } from '../parse/zfs.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { zoneLabels } from './kstat-read.js';

export function datasetZone(dataset: string, zones: readonly Zone[]): string {
  const part = dataset.split('/')[1];
  if (part === undefined) return 'global';
  const z = zones.find((z) => z.name !== 'global' &&
    [z.name, z.uuid].some((id) => id && (part === id || part.startsWith(`${id}-`))));
  return z ? z.name : 'global';
}

export function zfsDatasetsSampler(): Sampler {
  return {
    name: 'zfs',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const args = ['list', '-Hp', '-t', 'filesystem,volume', '-o', ZFS_LIST_FIELDS.join(',')];
      const text = await ctx.run('zfs', args, ctx.timeoutMs);
      let rows;
      try {
        rows = parseZfsList(text);
      } catch (e) {
        throw new Error(`zfs ${args.join(' ')}: ${(e as Error).message}`);
      }
      const p = new Points(ctx);
      for (const d of rows) {
        const l = { ...zoneLabels(zones, datasetZone(d.name, zones)), dataset: d.name };
        const at = (f: string) => `zfs list ${d.name} ${f}`;
        p.add('zfs_dataset_used_bytes', l, d.used, at('used'));
        p.add('zfs_dataset_available_bytes', l, d.available, at('available'));
        p.add('zfs_dataset_referenced_bytes', l, d.referenced, at('referenced'));
        // zfs says "none" as 0, and "no limit" as UINT64_MAX: either way, no quota series
        if (d.quota !== 0 && d.quota !== Infinity) p.add('zfs_dataset_quota_bytes', l, d.quota, at('quota'));
        p.add('zfs_dataset_used_by_snapshots_bytes', l, d.usedbysnapshots, at('usedbysnapshots'));
        p.add('zfs_dataset_compress_ratio', l, d.compressratio, at('compressratio'));
      }
      return p.list;
    },
  };
}
