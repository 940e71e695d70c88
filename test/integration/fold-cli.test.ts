// `zonescope fold FILE` as a user runs it: a capture spanning many read chunks folds to the
// same lines as a naive whole-file fold (so no frame or count is lost or split at a chunk
// boundary), and a reader that stops early (`| head`) ends it quietly with status 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
// @ts-expect-error: a plain .mjs module (the benchmark's capture generator)
import { dtraceCapture } from '../bench/fold.bench.mjs';
import { TEST_ENV } from '../helpers/procs.js';

const MAIN = join(import.meta.dirname, '../../dist/cli/main.js');
const env = { ...process.env, ...TEST_ENV };

/** stackcollapse.pl's rules in their plainest form, for frames without `::` or `;` */
function naiveFold(text: string): string {
  const m = new Map<string, number>();
  let st: string[] = [];
  for (let l of text.split('\n').slice(3)) {
    l = l.trim();
    if (l === '') continue;
    if (/^\d+$/.test(l)) {
      const k = st.reverse().join(';');
      m.set(k, (m.get(k) ?? 0) + Number(l));
      st = [];
    } else st.push(l.replace(/\+[^+]*$/, ''));
  }
  return [...m.keys()].sort().map((k) => `${k} ${m.get(k)}\n`).join('');
}

describe('zonescope fold FILE', () => {
  let dir: string;
  let file: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'zs-fold-cli-'));
    file = join(dir, 'capture.txt');
    const ws = createWriteStream(file);
    // ~5.5 MB: several 1 MB reads, with records and lines cut at every chunk edge
    for (const c of dtraceCapture(5.5 * 1024 * 1024, { distinct: 500, seed: 7 }) as Iterable<Buffer>) ws.write(c);
    ws.end();
    await once(ws, 'finish');
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function run(args: string[]) {
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    return { child, err: () => err };
  }

  it('folds a capture read in many chunks exactly like a whole-file fold', async () => {
    const { child, err } = run(['fold', file]);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const [code] = await once(child, 'close');
    expect(code, err()).toBe(0);
    const expected = naiveFold(readFileSync(file, 'utf8'));
    expect(expected.split('\n')).toHaveLength(501);
    expect(out).toBe(expected);
  });

  it('ends quietly when its reader goes away', async () => {
    const { child, err } = run(['fold', file]);
    await once(child.stdout!, 'data');
    child.stdout!.destroy();
    const [code] = await once(child, 'close');
    expect(err()).toBe('');
    expect(code).toBe(0);
  });
});
