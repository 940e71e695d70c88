// Zone CPU caps from the `caps` kstats named cpucaps_zone_<zoneid>. A zone without a CPU cap
// has no such kstat, and so no series: never a fake "0% of cap". Cap values are in percent
// of one CPU (100 = 1 CPU); exported in CPUs, and usage as a fraction of the cap.
import type { Zone } from '../../protocol/messages.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { perZone, readKstat, stat, where } from './kstat-read.js';

const pct = (v: number | undefined) => (v === undefined ? undefined : v / 100);

export function kstatCapsSampler(): Sampler {
  return {
    name: 'caps',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['caps::/^cpucaps_zone_[0-9]+$/'], ctx);
      const p = new Points(ctx);
      for (const { k, labels } of perZone(kstats, zones, ctx)) {
        const usage = stat(k, 'usage');
        const value = stat(k, 'value');
        const ratio = usage === undefined || value === undefined ? undefined : value > 0 ? usage / value : NaN;
        p.add('zone_cpu_cap_usage_ratio', labels, ratio, where(k, 'usage/value'));
        p.add('zone_cpu_cap_ratio', labels, pct(value), where(k, 'value'));
        p.add('zone_cpu_cap_baseline_ratio', labels, pct(stat(k, 'baseline')), where(k, 'baseline'));
        p.add('zone_cpu_cap_effective_ratio', labels, pct(stat(k, 'effective')), where(k, 'effective'));
        p.add('zone_cpu_cap_max_usage_ratio', labels, pct(stat(k, 'maxusage')), where(k, 'maxusage'));
        p.add('zone_cpu_cap_above_seconds_total', labels, stat(k, 'above_sec'), where(k, 'above_sec'));
        p.add('zone_cpu_cap_below_seconds_total', labels, stat(k, 'below_sec'), where(k, 'below_sec'));
        p.add('zone_cpu_cap_bursting_seconds_total', labels, stat(k, 'bursting_sec'), where(k, 'bursting_sec'));
        p.add('zone_cpu_cap_burst_limit_seconds', labels, stat(k, 'burst_limit_sec'), where(k, 'burst_limit_sec'));
        // nwait is how many threads wait on the cap right now: a gauge, not a count of events
        p.add('zone_cpu_cap_waiting_threads', labels, stat(k, 'nwait'), where(k, 'nwait'));
      }
      return p.list;
    },
  };
}
