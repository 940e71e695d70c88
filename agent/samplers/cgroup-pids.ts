// Per-zone task count from the pids controller, whichever version holds it.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseSingle } from '../parse/cgroup.js';
import { type CgroupTree, holder, readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

export function cgroupPidsSampler(tree: CgroupTree): Sampler {
  return {
    name: 'cgroup-pids',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const h = holder(await tree.layout(), 'pids');
      const p = new Points(ctx);
      if (!h) return p.list;
      for (const z of zones) {
        if (z.name === 'global') continue;
        const dir = tree.dirIn(h, z);
        if (!dir) continue;
        const path = join(dir, 'pids.current');
        const text = await readIfExists(path);
        if (text !== undefined) p.add('zone_pids', { zone: z.name }, parseSingle(text), path);
      }
      return p.list;
    },
  };
}
