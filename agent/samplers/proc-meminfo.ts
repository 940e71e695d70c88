// Host memory from /proc/meminfo; the `global` zone's memory in use is the whole host's.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseMeminfo } from '../parse/proc.js';
import { readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

export function procMeminfoSampler(opts: { procRoot?: string } = {}): Sampler {
  const file = join(opts.procRoot ?? '/proc', 'meminfo');
  return {
    name: 'proc-meminfo',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const text = await readIfExists(file);
      if (text === undefined) throw new Error(`${file}: not found`);
      const m = parseMeminfo(text);
      const p = new Points(ctx);
      const total = m.get('MemTotal');
      const avail = m.get('MemAvailable');
      p.add('node_memory_total_bytes', {}, total, `${file} MemTotal`);
      p.add('node_memory_available_bytes', {}, avail, `${file} MemAvailable`);
      p.add('node_memory_free_bytes', {}, m.get('MemFree'), `${file} MemFree`);
      if (zones.some((z) => z.name === 'global') && total !== undefined && avail !== undefined) {
        // what the host cannot give to new work: the same meaning as a zone's working set
        p.add('zone_memory_rss_bytes', { zone: 'global' }, total - avail, `${file} MemTotal-MemAvailable`);
        const swapTotal = m.get('SwapTotal');
        const swapFree = m.get('SwapFree');
        if (swapTotal !== undefined && swapFree !== undefined) {
          p.add('zone_swap_bytes', { zone: 'global' }, swapTotal - swapFree, `${file} SwapTotal-SwapFree`);
        }
      }
      return p.list;
    },
  };
}
