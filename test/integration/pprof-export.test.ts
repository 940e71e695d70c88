// pprof exports are read by the real `go tool pprof` (Debian golang-go): a real bpftrace
// cpu-profile of a burner in a test zone, exported as pprof, has the burner's hot function on
// top and the same total as the trace's folded stacks; a memleak trace exports bytes and an
// offcpu trace nanoseconds, as pprof's own units.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { makeTestZone, type TestZone } from '../helpers/zone.js';
import { buildBurner, startBurner, killAll } from '../helpers/burner.js';
import { startHarness, waitEnded, type Harness } from '../helpers/trace-harness.js';
import { TEST_ENV } from '../helpers/procs.js';
import { foldedSamples } from '../helpers/folded.js';

const NODE = `zs-pprof-${process.pid}`;
const GO = existsSync('/usr/bin/go');
const dir = mkdtempSync(join(tmpdir(), 'zs-pprof-'));

/** `go tool pprof` with a private cache, never asking the network for symbols */
function pprof(args: string[], file: string): string {
  return execFileSync('go', ['tool', 'pprof', ...args, file], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...TEST_ENV, HOME: dir, GOCACHE: join(dir, 'gocache'), PPROF_TMPDIR: dir, PPROF_BINARY_PATH: '/nonexistent' },
    timeout: 120_000,
  });
}


async function download(h: Harness, path: string): Promise<Buffer> {
  const res = await fetch(h.url + path, { headers: { authorization: `Bearer ${h.tokens.viewer}` } });
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/protobuf/);
  return Buffer.from(await res.arrayBuffer());
}

describe.skipIf(!GO)('pprof export read by go tool pprof', () => {
  let h: Harness;
  let zone: TestZone;
  const kids: ChildProcess[] = [];
  let hot: string;

  beforeAll(async () => {
    hot = buildBurner('zonescope_pprof_hot');
    zone = await makeTestZone(`zs-pprof-${process.pid}`);
    h = await startHarness();
    await h.startAgent(NODE);
    await h.waitFor('the test zone to be discovered', () => h.app.ctx.fleet.nodes.get(NODE)?.zones.some((z) => z.name === zone.name));
  });

  afterAll(async () => {
    killAll(kids);
    await h?.close();
    await zone?.destroy();
  });

  it('a cpu-profile trace: top function and total as in the trace', async () => {
    const burner = await startBurner(hot, 'spin');
    kids.push(burner);
    await zone.addPid(burner.pid!);
    const r = await h.api('POST', '/api/traces', { node: NODE, zone: zone.name, script: 'cpu-profile', params: { hz: 99 }, durationS: 3 });
    expect(r.status, r.text).toBe(201);
    const t = await waitEnded(h, r.json.id);
    // on a loaded machine it can end partial (an interval late): the export is asked about here
    expect(['done', 'partial'], `${t.error} ${t.reasons}`).toContain(t.status);
    killAll([burner]);
    const folded = (await h.api('GET', `/api/traces/${r.json.id}/folded`)).text;
    const total = foldedSamples(folded);
    expect(foldedSamples(folded, 'zonescope_pprof_hot')).toBeGreaterThan(30);

    const file = join(dir, 'cpu.pb.gz');
    writeFileSync(file, await download(h, `/api/traces/${r.json.id}/pprof`));
    const top = pprof(['-top'], file);
    // "Type: samples" and "Showing nodes accounting for N, 100% of N total"
    expect(top).toMatch(/^Type: samples$/m);
    expect(top).toContain(`of ${total} total`);
    const rows = top.split('\n').filter((l) => /^\s+\d/.test(l));
    expect(rows[0].trim().split(/\s+/).pop()).toBe('zonescope_pprof_hot');
    // the sampling period is the trace's rate
    const raw = pprof(['-raw'], file);
    expect(raw).toMatch(/Period: 10101010/);
    expect(raw).toMatch(/samples\/count/);

    // a time range, the first second of samples (their time slices): fewer samples, the same
    // total in pprof as in the folded text of that range
    const ivs = (await h.api('GET', `/api/traces/${r.json.id}/intervals`)).json;
    const from = Math.min(...ivs.flatMap((iv: any) => iv.records.flatMap((x: any) => x.slices ?? [])).map(([at]: number[]) => at));
    expect(Number.isFinite(from)).toBe(true);
    const range = `from=${from}&to=${from + 999}`;
    const first = (await h.api('GET', `/api/traces/${r.json.id}/folded?${range}`)).text;
    expect(foldedSamples(first)).toBeGreaterThan(0);
    const part = join(dir, 'cpu-part.pb.gz');
    writeFileSync(part, await download(h, `/api/traces/${r.json.id}/pprof?${range}`));
    expect(pprof(['-top'], part)).toContain(`of ${foldedSamples(first)} total`);
    expect(foldedSamples(first)).toBeLessThan(total);
  }, 90_000);

  it('bytes and nanoseconds keep their units', async () => {
    const leaker = await startBurner(hot, 'leak');
    kids.push(leaker);
    await zone.addPid(leaker.pid!);
    const m = await h.api('POST', '/api/traces', { node: NODE, zone: zone.name, script: 'memleak', durationS: 2, params: { pid: leaker.pid } });
    expect(m.status, m.text).toBe(201);
    const o = await h.api('POST', '/api/traces', { node: NODE, zone: zone.name, script: 'offcpu', durationS: 2 });
    expect(o.status, o.text).toBe(201);
    const tm = await waitEnded(h, m.json.id, 30_000);
    const to = await waitEnded(h, o.json.id, 30_000);
    killAll([leaker]);
    // on a loaded machine either can end partial (an interval late, samples lost to a full
    // map): only their units are asked about here, and they have stacks either way
    expect(['done', 'partial'], `${tm.error} ${tm.reasons}`).toContain(tm.status);
    expect(['done', 'partial'], `${to.error} ${to.reasons}`).toContain(to.status);

    const mem = await download(h, `/api/traces/${m.json.id}/pprof`);
    const p = Profile.decode(gunzipSync(mem));
    const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
    expect(p.sampleType.map((s) => `${str(s.type)}/${str(s.unit)}`)).toEqual(['space/bytes']);
    const memFile = join(dir, 'mem.pb.gz');
    writeFileSync(memFile, mem);
    const memTop = pprof(['-top', '-unit=B'], memFile);
    const leaked = foldedSamples((await h.api('GET', `/api/traces/${m.json.id}/folded`)).text);
    expect(memTop).toMatch(/^Type: space$/m);
    expect(memTop).toContain(`of ${leaked}B total`);

    const off = await download(h, `/api/traces/${o.json.id}/pprof`);
    const q = Profile.decode(gunzipSync(off));
    expect(q.sampleType.map((s) => `${q.stringTable.strings[Number(s.type)]}/${q.stringTable.strings[Number(s.unit)]}`)).toEqual(['time/nanoseconds']);
    const offFile = join(dir, 'off.pb.gz');
    writeFileSync(offFile, off);
    expect(pprof(['-top'], offFile)).toMatch(/^Type: time$/m);
  }, 90_000);

  it('says why when there is nothing to export', async () => {
    const r = await h.api('GET', '/api/traces/no-such-trace/pprof');
    expect(r.status).toBe(404);
    expect(r.json.message).toMatch(/unknown trace/);
  });
});
