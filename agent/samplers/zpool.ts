// ZFS pools from `zpool list -Hp`. A faulted pool prints '-' for its numbers: it keeps its
// health series and loses the others, rather than reporting a size of 0.
import type { Zone } from '../../protocol/messages.js';
import { parseZpoolList, ZPOOL_LIST_FIELDS } from '../parse/zfs.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

export function zpoolSampler(): Sampler {
  return {
    name: 'zpool',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const args = ['list', '-Hp', '-o', ZPOOL_LIST_FIELDS.join(',')];
      const text = await ctx.run('zpool', args, ctx.timeoutMs);
      let rows;
      try {
        rows = parseZpoolList(text);
      } catch (e) {
        throw new Error(`zpool ${args.join(' ')}: ${(e as Error).message}`);
      }
      const p = new Points(ctx);
      for (const r of rows) {
        const l = { pool: r.name };
        const at = (f: string) => `zpool list ${r.name} ${f}`;
        p.add('zpool_size_bytes', l, r.size, at('size'));
        p.add('zpool_allocated_bytes', l, r.allocated, at('allocated'));
        p.add('zpool_free_bytes', l, r.free, at('free'));
        p.add('zpool_fragmentation_ratio', l, r.fragmentation === undefined ? undefined : r.fragmentation / 100, at('fragmentation'));
        p.add('zpool_health', { ...l, state: r.health }, 1, at('health'));
      }
      return p.list;
    },
  };
}
