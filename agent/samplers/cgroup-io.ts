// Per-zone block I/O: v2 io.stat, or v1 blkio throttle counters (kept for every cgroup
// whether or not a throttle is set).
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseBlkio, parseIoStat } from '../parse/cgroup.js';
import { type CgroupTree, holder, readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

/** v1's plain files count only the cgroup's own tasks; `_recursive` includes its children. */
async function readFirst(dir: string, names: string[]): Promise<[string, string] | undefined> {
  for (const n of names) {
    const text = await readIfExists(join(dir, n));
    if (text !== undefined) return [join(dir, n), text];
  }
  return undefined;
}

export function cgroupIoSampler(tree: CgroupTree): Sampler {
  return {
    name: 'cgroup-io',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const layout = await tree.layout();
      const h = holder(layout, 'blkio') ?? holder(layout, 'io');
      const p = new Points(ctx);
      if (!h) return p.list;
      for (const z of zones) {
        if (z.name === 'global') continue; // the host: proc-diskstats
        const dir = tree.dirIn(h, z);
        if (!dir) continue;
        const l = { zone: z.name };
        if (h.version === 2) {
          const path = join(dir, 'io.stat');
          const text = await readIfExists(path);
          if (text === undefined) continue;
          const s = parseIoStat(text);
          // an idle cgroup has no device lines at all: that is 0 bytes, not unknown
          const v = (k: string) => s.get(k) ?? 0;
          p.add('zone_vfs_read_bytes_total', l, v('rbytes'), `${path} rbytes`);
          p.add('zone_vfs_written_bytes_total', l, v('wbytes'), `${path} wbytes`);
          p.add('zone_vfs_reads_total', l, v('rios'), `${path} rios`);
          p.add('zone_vfs_writes_total', l, v('wios'), `${path} wios`);
          continue;
        }
        const bytes = await readFirst(dir, ['blkio.throttle.io_service_bytes_recursive', 'blkio.throttle.io_service_bytes']);
        if (bytes) {
          const s = parseBlkio(bytes[1]);
          p.add('zone_vfs_read_bytes_total', l, s.get('Read') ?? 0, `${bytes[0]} Read`);
          p.add('zone_vfs_written_bytes_total', l, s.get('Write') ?? 0, `${bytes[0]} Write`);
        }
        const ops = await readFirst(dir, ['blkio.throttle.io_serviced_recursive', 'blkio.throttle.io_serviced']);
        if (ops) {
          const s = parseBlkio(ops[1]);
          p.add('zone_vfs_reads_total', l, s.get('Read') ?? 0, `${ops[0]} Read`);
          p.add('zone_vfs_writes_total', l, s.get('Write') ?? 0, `${ops[0]} Write`);
        }
      }
      return p.list;
    },
  };
}
