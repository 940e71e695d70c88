// Honest trace outcomes and tracer prerequisites on real bpftrace, real agents and real test
// zones: a script whose prerequisites are missing is refused with the reason before anything
// starts (and runs once the agent could mount tracefs itself, in a private mount namespace so
// the machine's tracefs is never touched); a trace whose target process exits or whose zone
// goes away ends partial saying so; a stopped cpu-profile keeps its last interval.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestZone, type TestZone } from '../helpers/zone.js';
import { buildBurner, startBurner, killAll } from '../helpers/burner.js';
import { startHarness, waitEnded, childrenNamed, type Harness } from '../helpers/trace-harness.js';
import { zonescope } from '../helpers/cli.js';
import { TEST_ENV } from '../helpers/procs.js';
import { foldedSamples } from '../helpers/folded.js';

const NODE = `zs-out-${process.pid}`;
const NO_TRACEFS = `zs-notracefs-${process.pid}`;
const OWN_NS = `zs-mountns-${process.pid}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// 2^15 distinct allocating stacks (a and b called along the bits of i), more than the 10,240
// keys a bpftrace map holds: the map fills, the script's own counter still counts
const MANY_STACKS_C = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
volatile unsigned long sink;
void a(int d, unsigned v);
void b(int d, unsigned v);
__attribute__((noinline)) void leaf(void) { void *p = malloc(16); sink += (unsigned long)p; free(p); }
__attribute__((noinline)) void a(int d, unsigned v) { if (!d) { leaf(); return; } if (v & 1) a(d - 1, v >> 1); else b(d - 1, v >> 1); sink++; }
__attribute__((noinline)) void b(int d, unsigned v) { if (!d) { leaf(); return; } if (v & 1) a(d - 1, v >> 1); else b(d - 1, v >> 1); sink++; }
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("ready\\n");
  for (unsigned i = 0;; i++) { a(15, i & 0x7fff); if ((i & 1023) == 0) usleep(1000); }
}
`;
const tracefsAt = (pid: number) => readFileSync(`/proc/${pid}/mounts`, 'utf8').split('\n').filter((l) => l.split(' ')[2] === 'tracefs').map((l) => l.split(' ')[1]);

describe('trace prerequisites and outcomes on real bpftrace', () => {
  let h: Harness;
  const zones: TestZone[] = [];
  const kids: ChildProcess[] = [];
  let hot: string;
  let dir: string;

  beforeAll(async () => {
    hot = buildBurner('zonescope_outcome_spin');
    dir = mkdtempSync(join(tmpdir(), 'zs-outcomes-'));
    h = await startHarness();
    await h.startAgent(NODE);
  }, 60_000);

  afterAll(async () => {
    killAll(kids);
    await h?.close();
    for (const z of zones) await z.destroy().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  const zone = async (tag: string) => {
    const z = await makeTestZone(`zs-out-${tag}-${process.pid}`);
    zones.push(z);
    await h.waitFor(`zone ${z.name} to be discovered`, () => h.app.ctx.fleet.nodes.get(NODE)?.zones.some((x) => x.name === z.name));
    return z;
  };
  const intervals = async (id: string) => (await h.api('GET', `/api/traces/${id}`)).json.intervals as number;

  it('refuses a script whose prerequisites are missing, with the reason, before anything starts', async () => {
    // tracefs "not mounted" where this agent looks, and no way to mount it there (a file)
    const notADir = join(dir, 'tracefs-here');
    writeFileSync(notADir, '');
    const agent = await h.startAgent(NO_TRACEFS, { env: { ZONESCOPE_TRACEFS: notADir } });
    const list = await h.api('GET', `/api/scripts?node=${NO_TRACEFS}`, undefined, h.tokens.viewer);
    expect(list.status, list.text).toBe(200);
    const by = Object.fromEntries(list.json.map((s: any) => [s.id, s]));
    for (const id of ['syscall-latency', 'syscall-count', 'io-latency', 'offcpu']) {
      expect(by[id].available, id).toBe(false);
      expect(by[id].reason).toMatch(new RegExp(`tracefs is not mounted at ${notADir}.*mounting it failed`));
    }
    for (const id of ['cpu-profile', 'memleak', 'malloc-sizes']) expect(by[id].available, id).toBe(true);
    // the node does not claim more than is true
    const node = (await h.api('GET', `/api/nodes/${NO_TRACEFS}`)).json;
    expect(node.tracer).toMatchObject({ name: 'bpftrace', available: true, scripts: { available: 3, total: 7 } });

    const r = await h.api('POST', '/api/traces', { node: NO_TRACEFS, zone: 'global', script: 'syscall-latency', durationS: 2 });
    expect(r.status, r.text).toBe(409);
    expect(r.json.message).toMatch(/syscall-latency cannot run on node .*: tracefs is not mounted/);
    await sleep(300);
    expect(childrenNamed(agent.pid!, 'bpftrace')).toEqual([]);

    // the CLI says the same
    const cli = await zonescope(['scripts', '--node', NO_TRACEFS, '--server', h.url, '--token', h.tokens.viewer]);
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`3 of 7 scripts can run on node ${NO_TRACEFS}`);
    expect(cli.stdout).toMatch(/syscall-latency — .*\[cannot run\]\n  cannot run: tracefs is not mounted/);
    const unknown = await zonescope(['scripts', '--node', 'no-such-node', '--server', h.url, '--token', h.tokens.viewer]);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/HTTP 404: node: unknown node 'no-such-node'/);
  });

  it('mounts tracefs when it is missing and the agent is root, so syscall-latency runs', async () => {
    // a private mount namespace without tracefs (nor debugfs, which would offer it again)
    const unmount = 'umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; exec "$0" "$@"';
    const hostBefore = tracefsAt(process.pid);
    const agent = await h.startAgent(OWN_NS, { wrap: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', unmount] });
    // the agent mounted it at bpftrace's first choice (and the debugfs copy is gone: the
    // namespace really started without tracefs)
    expect(tracefsAt(agent.pid!)).toEqual(['/sys/kernel/tracing']);
    expect(tracefsAt(process.pid)).toEqual(hostBefore);
    const list = (await h.api('GET', `/api/scripts?node=${OWN_NS}`)).json;
    expect(list.every((s: any) => s.available), JSON.stringify(list.filter((s: any) => !s.available))).toBe(true);
    const r = await h.api('POST', '/api/traces', { node: OWN_NS, zone: 'global', script: 'syscall-latency', durationS: 2 });
    expect(r.status, r.text).toBe(201);
    const t = await waitEnded(h, r.json.id);
    expect(t.status, `${t.error} ${t.reasons}`).toBe('done');
    expect(t.records.some((x: any) => x.kind === 'hist' && x.buckets.length > 0)).toBe(true);
  });

  it('tells the server when the host changes under a running agent: a script refused at its hello runs once tracefs can be mounted', async () => {
    const node = `zs-hostchange-${process.pid}`;
    const at = join(dir, 'tracefs-later');
    writeFileSync(at, ''); // a file: tracefs cannot be mounted there
    // its own mount namespace, so the tracefs it mounts later is never the machine's
    await h.startAgent(node, { env: { ZONESCOPE_TRACEFS: at }, wrap: ['unshare', '--mount', '--propagation', 'private'] });
    const scripts = async () => (await h.api('GET', `/api/nodes/${node}`)).json.tracer.scripts;
    expect(await scripts()).toMatchObject({ available: 3, total: 7 });
    // the operator fixes the host; the next trace's check mounts tracefs and the node says so
    rmSync(at);
    mkdirSync(at);
    const t = await h.api('POST', '/api/traces', { node, zone: 'global', script: 'cpu-profile', durationS: 1 });
    expect(t.status, t.text).toBe(201);
    await h.waitFor('the node to offer every script', async () => (await scripts()).available === 7);
    const r = await h.api('POST', '/api/traces', { node, zone: 'global', script: 'syscall-count', durationS: 1 });
    expect(r.status, r.text).toBe(201);
    await waitEnded(h, t.json.id);
    await waitEnded(h, r.json.id);
  });

  it('a trace whose target process exits halfway ends partial: "process PID exited after N s"', async () => {
    const z = await zone('exit');
    const leaker = await startBurner(hot, 'leak');
    kids.push(leaker);
    await z.addPid(leaker.pid!);
    const r = await h.api('POST', '/api/traces', { node: NODE, zone: z.name, script: 'malloc-sizes', params: { pid: leaker.pid }, durationS: 8 });
    expect(r.status, r.text).toBe(201);
    await h.waitFor('the first interval', async () => (await intervals(r.json.id)) >= 1);
    killAll([leaker]);
    const t = await waitEnded(h, r.json.id);
    expect(t.status, t.error).toBe('partial');
    const exited = t.reasons.find((x: string) => x.startsWith(`process ${leaker.pid} exited after `));
    expect(exited, t.reasons.join('; ')).toBeDefined();
    const n = Number(/after (\d+) s/.exec(exited)![1]);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThan(8);
    expect(t.reasons).toContainEqual(expect.stringMatching(/^\d of 8 intervals arrived$/));
    // what it collected before is kept
    expect(foldedSamples((await h.api('GET', `/api/traces/${r.json.id}/folded`)).text)).toBeGreaterThan(0);
  }, 60_000);

  it('a trace whose zone goes away ends partial: "zone Z went away after N s"', async () => {
    const z = await zone('gone');
    const spin = await startBurner(hot, 'spin');
    kids.push(spin);
    await z.addPid(spin.pid!);
    const r = await h.api('POST', '/api/traces', { node: NODE, zone: z.name, script: 'cpu-profile', params: { hz: 49 }, durationS: 10 });
    expect(r.status, r.text).toBe(201);
    await h.waitFor('two intervals', async () => (await intervals(r.json.id)) >= 2);
    await z.destroy(); // kills the burner and removes the cgroups
    const t = await waitEnded(h, r.json.id);
    expect(t.status, t.error).toBe('partial');
    const gone = t.reasons.find((x: string) => x.startsWith(`zone ${z.name} went away after `));
    expect(gone, t.reasons.join('; ')).toBeDefined();
    expect(Number(/after (\d+) s/.exec(gone)![1])).toBeLessThan(10);
    // ended when the zone went, not at the end of its 10 s
    expect(t.intervals).toBeLessThan(10);
    expect(foldedSamples((await h.api('GET', `/api/traces/${r.json.id}/folded`)).text)).toBeGreaterThan(0);
  }, 60_000);

  it('a trace that lost samples says how many', async () => {
    const z = await zone('lost');
    const src = join(dir, 'many-stacks.c');
    writeFileSync(src, MANY_STACKS_C);
    execFileSync('gcc', ['-O0', '-g', '-fno-omit-frame-pointer', '-fno-optimize-sibling-calls', '-o', join(dir, 'many-stacks'), src]);
    const prog = spawn(join(dir, 'many-stacks'), [], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
    kids.push(prog);
    await new Promise((ok) => prog.stdout!.once('data', ok));
    await z.addPid(prog.pid!);
    const r = await h.api('POST', '/api/traces', { node: NODE, zone: z.name, script: 'malloc-sizes', params: { pid: prog.pid }, durationS: 3 });
    expect(r.status, r.text).toBe(201);
    const t = await waitEnded(h, r.json.id);
    killAll([prog]);
    expect(t.status, t.error).toBe('partial');
    expect(t.samplesLost).toBeGreaterThan(0);
    const lost = t.reasons.find((x: string) => / bytes lost /.test(x));
    expect(lost, t.reasons.join('; ')).toMatch(/^[\d,]+ bytes lost \(\d+\.\d% of the [\d,]+ the script counted\)$/);
    console.log(`lost: ${lost}`);
  }, 60_000);

  it('a stopped cpu-profile keeps its last interval', async () => {
    const z = await zone('stop');
    const spin = await startBurner(hot, 'spin');
    kids.push(spin);
    await z.addPid(spin.pid!);
    const r = await h.api('POST', '/api/traces', { node: NODE, zone: z.name, script: 'cpu-profile', params: { hz: 99 }, durationS: 30 });
    expect(r.status, r.text).toBe(201);
    // stopped mid-interval (bpftrace prints once a second), timed from when the last interval's
    // newest samples were taken (their 20 ms slices), not from when it was sent or seen (naming
    // its frames on a loaded machine takes a while): the last interval then holds about half a
    // second of samples
    const lastPrint = await h.waitFor('three intervals, the last just printed', async () => {
      const ivs: { records: { kind: string; slices?: [number, number][] }[] }[] = (await h.api('GET', `/api/traces/${r.json.id}/intervals`)).json;
      const slices = ivs[ivs.length - 1]?.records.flatMap((x) => (x.kind === 'stack' ? (x.slices ?? []) : []));
      const at = slices?.length ? Math.max(...slices.map(([t]) => t)) + 20 : 0;
      return ivs.length >= 3 && Date.now() - at < 600 && at;
    });
    await sleep(lastPrint + 500 - Date.now());
    const before = await intervals(r.json.id);
    const asked = Date.now();
    expect((await h.api('DELETE', `/api/traces/${r.json.id}`)).status).toBe(200);
    const t = await waitEnded(h, r.json.id);
    const tookMs = Date.now() - asked;
    console.log(`stop → end in ${tookMs} ms; intervals ${before} before the stop, ${t.intervals} after`);
    expect(t.status).toBe('stopped');
    // not killed: bpftrace printed what it held on SIGINT, and it arrived as the last interval
    expect(t.reasons ?? []).not.toContainEqual(expect.stringMatching(/killed/));
    expect(t.intervals).toBeGreaterThan(before);
    const ivs = (await h.api('GET', `/api/traces/${r.json.id}/intervals`)).json;
    const last = ivs[ivs.length - 1];
    const lastSamples = last.records.filter((x: any) => x.kind === 'stack').reduce((a: number, x: any) => a + x.value, 0);
    expect(lastSamples).toBeGreaterThan(0);
    killAll([spin]);
  }, 60_000);

  it('a failed trace offers no 0-byte export', async () => {
    const r = await h.api('POST', '/api/traces', { node: NODE, zone: 'global', script: 'malloc-sizes', params: { pid: 4194000 }, durationS: 2 });
    const t = await waitEnded(h, r.json.id);
    expect(t.status).toBe('failed');
    const folded = await h.api('GET', `/api/traces/${r.json.id}/folded`);
    expect(folded.status).toBe(404);
    expect(folded.json.message).toMatch(/has no stacks: it failed: /);
  });
});
