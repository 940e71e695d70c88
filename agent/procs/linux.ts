// The processes of a Linux zone: every /proc/PID whose cgroup is the zone's (the global zone:
// every process), largest resident memory first.
import { readdir, readFile } from 'node:fs/promises';
import type { Proc, Zone } from '../../protocol/messages.js';
import { inCgroup, parseProcStatus } from '../parse/procs.js';
import { redactArgs } from '../../protocol/redact.js';

export async function linuxProcesses(zone: Zone, limit: number, procRoot = '/proc'): Promise<Proc[]> {
  if (zone.name !== 'global' && !zone.cgroup) throw new Error(`zone '${zone.name}' has no cgroup to find its processes by`);
  const out: Proc[] = [];
  for (const d of await readdir(procRoot)) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (zone.cgroup && !inCgroup(await readFile(`${procRoot}/${d}/cgroup`, 'utf8'), zone.cgroup)) continue;
      const st = parseProcStatus(await readFile(`${procRoot}/${d}/status`, 'utf8'));
      if (!st) continue; // kernel threads hold no user memory
      const args = (await readFile(`${procRoot}/${d}/cmdline`, 'utf8')).replace(/\0+$/, '').replaceAll('\0', ' ').slice(0, 4096);
      // viewers see this: credentials on command lines never leave the node
      out.push({ pid: Number(d), comm: st.name, args: args ? redactArgs(args) : `[${st.name}]`, rssBytes: st.rssBytes, ...(st.vszBytes !== undefined ? { vszBytes: st.vszBytes } : {}) });
    } catch {
      // the process exited while we looked: it holds nothing any more
    }
  }
  return out.sort((a, b) => b.rssBytes - a.rssBytes).slice(0, limit);
}
