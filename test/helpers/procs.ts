// Processes started by the test suite carry ZONESCOPE_TEST=<this checkout> in their
// environment (and pass it to their children: tracers, stand-ins), so leftovers can be found
// without guessing, and two checkouts testing at once on one machine never count each
// other's processes.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const TEST_MARK = resolve(import.meta.dirname, '../..');
export const TEST_ENV = { ZONESCOPE_TEST: TEST_MARK };
const MARK_LINE = `ZONESCOPE_TEST=${TEST_MARK}`;

/** Whether the process was started by this checkout's tests (false if gone or unreadable). */
export function isTestProcess(pid: number | string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(MARK_LINE);
  } catch {
    return false;
  }
}

/** The fields of /proc/PID/stat after the parenthesised comm (which may itself hold ") "):
 * state first, then the parent pid. */
function statFields(pid: string): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

function parentOf(pid: string): string | undefined {
  try {
    return statFields(pid)[1];
  } catch {
    return undefined;
  }
}

function descendsFrom(pid: string, ancestor: number): boolean {
  for (let p: string | undefined = pid, hops = 0; p && p !== '0' && hops < 64; p = parentOf(p), hops++) {
    if (Number(p) === ancestor) return true;
  }
  return false;
}

/**
 * This checkout's test processes still alive. With `ancestor`, only that process's descendants:
 * test files run in parallel workers, so another file's stand-ins are alive at any moment.
 */
export function leftoverProcesses(ancestor?: number): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!env.split('\0').includes(MARK_LINE)) continue;
      if (ancestor !== undefined && !descendsFrom(pid, ancestor)) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (statFields(pid)[0] === 'Z') continue; // zombies hold nothing
      if (cmd) out.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}
