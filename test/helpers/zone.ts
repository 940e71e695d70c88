// A real Linux test zone: a cgroup `zonescope/NAME` in every hierarchy zonescope reads, so
// tests get a zone without LXC. On v1 hierarchies it sits under this process's own cgroup
// (so the test's processes stay inside whatever accounting the caller's cgroup has); on v2
// at the root, because v2 forbids processes in a cgroup whose children have controllers.
// destroy() moves nothing: it kills the zone's processes (only the test suite's own, marked
// ZONESCOPE_TEST, test/helpers/procs.ts) and removes the directories once they are empty.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { detectLayout, type Hierarchy } from '../../agent/platform/cgroup.js';
import { parseProcCgroup } from '../../agent/parse/cgroup.js';
import { isTestProcess } from './procs.js';
import { retrying } from './retry.js';

export interface TestZone {
  name: string;
  /** the zone's path relative to the unified hierarchy (else the first one), like Zone.cgroup */
  cgroup: string;
  /** absolute directories, one per hierarchy */
  dirs: string[];
  /** into the zone's cgroup, or into `sub`, a cgroup below it (as systemd or lxc-attach place a container's processes) */
  addPid(pid: number, sub?: string): Promise<void>;
  destroy(): Promise<void>;
}

const V2_CONTROLLERS = ['cpu', 'memory', 'io', 'pids'];

async function ownPath(h: Hierarchy): Promise<string> {
  if (h.version === 2) return '';
  const mine = parseProcCgroup(await readFile('/proc/self/cgroup', 'utf8'));
  const entry = mine.find((e) => e.controllers.some((c) => h.controllers.has(c)));
  return (entry?.path ?? '/').replace(/^\/+/, '');
}

async function enable(dir: string, available: string[]): Promise<void> {
  const have = (await readFile(join(dir, 'cgroup.controllers'), 'utf8')).split(/\s+/);
  const want = available.filter((c) => have.includes(c));
  if (want.length) await writeFile(join(dir, 'cgroup.subtree_control'), want.map((c) => `+${c}`).join(' '));
}

async function isOurs(pid: string): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2))) return true; // exited, not yet reaped
    // an exiting process has released its memory: its environ reads empty, nothing to kill
    if ((await readFile(`/proc/${pid}/environ`)).length === 0) return true;
  } catch {
    return true; // already gone
  }
  return isTestProcess(pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function makeTestZone(name: string, opts: { cgroupRoot?: string } = {}): Promise<TestZone> {
  if (!/^[A-Za-z0-9_.:@-]+$/.test(name) || name === '.' || name === '..') throw new Error(`test zone name "${name}" is not a valid zone name`);
  const layout = await detectLayout(opts.cgroupRoot ?? '/sys/fs/cgroup');
  if (layout.hierarchies.length === 0) throw new Error(`no cgroup hierarchy under ${opts.cgroupRoot ?? '/sys/fs/cgroup'}`);
  const dirs: string[] = [];
  const parents: string[] = [];
  let cgroup = '';
  try {
    for (const h of layout.hierarchies) {
      const base = join(h.dir, await ownPath(h));
      const parent = join(base, 'zonescope');
      const dir = join(parent, name);
      // test files running in parallel share `parent`, and each one's cleanup removes it once
      // it is empty: it can go between making it and making `dir` in it. Then make both again.
      await retrying(async () => {
        await mkdir(parent, { recursive: true });
        if (h.version === 2 && h.controllers.size > 0) {
          await enable(base, V2_CONTROLLERS);
          await enable(parent, V2_CONTROLLERS);
        }
        await mkdir(dir);
      }, (e) => (e as NodeJS.ErrnoException).code === 'ENOENT');
      dirs.push(dir);
      parents.push(parent);
      const rel = dir.slice(h.dir.length).replace(/^\/+/, '');
      if (h === layout.unified || !cgroup) cgroup = rel;
    }
  } catch (e) {
    await removeAll(dirs, parents);
    throw new Error(`test zone ${name}: ${(e as Error).message}`);
  }

  const subdirs: string[] = [];
  return {
    name,
    cgroup,
    dirs,
    async addPid(pid: number, sub?: string) {
      if (sub !== undefined && (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(sub) || sub.split('/').some((s) => s === '.' || s === '..'))) throw new Error(`test zone ${name}: bad sub-cgroup '${sub}'`);
      for (const d of dirs) {
        const to = sub ? join(d, sub) : d;
        if (sub && !subdirs.includes(to)) {
          await mkdir(to, { recursive: true });
          // deepest first when they are removed
          const chain: string[] = [];
          for (let p = to; p !== d; p = dirname(p)) if (!subdirs.includes(p)) chain.push(p);
          subdirs.unshift(...chain);
        }
        await writeFile(join(to, 'cgroup.procs'), `${pid}\n`);
      }
    },
    async destroy() {
      // a process killed through the first hierarchy is still listed in the others until it is
      // reaped, and a dying process's environ reads empty: it was checked already
      const killed = new Set<string>();
      for (const d of [...subdirs, ...dirs]) {
        let procs: string[];
        try {
          procs = (await readFile(join(d, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
        } catch {
          continue;
        }
        for (const pid of procs) {
          if (killed.has(pid)) continue;
          if (!(await isOurs(pid))) throw new Error(`test zone ${name}: process ${pid} in ${d} was not started by the tests; not killing it`);
          try {
            process.kill(Number(pid), 'SIGKILL');
            killed.add(pid);
          } catch {
            // exited meanwhile
          }
        }
      }
      await removeAll([...subdirs, ...dirs], parents);
    },
  };
}

async function removeAll(dirs: string[], parents: string[]): Promise<void> {
  const errors: string[] = [];
  for (const d of dirs) {
    // a killed process leaves its cgroup only once it is reaped: retry for a while
    for (let i = 0; ; i++) {
      try {
        await rmdir(d);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (i >= 50) {
          errors.push(`${d}: ${(e as Error).message}`);
          break;
        }
        await sleep(100);
      }
    }
  }
  for (const p of parents) {
    try {
      await rmdir(p);
    } catch {
      // another test zone still lives there
    }
  }
  if (errors.length) throw new Error(`test zone cleanup: ${errors.join('; ')}`);
}
