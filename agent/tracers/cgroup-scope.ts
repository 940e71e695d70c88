// bpftrace scopes a trace to a zone with `cgroup == $1`: the id of the cgroup v2 directory the
// task itself is in. A container's processes often sit in cgroups below its own — systemd's
// slices and services in a system container, lxc-attach's `.lxc` — which that test misses: a
// profile of such a zone came out nearly empty. So when the zone's cgroup has descendants, the
// script runs with the test widened to each of their ids, read when the trace starts (a cgroup
// made later is not traced; the trace says how many were left out past the cap).
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
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

/** Ids (inode numbers) of the cgroups below `dir`, breadth first, at most `max`; `more` counts the rest. */
export async function descendantIds(dir: string, max = MAX_ZONE_CGROUPS - 1): Promise<{ ids: number[]; more: number }> {
  const ids: number[] = [];
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
          more++;
          continue;
        }
        const ino = (await stat(path, { bigint: true }).catch(() => null))?.ino;
        if (ino === undefined || ino > BigInt(Number.MAX_SAFE_INTEGER)) continue;
        ids.push(Number(ino));
        next.push(path);
      }
    }
    level = next;
  }
  return { ids, more };
}

let dir: string | undefined;

/** Writes the widened script where bpftrace can read it; the returned function removes it. */
export function writeScoped(file: string, source: string): { path: string; remove: () => void } {
  if (!dir) {
    dir = join(tmpdir(), `zonescope-scripts-${process.pid}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.once('exit', () => rmSync(dir!, { recursive: true, force: true }));
  }
  // its own directory, named as the script is: bpftrace's messages name the file
  const sub = join(dir, createHash('sha256').update(source).digest('hex').slice(0, 16) + `-${process.hrtime.bigint()}`);
  mkdirSync(sub, { mode: 0o700 });
  const path = join(sub, basename(file));
  writeFileSync(path, source, { mode: 0o600 });
  return { path, remove: () => rmSync(sub, { recursive: true, force: true }) };
}
