// Zone CPU time, run-queue wait and load from the `zones` kstats (zone_misc class).
import type { Zone } from '../../protocol/messages.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { perZone, readKstat, stat, where } from './kstat-read.js';

const NS = 1e9;
const scale = (v: number | undefined, by: number) => (v === undefined ? undefined : v / by);

export function kstatZonesSampler(): Sampler {
  return {
    name: 'zones',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['zones'], ctx);
      const p = new Points(ctx);
      for (const { k, labels } of perZone(kstats, zones, ctx)) {
        p.add('zone_cpu_seconds_total', { ...labels, mode: 'user' }, scale(stat(k, 'nsec_user'), NS), where(k, 'nsec_user'));
        p.add('zone_cpu_seconds_total', { ...labels, mode: 'system' }, scale(stat(k, 'nsec_sys'), NS), where(k, 'nsec_sys'));
        p.add('zone_cpu_wait_seconds_total', labels, scale(stat(k, 'nsec_waitrq'), NS), where(k, 'nsec_waitrq'));
        // avenrun is fixed point with 8 fractional bits (FSCALE)
        p.add('zone_load1', labels, scale(stat(k, 'avenrun_1min'), 256), where(k, 'avenrun_1min'));
      }
      return p.list;
    },
  };
}
