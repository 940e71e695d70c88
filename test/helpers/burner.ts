// Builds and starts the C burner (burner.c): real ELF binaries give clean ustack symbols, so
// a flame graph test can look for the exact function name.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_ENV } from './procs.js';

const src = join(dirname(fileURLToPath(import.meta.url)), 'burner.c');

/** Compiles a burner whose hot function is called `hot`; returns the binary's path.
 * `static`: linked statically, so it runs inside a container whose root has no glibc. */
export function buildBurner(hot: string, dir = mkdtempSync(join(tmpdir(), 'zs-burner-')), opts: { static?: boolean } = {}): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(hot)) throw new Error(`burner: '${hot}' is not a C identifier`);
  const out = join(dir, hot);
  execFileSync('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-fno-inline', `-DHOT=${hot}`, ...(opts.static ? ['-static'] : []), '-o', out, src]);
  return out;
}

/** Starts a burner and resolves once it runs (it prints "ready"). Kill it by pid when done. */
export async function startBurner(bin: string, mode: 'spin' | 'syscalls' | 'idle' | 'leak'): Promise<ChildProcess> {
  const c = spawn(bin, [mode], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    c.once('error', reject);
    c.once('exit', (code) => reject(new Error(`burner exited (${code}) before it was ready`)));
    c.stdout!.once('data', () => resolve());
  });
  return c;
}

export function killAll(children: ChildProcess[]): void {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) {
    try {
      process.kill(c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
