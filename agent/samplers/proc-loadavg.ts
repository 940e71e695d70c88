// Host 1-minute load average from /proc/loadavg.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseLoadavg } from '../parse/proc.js';
import { readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

export function procLoadavgSampler(opts: { procRoot?: string } = {}): Sampler {
  const file = join(opts.procRoot ?? '/proc', 'loadavg');
  return {
    name: 'proc-loadavg',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const text = await readIfExists(file);
      if (text === undefined) throw new Error(`${file}: not found`);
      const p = new Points(ctx);
      p.add('node_load1', {}, parseLoadavg(text), `${file} load1`);
      return p.list;
    },
  };
}
