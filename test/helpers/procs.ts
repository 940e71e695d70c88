// Processes started by the test suite carry ZONESCOPE_TEST=1 in their environment (and pass
// it to their children: tracers, stand-ins), so leftovers can be found without guessing.
import { readdirSync, readFileSync } from 'node:fs';

export const TEST_ENV = { ZONESCOPE_TEST: '1' };

export function leftoverProcesses(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!env.split('\0').includes('ZONESCOPE_TEST=1')) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.split(') ')[1]?.startsWith('Z')) continue; // zombies hold nothing
      if (cmd) out.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}
