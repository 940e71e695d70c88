// bpftrace scopes a trace to a zone with `cgroup == $1`: the id of the cgroup v2 directory the
// task itself is in. A container's processes often sit in cgroups below its own — systemd's
// slices and services in a system container, lxc-attach's `.lxc` — which that test misses: a
// profile of such a zone came out nearly empty. So when the zone's cgroup has descendants, the
// script runs with the test widened to each of their ids, read when the trace starts (a cgroup
// made later is not traced; the trace says how many were left out past the cap).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** most cgroups one predicate tests (the BPF program grows with each) */
export const MAX_ZONE_CGROUPS = 128;

/** The script with every `cgroup == $1` widened to the zone's descendants' ids. */
export function scopeToCgroups(source: string, descendants: readonly number[]): string {
  if (!descendants.length) return source;
  for (const id of descendants) if (!Number.isSafeInteger(id) || id <= 0) throw new Error(`not a cgroup id: ${id}`);
  return source.replaceAll('cgroup == $1', `(cgroup == $1 || ${descendants.map((id) => `cgroup == ${id}`).join(' || ')})`);
}

/** The cgroups below `dir` (16 levels deep at most), breadth first, at most `max`: their ids
 * (inode numbers) and directories; `more` counts the rest. */
export async function descendantIds(dir: string, max = MAX_ZONE_CGROUPS - 1): Promise<{ ids: number[]; dirs: string[]; more: number }> {
  const ids: number[] = [];
  const dirs: string[] = [];
  let more = 0;
  let level = [dir];
  for (let depth = 0; level.length && depth < 16; depth++) {
    const next: string[] = [];
    for (const d of level) {
      const kids = await readdir(d, { withFileTypes: true }).catch(() => []);
      for (const k of kids) {
        if (!k.isDirectory()) continue;
        const path = join(d, k.name);
        if (ids.length >= max) {
          more++; // and its own descendants: each one left out is counted
          next.push(path);
          continue;
        }
        const ino = (await stat(path, { bigint: true }).catch(() => null))?.ino;
        if (ino === undefined || ino > BigInt(Number.MAX_SAFE_INTEGER)) continue;
        ids.push(Number(ino));
        dirs.push(path);
        next.push(path);
      }
    }
    level = next;
  }
  return { ids, dirs, more };
}

/**
 * Writes the widened script where bpftrace can read it; the returned function removes it. The
 * directory is made new with a random name (mkdtemp, mode 0700): a predictable path in /tmp
 * could be made beforehand by another user, who could then swap the program the agent runs
 * as root. The file keeps the script's name: bpftrace's messages name the file.
 */
export function writeScoped(file: string, source: string): { path: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'zonescope-script-'));
  const path = join(dir, basename(file));
  writeFileSync(path, source, { mode: 0o600, flag: 'wx' });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
