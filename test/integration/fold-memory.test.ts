// `zonescope fold` keeps its memory flat however long the input: the real command (the
// built CLI, a child process) reads 50 MB and then 500 MB of DTrace stacks (the same 3000
// distinct stacks over and over) streamed into its stdin from a generator — never written
// to disk, never held by the test. Its peak RSS (VmHWM, read as it exits) may grow only a
// little with ten times the input, and its counts are exactly ten times the 50 MB run's.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
// @ts-expect-error: a plain .mjs module (the benchmark's capture generator and peak hook)
import { dtraceCapture, PEAK_HOOK, peakOf } from '../bench/fold.bench.mjs';
import { TEST_ENV } from '../helpers/procs.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const MB = 1024 * 1024;
/** allowed growth of the peak RSS from 50 MB to 500 MB of input */
const GROWTH_BOUND = 30 * MB;

interface Run {
  peak: number;
  fed: number;
  counts: Map<string, number>;
}

async function foldStdin(repeat: number, children: ChildProcess[]): Promise<Run> {
  const child = spawn(process.execPath, ['--import', PEAK_HOOK, MAIN, 'fold', '-'], {
    env: { ...process.env, ...TEST_ENV },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const closed = once(child, 'close');
  let fed = 0;
  for (const chunk of dtraceCapture(50 * MB, { repeat }) as Iterable<Buffer>) {
    fed += chunk.length;
    if (!child.stdin!.write(chunk)) await Promise.race([once(child.stdin!, 'drain'), closed]);
    if (child.exitCode !== null) break;
  }
  child.stdin!.end();
  const [code] = await closed;
  expect(code, err).toBe(0);
  const counts = new Map<string, number>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const sp = line.lastIndexOf(' ');
    counts.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return { peak: peakOf(err), fed, counts };
}

describe('zonescope fold memory', () => {
  it('keeps peak RSS flat from 50 MB to 500 MB of stdin, with exactly 10× the counts', async () => {
    const children: ChildProcess[] = [];
    try {
      const small = await foldStdin(1, children);
      const big = await foldStdin(10, children);
      expect(big.fed).toBeGreaterThanOrEqual(500 * MB);
      expect(small.counts.size).toBe(3000);
      expect(big.counts.size).toBe(small.counts.size);
      for (const [stack, n] of small.counts) expect(big.counts.get(stack), stack).toBe(n * 10);
      expect(small.peak).toBeGreaterThan(0);
      const growth = big.peak - small.peak;
      console.log(`fold peak RSS: ${(small.peak / MB).toFixed(1)} MB after 50 MB, ${(big.peak / MB).toFixed(1)} MB after 500 MB (growth ${(growth / MB).toFixed(1)} MB, bound ${GROWTH_BOUND / MB} MB)`);
      expect(growth).toBeLessThan(GROWTH_BOUND);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }, 60_000);
});
