// Per-zone CPU from whichever cgroup version holds the controller: v1 cpuacct (+ cpu for
// throttling) on hybrid hosts, v2 cpu.stat otherwise (its usage fields exist even when the
// cpu controller is not enabled, so every v2 cgroup has them).
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseFlatKeyed, parseSingle } from '../parse/cgroup.js';
import { type CgroupTree, holder, readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';
import { USER_HZ } from './proc-stat.js';

const per = (v: number | undefined, d: number) => (v === undefined ? undefined : v / d);

export function cgroupCpuSampler(tree: CgroupTree): Sampler {
  return {
    name: 'cgroup-cpu',
    async sample(zones: readonly Zone[], ctx: SampleContext) {
      const layout = await tree.layout();
      const acct = holder(layout, 'cpuacct');
      const cpu = holder(layout, 'cpu');
      const p = new Points(ctx);
      for (const z of zones) {
        if (z.name === 'global') continue; // the host: proc-stat
        const l = { zone: z.name };
        const acctDir = acct && tree.dirIn(acct, z);
        // a zone only in the unified tree still has v2's cpu.stat, kept on every v2 cgroup
        const v2Dir = !acctDir && layout.unified ? tree.dirIn(layout.unified, z) : undefined;
        if (acctDir) {
          const usage = join(acctDir, 'cpuacct.usage');
          const text = await readIfExists(usage);
          if (text !== undefined) p.add('zone_cpu_usage_seconds_total', l, parseSingle(text) / 1e9, usage);
          const stat = join(acctDir, 'cpuacct.stat');
          const st = await readIfExists(stat);
          if (st !== undefined) {
            const m = parseFlatKeyed(st);
            p.add('zone_cpu_seconds_total', { ...l, mode: 'user' }, per(m.get('user'), USER_HZ), `${stat} user`);
            p.add('zone_cpu_seconds_total', { ...l, mode: 'system' }, per(m.get('system'), USER_HZ), `${stat} system`);
          }
        } else if (v2Dir) {
          const stat = join(v2Dir, 'cpu.stat');
          const st = await readIfExists(stat);
          if (st !== undefined) {
            const m = parseFlatKeyed(st);
            p.add('zone_cpu_usage_seconds_total', l, per(m.get('usage_usec'), 1e6), `${stat} usage_usec`);
            p.add('zone_cpu_seconds_total', { ...l, mode: 'user' }, per(m.get('user_usec'), 1e6), `${stat} user_usec`);
            p.add('zone_cpu_seconds_total', { ...l, mode: 'system' }, per(m.get('system_usec'), 1e6), `${stat} system_usec`);
          }
        }
        // throttling exists only where the cpu controller itself is (v1 cpu, or v2 with cpu enabled)
        const cpuDir = cpu && tree.dirIn(cpu, z);
        if (cpuDir) {
          const stat = join(cpuDir, 'cpu.stat');
          const st = await readIfExists(stat);
          if (st !== undefined) {
            const m = parseFlatKeyed(st);
            p.add('zone_cpu_throttled_total', l, m.get('nr_throttled'), `${stat} nr_throttled`);
            if (cpu.version === 1) p.add('zone_cpu_throttled_seconds_total', l, per(m.get('throttled_time'), 1e9), `${stat} throttled_time`);
            else p.add('zone_cpu_throttled_seconds_total', l, per(m.get('throttled_usec'), 1e6), `${stat} throttled_usec`);
          }
        }
      }
      return p.list;
    },
  };
}
