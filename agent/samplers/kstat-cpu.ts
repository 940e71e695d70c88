// Host CPU time per CPU from the `cpu:<n>:sys` kstats (nanoseconds per mode; the older
// cpu_stat tick counts need the clock rate to mean anything, so they are not used).
import type { Zone } from '../../protocol/messages.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { readKstat, stat, where } from './kstat-read.js';

const MODES: ReadonlyArray<[string, string]> = [
  ['cpu_nsec_user', 'user'],
  ['cpu_nsec_kernel', 'system'],
  ['cpu_nsec_idle', 'idle'],
];

export function kstatCpuSampler(): Sampler {
  return {
    name: 'cpu',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['cpu::sys:/^cpu_nsec_(user|kernel|idle)$/'], ctx);
      const p = new Points(ctx);
      for (const k of kstats) {
        for (const [s, mode] of MODES) {
          const v = stat(k, s);
          p.add('node_cpu_seconds_total', { cpu: String(k.instance), mode }, v === undefined ? undefined : v / 1e9, where(k, s));
        }
      }
      return p.list;
    },
  };
}
