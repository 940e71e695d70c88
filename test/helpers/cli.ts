// Running the built zonescope command as a real process in tests: output captured, readiness
// awaited, and always stopped by PID (SIGTERM, then SIGKILL) even when a test fails.
import { execa, type ResultPromise } from 'execa';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TEST_ENV } from './procs.js';
import { retrying } from './retry.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const MAIN = join(ROOT, 'dist/cli/main.js');
export const FAKES = join(ROOT, 'test/fakes/illumos/bin');

export interface Proc {
  proc: ResultPromise;
  pid: number;
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
  kill9(): void;
}

const running = new Set<Proc>();

export function tempDir(prefix = 'zonescope-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
    s.on('error', rej);
  });
}

/** Run `zonescope ARGS` to completion. */
export function zonescope(args: string[], env: Record<string, string> = {}) {
  return execa('node', [MAIN, ...args], { reject: false, env: { ...TEST_ENV, ...env }, timeout: 60_000 });
}

/** Start `zonescope ARGS` in the background. */
export function spawnZonescope(args: string[], env: Record<string, string> = {}): Proc {
  const proc = execa('node', [MAIN, ...args], { reject: false, env: { ...TEST_ENV, ...env }, all: true, buffer: false });
  let out = '';
  const waiters = new Set<() => void>();
  proc.all?.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  const p: Proc = {
    proc,
    pid: proc.pid!,
    output: () => out,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((res, rej) => {
        const check = () => {
          const m = re.exec(out);
          if (m) {
            waiters.delete(check);
            clearTimeout(t);
            res(m[0]);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          rej(new Error(`timed out waiting for ${re} in output:\n${out.slice(-3000)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async stop() {
      running.delete(p);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await proc;
      clearTimeout(t);
    },
    kill9() {
      proc.kill('SIGKILL');
    },
  };
  running.add(p);
  return p;
}

/** Run `start` again while it fails because its port is taken (EADDRINUSE), up to 5 times,
 *  half a second apart. A server restarted on its port races other test files for it: freePort
 *  only knew it free when it was first asked, and a parallel file's listener or connection may
 *  hold it a moment while the server is down. */
export function retryAddrInUse<T>(start: () => Promise<T>): Promise<T> {
  return retrying(start, (e) => (e as NodeJS.ErrnoException).code === 'EADDRINUSE' || /EADDRINUSE/.test((e as Error).message), { delayMs: 500 });
}

/** Start `zonescope server ARGS` and wait until it says it is up; tried again if its port is
 *  taken (retryAddrInUse). */
export function startServerProc(args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<Proc> {
  return retryAddrInUse(async () => {
    const p = spawnZonescope(['server', ...args], env);
    const up = p.waitFor(/zonescope is up/, timeoutMs);
    const exited = p.proc.then(() => 'exited' as const);
    up.catch(() => undefined); // when it exited first, the wait for "up" times out unheard
    if ((await Promise.race([up, exited])) !== 'exited') return p;
    await p.stop();
    throw new Error(`zonescope server exited before it was up:\n${p.output().slice(-3000)}`);
  });
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
