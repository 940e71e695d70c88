// Host CPU time from /proc/stat, all CPUs summed; the `global` zone's CPU is the whole host's.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseProcStat, CPU_MODES } from '../parse/proc.js';
import { readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

/** USER_HZ: fixed at 100 by the kernel ABI on every architecture Linux exports it for (getconf CLK_TCK). */
export const USER_HZ = 100;

// guest time is already counted in user (and guest_nice in nice): exporting it again would double count
const NODE_MODES = CPU_MODES.filter((m) => m !== 'guest' && m !== 'guest_nice');

export function procStatSampler(opts: { procRoot?: string } = {}): Sampler {
  const file = join(opts.procRoot ?? '/proc', 'stat');
  return {
    name: 'proc-stat',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const text = await readIfExists(file);
      if (text === undefined) throw new Error(`${file}: not found`);
      const cpu = parseProcStat(text);
      const p = new Points(ctx);
      const s = (v: number | undefined) => (v === undefined ? undefined : v / USER_HZ);
      for (const mode of NODE_MODES) p.add('node_cpu_seconds_total', { mode }, s(cpu[mode]), `${file} cpu ${mode}`);
      if (zones.some((z) => z.name === 'global')) {
        const l = { zone: 'global' };
        const sum = (...ms: (keyof typeof cpu)[]) => ms.reduce((a, m) => a + (cpu[m] ?? 0), 0);
        const user = s(sum('user', 'nice'));
        const system = s(sum('system', 'irq', 'softirq'));
        p.add('zone_cpu_seconds_total', { ...l, mode: 'user' }, user, `${file} cpu user+nice`);
        p.add('zone_cpu_seconds_total', { ...l, mode: 'system' }, system, `${file} cpu system+irq+softirq`);
        p.add('zone_cpu_usage_seconds_total', l, s(sum('user', 'nice', 'system', 'irq', 'softirq')), `${file} cpu busy`);
      }
      return p.list;
    },
  };
}
