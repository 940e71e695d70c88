// The DTrace path, end to end, through the stand-in dtrace (test/fakes/illumos/bin/dtrace):
// a real agent with --platform illumos runs the curated .d script with its real invocation,
// the stand-in replays test/fakes/illumos/dtrace/*.txt one interval a second, and the server
// ends up with the records and folded stacks those intervals hold; the drops and errors the
// stand-in writes on stderr become trace events and Prometheus counters.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDtraceAggregations } from '../../agent/parse/dtrace.js';
import { printaNames } from '../../agent/tracers/dtrace.js';
import { findScript, scriptsDir } from '../../scripts/catalog.js';
import { timeSlices } from '../../agent/tracers/time-slices.js';
import { foldStacks, formatFolded } from '../../protocol/folded.js';
import { startHarness, waitEnded, ROOT, type Harness } from '../helpers/trace-harness.js';

const NODE = `zs-dt-${process.pid}`;
const BAD = `zs-dt-bad-${process.pid}`;
const fakes = join(ROOT, 'test/fakes/illumos');
const env = { PATH: `${fakes}/bin:${process.env.PATH}`, ZONESCOPE_FAKE_STATE: `/tmp/zs-dt-${process.pid}` };

/**
 * The replay's records per interval, parsed the way the parser tests parse DTrace text and
 * named as the script prints them; the script's own counters (@zs_seen_*) stay in the agent,
 * and a time-sliced script's rows are one record per stack (slice N of the stand-in's second
 * at N × 20 ms).
 */
function replayRecords(script: string) {
  const names = printaNames(readFileSync(join(scriptsDir(), `${script}.d`), 'utf8'));
  const text = readFileSync(join(fakes, 'dtrace', `${script}.txt`), 'utf8').replace(/\{slice\+(\d+)\}/g, '$1');
  return text
    .split(/^=== zonescope interval ===\n/m)
    .filter((t) => t.trim())
    .map((t) => parseDtraceAggregations(t.split('\n').filter((l) => !l.startsWith('!stderr')).join('\n'), names).filter((r) => r.kind === 'printf' || !r.agg.startsWith('zs_seen_')))
    .map((rs) => (findScript(script)?.timeSliced ? timeSlices(rs, 0) : rs));
}

describe('traces through the DTrace stand-in', () => {
  let h: Harness;
  let zone: string;

  beforeAll(async () => {
    h = await startHarness();
    await h.startAgent(NODE, { args: ['--platform', 'illumos'], env });
    await h.startAgent(BAD, { args: ['--platform', 'illumos'], env: { ...env, ZONESCOPE_FAKE_DTRACE_FAIL: 'compile' } });
    zone = h.app.ctx.fleet.nodes.get(NODE)!.zones.find((z) => z.name !== 'global')!.name;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('cpu-profile gives the replayed stacks, folded like the parser tests fold them', async () => {
    const r = await h.api('POST', '/api/traces', { node: NODE, zone, script: 'cpu-profile', durationS: 2 });
    expect(r.status, r.text).toBe(201);
    const t = await waitEnded(h, r.json.id, 20_000);
    // the stand-in reports drops and a probe error: data was lost, so not "done"
    expect(t.status, t.error).toBe('partial');
    expect(t.reasons).toEqual([
      '12 events dropped by the tracer (its buffer was full)',
      '3 aggregation entries dropped (aggregation buffer full)',
      expect.stringMatching(/^dtrace error: .*invalid address \(0x0\)/),
    ]);
    expect(t.intervals).toBe(2);
    const folded = (await h.api('GET', `/api/traces/${r.json.id}/folded`)).text;
    // rooted at the process's program name (execname), as FlameGraph's collapsers do
    expect(folded).toBe(
      'webapp;webapp`_start;webapp`main;webapp`render_page;libc.so.1`memset 50\n' +
        'webapp;webapp`_start;webapp`main;webapp`render_page;libc.so.1`memset;unix`cmntrap;unix`trap;genunix`anon_zero;unix`page_create_va 12\n' +
        'webapp;webapp`_start;webapp`main;webapp`zonescope_hot_spin 116\n',
    );
    expect(folded).toBe(formatFolded(foldStacks(replayRecords('cpu-profile').flat())));
    const annotated = (await h.api('GET', `/api/traces/${r.json.id}/folded?annotate=1`)).text;
    expect(annotated).toContain('libc.so.1`memset;unix`cmntrap_[k];unix`trap_[k];genunix`anon_zero_[k];unix`page_create_va_[k] 12');
    const sum = (kind: string, agg: string) => t.records.filter((x: any) => x.kind === kind && x.agg === agg).reduce((n: number, x: any) => n + x.value, 0);
    expect(sum('stack', 'samples')).toBe(178);
    // every stack keeps its aggregation's name, also user-only stacks (empty kernel part)
    expect(t.records.filter((x: any) => x.kind === 'stack').every((x: any) => x.agg === 'samples')).toBe(true);
    // the interval history holds each interval's own records
    const ivs = (await h.api('GET', `/api/traces/${r.json.id}/intervals`)).json;
    expect(ivs.map((i: any) => i.records.length)).toEqual(replayRecords('cpu-profile').map((x) => x.length));
    // each stack says when its samples fell: in the second before its interval was sent
    // (the stand-in's clock), adding up to its count; the burst of the hot function is there
    for (const iv of ivs)
      for (const x of iv.records) {
        expect(x.slices.reduce((n: number, [, c]: number[]) => n + c, 0)).toBe(x.value);
        for (const [at] of x.slices) expect(iv.time - at).toBeGreaterThanOrEqual(0);
        for (const [at] of x.slices) expect(iv.time - at).toBeLessThan(3000);
      }
    const hot = ivs[0].records.find((x: any) => x.stack[0].includes('zonescope_hot_spin'));
    expect(hot.slices.map(([, c]: number[]) => c)).toEqual(Array(11).fill(5));
    // drops and errors from stderr: events, totals, and the two counters on /metrics
    expect(t.drops).toEqual({ drops: 12, 'aggregation-drops': 3 });
    expect(t.errors).toBe(1);
    expect(t.events.some((e: any) => e.kind === 'error' && /invalid address \(0x0\)/.test(e.message))).toBe(true);
    const metrics = (await fetch(`${h.url}/metrics`).then((x) => x.text()));
    expect(metrics).toContain(`zonescope_trace_drops_total{node="${NODE}",kind="drops"} 12`);
    expect(metrics).toContain(`zonescope_trace_drops_total{node="${NODE}",kind="aggregation-drops"} 3`);
    expect(metrics).toContain(`zonescope_trace_errors_total{node="${NODE}"} 1`);
  });

  it('syscall-latency merges the llquantize histograms of every interval', async () => {
    const r = await h.api('POST', '/api/traces', { node: NODE, zone, script: 'syscall-latency', durationS: 3 });
    const t = await waitEnded(h, r.json.id, 20_000);
    expect(t.status, t.error).toBe('done');
    const read = t.records.find((x: any) => x.kind === 'hist' && x.keys[0] === 'read');
    const one = replayRecords('syscall-latency')[0].find((x: any) => x.keys[0] === 'read') as any;
    // the stand-in replays its one interval three times
    expect(read.buckets.filter((b: any) => b.count).map((b: any) => [b.lo, b.count])).toEqual(one.buckets.filter((b: any) => b.count).map((b: any) => [b.lo, b.count * 3]));
    expect(read.buckets.find((b: any) => b.lo === 1000).count).toBe(120);
  });

  it('memleak joins the alloc and free events into the bytes each stack still holds', async () => {
    const r = await h.api('POST', '/api/traces', { node: NODE, zone, script: 'memleak', durationS: 2, params: { pid: 4242 } });
    expect(r.status, r.text).toBe(201);
    const t = await waitEnded(h, r.json.id, 20_000);
    expect(t.status, t.error).toBe('partial');
    expect(t.reasons).toEqual(['5 events dropped by the tracer (its buffer was full)']);
    // cache_insert kept 4096 + 8192 (the other 4096 was freed); parse_header freed all it took
    expect((await h.api('GET', `/api/traces/${r.json.id}/folded`)).text).toBe('imgd`_start;imgd`main;imgd`handle_request;imgd`cache_insert;libc.so.1`malloc 12288\n');
    expect(t.drops).toEqual({ drops: 5 });
  });

  it('a script DTrace cannot compile ends the trace failed with DTrace\'s message', async () => {
    const r = await h.api('POST', '/api/traces', { node: BAD, zone: 'global', script: 'cpu-profile', durationS: 2 });
    const t = await waitEnded(h, r.json.id, 20_000);
    expect(t.status).toBe('failed');
    expect(t.error).toMatch(/^dtrace: failed to compile script .*cpu-profile\.d: line 9: probe description/);
  });
});
