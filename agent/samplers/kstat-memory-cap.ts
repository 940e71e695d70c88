// Zone memory against its cap from the `memory_cap` kstats: what a leak hunt starts with
// (rss against physcap, nover, pagedout, page-ins), which cmon-agent leaves out.
import type { Zone } from '../../protocol/messages.js';
import { UINT64_MAX_TEXT } from '../parse/kstat.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { perZone, readKstat, stat, where } from './kstat-read.js';
import type { Kstat } from '../parse/kstat.js';

/** A cap of 0 (never set) or UINT64_MAX is no limit: no series rather than a huge number. */
function limit(k: Kstat, name: string): number | undefined {
  const raw = k.stats.get(name);
  if (raw === undefined || raw === '0' || raw === UINT64_MAX_TEXT) return undefined;
  return stat(k, name);
}

export function kstatMemoryCapSampler(): Sampler {
  return {
    name: 'memory_cap',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const kstats = await readKstat(['memory_cap'], ctx);
      const p = new Points(ctx);
      for (const { k, labels } of perZone(kstats, zones, ctx)) {
        p.add('zone_memory_rss_bytes', labels, stat(k, 'rss'), where(k, 'rss'));
        p.add('zone_memory_limit_bytes', labels, limit(k, 'physcap'), where(k, 'physcap'));
        p.add('zone_swap_bytes', labels, stat(k, 'swap'), where(k, 'swap'));
        p.add('zone_swap_limit_bytes', labels, limit(k, 'swapcap'), where(k, 'swapcap'));
        p.add('zone_memory_over_limit_total', labels, stat(k, 'nover'), where(k, 'nover'));
        p.add('zone_memory_pagedout_bytes_total', labels, stat(k, 'pagedout'), where(k, 'pagedout'));
        p.add('zone_memory_pagein_total', labels, stat(k, 'pgpgin'), where(k, 'pgpgin'));
        p.add('zone_memory_anon_pagein_total', labels, stat(k, 'anonpgin'), where(k, 'anonpgin'));
        p.add('zone_memory_anon_alloc_failures_total', labels, stat(k, 'anon_alloc_fail'), where(k, 'anon_alloc_fail'));
      }
      return p.list;
    },
  };
}
