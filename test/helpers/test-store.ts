// A store in a temporary directory, with its fault counting, for the store tests; and a tiny
// tmpfs, and filling a file system to its last byte. Everything made here goes when the test file ends.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { Store } from '../../server/store.js';
import { StoreFaults } from '../../server/store-faults.js';

const dirs: string[] = [];
const stores: Store[] = [];
const mounts: string[] = [];
afterAll(() => {
  for (const s of stores) s.close();
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
      rmSync(m, { recursive: true, force: true });
    } catch {
      // left for the next boot's tmp cleanup
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A store in `dir` (a new temporary one by default); `errors` lists the ops that failed. */
export function openTestStore(dir = mkdtempSync(join(tmpdir(), 'zs-store-'))) {
  dirs.push(dir);
  const store = new Store(dir);
  stores.push(store);
  const errors: string[] = [];
  const faults = new StoreFaults(store, { inc: ({ op }) => void errors.push(op) }, { warn: () => undefined, error: () => undefined });
  return { dir, store, faults, errors };
}

/** A data directory on a tmpfs of `sizeKiB` (root only): a disk that fills. */
export function smallDisk(sizeKiB = 1024): string {
  const mnt = mkdtempSync(join(tmpdir(), 'zs-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', mnt]);
  mounts.push(mnt);
  const data = join(mnt, 'data');
  mkdirSync(data);
  return data;
}

/** Fills the file system holding `dir` to the last byte (a `ballast` file in `dir`); returns
 * what makes room again. */
export function fillDisk(dir: string): () => void {
  const ballast = join(dir, 'ballast');
  const fd = openSync(ballast, 'a');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // ENOSPC: full
  }
  try {
    for (;;) writeSync(fd, chunk.subarray(0, 512));
  } catch {
    // full to the last block
  }
  closeSync(fd);
  return () => rmSync(ballast);
}
