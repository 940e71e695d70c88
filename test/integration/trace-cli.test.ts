// `zonescope trace` as the on-call engineer runs it: progress on stderr, the result on stdout,
// the exit code telling success from failure. Through the DTrace stand-in, so it is quick.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { join } from 'node:path';
import { startHarness, ROOT, type Harness } from '../helpers/trace-harness.js';
import { zonescope } from '../helpers/cli.js';

const NODE = `zs-cli-${process.pid}`;
const fakes = join(ROOT, 'test/fakes/illumos');

describe('zonescope trace', () => {
  let h: Harness;
  let zone: string;
  const trace = (args: string[], token = h.tokens.operator) => zonescope(['trace', ...args, '--node', NODE], { ZONESCOPE_SERVER: h.url, ZONESCOPE_TOKEN: token });

  beforeAll(async () => {
    h = await startHarness();
    await h.startAgent(NODE, { args: ['--platform', 'illumos'], env: { PATH: `${fakes}/bin:${process.env.PATH}`, ZONESCOPE_FAKE_STATE: `/tmp/zs-cli-${process.pid}` } });
    zone = h.app.ctx.fleet.nodes.get(NODE)!.zones.find((z) => z.name !== 'global' && z.state === 'running')!.name;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('prints folded stacks for a flame script, with progress and what is missing on stderr', async () => {
    // the stand-in's cpu-profile reports drops and a probe error: partial (exit 3), the reasons
    // in words on stderr, the stacks it got on stdout
    const r = await trace(['cpu-profile', '--zone', zone, '--duration', '2s']);
    expect(r.exitCode, String(r.stderr)).toBe(3);
    expect(String(r.stdout)).toContain('webapp`_start;webapp`main;webapp`zonescope_hot_spin 116');
    expect(String(r.stderr)).toMatch(/cpu-profile/);
    expect(String(r.stderr)).toContain('partial: 12 events dropped by the tracer (its buffer was full)\n');
    expect(String(r.stderr)).toMatch(/partial: dtrace error: .*invalid address \(0x0\)/);
    // every stdout line is folded: stack, space, count
    for (const line of String(r.stdout).trim().split('\n')) expect(line).toMatch(/^\S.* \d+$/);
  });

  it('prints a flame script\'s programs and top functions with --format text, for a terminal', async () => {
    const r = await trace(['cpu-profile', '--zone', zone, '--duration', '2s', '--format', 'text']);
    expect(r.exitCode, String(r.stderr)).toBe(3);
    const out = String(r.stdout);
    // the stand-in's two intervals: 178 samples of one program, in three stacks
    expect(out).toMatch(/^178 samples in 3 distinct stacks\n/);
    expect(out).toMatch(/^webapp\s+178\s+100\.0%$/m);
    // by self weight: the hot function first, then memset (its own 50 and the 12 under it in the kernel)
    const fns = out.split('\n').filter((l) => /^\s+\d/.test(l));
    expect(fns[0]).toMatch(/^\s+116\s+65\.2%\s+116\s+65\.2%\s+webapp`zonescope_hot_spin$/);
    expect(fns[1]).toMatch(/^\s+50\s+28\.1%\s+62\s+34\.8%\s+libc\.so\.1`memset$/);
    expect(fns[2]).toMatch(/^\s+12\s+6\.7%\s+12\s+6\.7%\s+unix`page_create_va$/);
  });

  it('prints the whole trace as JSON with --format json', async () => {
    const r = await trace(['syscall-latency', '--zone', zone, '--duration', '2s', '--format', 'json']);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const t = JSON.parse(String(r.stdout));
    expect(t.status).toBe('done');
    expect(String(r.stderr)).toMatch(/done/);
    expect(t.records.some((x: { kind: string; keys: unknown[] }) => x.kind === 'hist' && x.keys[0] === 'read')).toBe(true);
  });

  it('fails with the server\'s reason and a non-zero exit', async () => {
    const unknown = await trace(['cpu-profile', '--zone', 'no-such-zone', '--duration', '2s']);
    expect(unknown.exitCode).not.toBe(0);
    expect(String(unknown.stderr)).toMatch(/zone.*no-such-zone/);
    const inject = await trace(['cpu-profile', '--zone', zone, '--param', 'hz=99;exit']);
    expect(inject.exitCode).not.toBe(0);
    expect(String(inject.stderr)).toMatch(/hz/);
    const viewer = await trace(['cpu-profile', '--zone', zone, '--duration', '2s'], h.tokens.viewer);
    expect(viewer.exitCode).not.toBe(0);
    expect(String(viewer.stderr)).toMatch(/viewer/);
  });
});
