// One server per data directory: two would both write the store, both answer the same
// agents' hellos and each believe it holds their resume positions. The lock is a pid file
// created exclusively; one left by a server that died (its pid gone, or no longer a node
// process) is taken over, so a crash never needs a hand-cleanup.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirInUse extends Error {}

export interface DataDirLock {
  path: string;
  release(): void;
}

/** the pid in the lock file, if the file says one */
function holder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a running server; a recycled pid (another program) does not count. */
function isServer(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return /node|zonescope/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true; // no /proc to ask (or not ours to read): a live pid is taken at its word
  }
}

export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'server.pid');
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${path}: cannot create the data directory lock: ${(e as Error).message}`);
      const pid = holder(path);
      if (pid !== undefined && pid !== process.pid && isServer(pid))
        throw new DataDirInUse(`${dir} is in use by another zonescope server (pid ${pid}; lock file ${path}): stop it first, or give this one another --data`);
      if (attempt > 0) throw new Error(`${path}: another process keeps recreating the lock file`);
      unlinkSync(path); // left by a server that is gone
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let held = true;
    const release = () => {
      if (!held) return;
      held = false;
      process.removeListener('exit', release);
      if (holder(path) === process.pid) unlinkSync(path);
    };
    process.once('exit', release);
    return { path, release };
  }
}
