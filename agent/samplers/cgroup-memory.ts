// Per-zone memory from whichever cgroup version holds the memory controller.
//
// zone_memory_rss_bytes is the working set: charged memory minus inactive page cache
// (v2 memory.current - inactive_file, v1 usage_in_bytes - total_inactive_file), the number
// the kernel reclaims last and what `docker stats`/cAdvisor report. Raw usage counts cold
// cache a zone would give back at once, and would make every file-reading zone look leaky.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseFlatKeyed, parseLimit, parseSingle } from '../parse/cgroup.js';
import { type CgroupTree, holder, readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

function workingSet(usage: number, inactiveFile: number | undefined): number {
  if (inactiveFile === undefined || !Number.isFinite(inactiveFile)) return usage;
  return Math.max(0, usage - inactiveFile);
}

export function cgroupMemorySampler(tree: CgroupTree): Sampler {
  return {
    name: 'cgroup-memory',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const h = holder(await tree.layout(), 'memory');
      const p = new Points(ctx);
      if (!h) return p.list;
      const v1 = h.version === 1;
      for (const z of zones) {
        if (z.name === 'global') continue; // the host: proc-meminfo
        const dir = tree.dirIn(h, z);
        if (!dir) continue;
        const l = { zone: z.name };
        const read = async (f: string) => {
          const path = join(dir, f);
          return [path, await readIfExists(path)] as const;
        };

        const [statPath, statText] = await read('memory.stat');
        const stat = statText === undefined ? new Map<string, number>() : parseFlatKeyed(statText);
        const key = (k: string) => (v1 ? stat.get(`total_${k}`) ?? stat.get(k) : stat.get(k));

        const [usagePath, usageText] = await read(v1 ? 'memory.usage_in_bytes' : 'memory.current');
        if (usageText !== undefined) {
          const usage = parseSingle(usageText);
          p.add('zone_memory_rss_bytes', l, Number.isFinite(usage) ? workingSet(usage, key('inactive_file')) : NaN, usagePath);
        }
        p.add('zone_memory_anon_bytes', l, key(v1 ? 'rss' : 'anon'), `${statPath} ${v1 ? 'total_rss' : 'anon'}`);
        p.add('zone_memory_file_bytes', l, key(v1 ? 'cache' : 'file'), `${statPath} ${v1 ? 'total_cache' : 'file'}`);

        const [limitPath, limitText] = await read(v1 ? 'memory.limit_in_bytes' : 'memory.max');
        if (limitText !== undefined) {
          const limit = parseLimit(limitText);
          if (limit !== Infinity) p.add('zone_memory_limit_bytes', l, limit, limitPath);
        }

        if (v1) {
          // v1 shows swap only in memory.stat, and only with swap accounting on
          p.add('zone_swap_bytes', l, key('swap'), `${statPath} total_swap`);
          const [failPath, failText] = await read('memory.failcnt');
          if (failText !== undefined) p.add('zone_memory_over_limit_total', l, parseSingle(failText), failPath);
          const [oomPath, oomText] = await read('memory.oom_control');
          if (oomText !== undefined) p.add('zone_oom_kills_total', l, parseFlatKeyed(oomText).get('oom_kill'), `${oomPath} oom_kill`);
        } else {
          const [swapPath, swapText] = await read('memory.swap.current');
          if (swapText !== undefined) p.add('zone_swap_bytes', l, parseSingle(swapText), swapPath);
          const [swapMaxPath, swapMaxText] = await read('memory.swap.max');
          if (swapMaxText !== undefined) {
            const limit = parseLimit(swapMaxText);
            if (limit !== Infinity) p.add('zone_swap_limit_bytes', l, limit, swapMaxPath);
          }
          const [evPath, evText] = await read('memory.events');
          if (evText !== undefined) {
            const ev = parseFlatKeyed(evText);
            p.add('zone_oom_total', l, ev.get('oom'), `${evPath} oom`);
            p.add('zone_oom_kills_total', l, ev.get('oom_kill'), `${evPath} oom_kill`);
            p.add('zone_memory_high_total', l, ev.get('high'), `${evPath} high`);
            p.add('zone_memory_over_limit_total', l, ev.get('max'), `${evPath} max`);
          }
        }
      }
      return p.list;
    },
  };
}
