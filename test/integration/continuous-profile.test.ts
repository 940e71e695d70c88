// Continuous profiles on real bpftrace with a real LXC container as the zone: the server keeps
// `cpu-profile` running on the container (`--always-on cpu-profile@NAME`, 19 Hz) and stores it
// per bucket (5 s here instead of a minute, so the test takes seconds). A burner started in the
// container shows in the buckets it ran in and not in those before; a window query returns only
// the buckets of that window; and the window exports as pprof.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { buildBurner } from '../helpers/burner.js';
import { startHarness, childrenNamed, type Harness } from '../helpers/trace-harness.js';
import { TEST_ENV } from '../helpers/procs.js';
import { foldedSamples } from '../helpers/folded.js';

const NAME = `zs-prof-${process.pid}`;
const NODE = `zs-cprof-${process.pid}`;
const BUCKET = 5000;
const HOT = 'zonescope_continuous_hot';
const usable = existsSync('/usr/bin/lxc-create') && existsSync('/bin/busybox') && process.getuid?.() === 0 && existsSync('/usr/bin/bpftrace');
const lxc = (cmd: string, args: string[]) => execa(cmd, args, { env: { ...process.env, ...TEST_ENV }, timeout: 30_000, stdin: 'ignore' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PIVOTS = ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'systemd', 'unified', '.'].map((h) => `/sys/fs/cgroup/${h}/lxc.pivot`);

describe.skipIf(!usable)('continuous profile of an LXC zone', () => {
  const pivotsBefore = new Set(PIVOTS.filter((p) => existsSync(p)));
  let h: Harness;
  let burnerPid = 0;
  let agentPid = 0;

  beforeAll(async () => {
    await lxc('lxc-create', ['-t', 'busybox', '-n', NAME]);
    const conf = `/var/lib/lxc/${NAME}/config`;
    const lines = readFileSync(conf, 'utf8').split('\n').filter((l) => !l.startsWith('lxc.net.'));
    writeFileSync(conf, [...lines, 'lxc.net.0.type = empty', ''].join('\n'));
    await lxc('lxc-start', ['-n', NAME]);
    await lxc('lxc-wait', ['-n', NAME, '-s', 'RUNNING', '-t', '20']);
    // a static burner: the container's busybox root has no C library
    copyFileSync(buildBurner(HOT, undefined, { static: true }), `/var/lib/lxc/${NAME}/rootfs/bin/${HOT}`);
    h = await startHarness({ alwaysOn: [{ script: 'cpu-profile', zones: [NAME] }], profiles: { bucketMs: BUCKET } });
    agentPid = (await h.startAgent(NODE)).pid!;
    await h.waitFor('the container to be discovered', () => h.app.ctx.fleet.nodes.get(NODE)?.zones.some((z) => z.name === NAME && z.state === 'running'));
  }, 120_000);

  afterAll(async () => {
    if (burnerPid) try { process.kill(burnerPid, 'SIGKILL'); } catch { /* gone */ }
    await h?.close();
    await lxc('lxc-stop', ['-k', '-n', NAME]).catch(() => {});
    await lxc('lxc-destroy', ['-f', '-n', NAME]).catch(() => {});
    for (const p of PIVOTS) {
      if (pivotsBefore.has(p) || !existsSync(p)) continue;
      try {
        rmdirSync(p);
      } catch {
        // someone else's container uses it
      }
    }
  }, 90_000);

  it('shows a burner in the buckets it ran in, not before, and a window returns only its buckets', async () => {
    const profile = (q: string) => h.api('GET', `/api/nodes/${NODE}/zones/${NAME}/profile?${q}`, undefined, h.tokens.viewer);
    // the always-on profile is running before the burner starts: wait for its tracer
    await h.waitFor('the always-on cpu-profile to run', () => childrenNamed(agentPid, 'bpftrace').length > 0, 60_000);
    // two whole idle buckets
    await sleep(2 * BUCKET);
    const burnStart = Date.now();
    // lxc-attach starts it in the container (its root, its namespaces); LXC puts attached
    // processes in a child cgroup (lxc.payload.NAME/.lxc) it makes now, after the running
    // profile read the container's cgroups (a new one is covered from the profile's next run),
    // so it joins the container's own cgroup, where the container's init runs
    const sub = execa('lxc-attach', ['-n', NAME, '--', `/bin/${HOT}`, 'spin'], { env: { ...process.env, ...TEST_ENV }, stdin: 'ignore', reject: false });
    burnerPid = await h.waitFor('the burner to start', () => burnerIn(NAME), 10_000);
    writeFileSync(`/sys/fs/cgroup/unified/lxc.payload.${NAME}/cgroup.procs`, `${burnerPid}\n`);
    // from here on it is traced (attaching may take seconds on a loaded machine)
    const tracedFrom = Date.now();
    await sleep(3 * BUCKET);
    process.kill(burnerPid, 'SIGKILL');
    burnerPid = 0;
    const burnEnd = Date.now();
    await sub;
    await sleep(2 * BUCKET);

    const all = await profile(`from=${burnStart - 4 * BUCKET}&to=${Date.now()}`);
    expect(all.status, all.text).toBe(200);
    expect(all.json.bucketS).toBe(BUCKET / 1000);
    const hotIn = async (t: number) => {
      const r = await profile(`from=${t}&to=${t + BUCKET}&format=folded`);
      // 404: nothing sampled in that window; anything else is a failed request, not "no samples"
      expect([200, 404], r.text).toContain(r.status);
      return r.status === 404 ? 0 : foldedSamples(r.text, HOT);
    };
    const firstBurn = burnStart - (burnStart % BUCKET);
    const firstTraced = tracedFrom - (tracedFrom % BUCKET);
    const lastBurn = burnEnd - (burnEnd % BUCKET);
    // before: buckets that ended before the burner started have none of it
    for (let t = firstBurn - 2 * BUCKET; t < firstBurn; t += BUCKET) expect(await hotIn(t), `bucket ${t}`).toBe(0);
    // while: every whole bucket after it joined the traced cgroup has it (at 19 Hz, up to 95 samples in 5 s: how
    // many depends on the CPU a loaded machine gives it)
    for (let t = firstTraced + BUCKET; t < lastBurn; t += BUCKET) expect(await hotIn(t), `bucket ${t}`).toBeGreaterThan(0);
    // after: none
    expect(await hotIn(lastBurn + BUCKET)).toBe(0);

    // a window query: only the buckets inside it, and all the burner's samples of them
    const from = firstBurn + BUCKET;
    const to = lastBurn;
    const w = await profile(`from=${from}&to=${to}`);
    expect(w.status).toBe(200);
    expect(w.json.buckets.length).toBeGreaterThan(0);
    for (const b of w.json.buckets) {
      expect(b.t).toBeGreaterThanOrEqual(from);
      expect(b.t).toBeLessThan(to);
    }
    // the burner is the only busy thing in the container: most of its samples are the burner's
    const burnt = foldedSamples(w.json.folded, HOT);
    expect(burnt).toBeGreaterThan(0.8 * foldedSamples(w.json.folded, ''));
    // the strip's numbers add up to the window's stacks
    expect(w.json.buckets.reduce((a: number, b: { samples: number }) => a + b.samples, 0)).toBe(foldedSamples(w.json.folded, ''));

    // the same window as pprof: the hot function on top, the same total
    const res = await fetch(`${h.url}/api/nodes/${NODE}/zones/${NAME}/profile?from=${from}&to=${to}&format=pprof`, { headers: { authorization: `Bearer ${h.tokens.viewer}` } });
    expect(res.status).toBe(200);
    const p = Profile.decode(gunzipSync(Buffer.from(await res.arrayBuffer())));
    const total = p.sample.reduce((a, s) => a + Number(s.value[0]), 0);
    expect(total).toBe(foldedSamples(w.json.folded, ''));
    const leafName = (s: (typeof p.sample)[number]) => p.stringTable.strings[Number(p.function[Number(s.locationId[0]) - 1].name)];
    const hotLeaf = (w.json.folded as string).split('\n').filter((l) => l.slice(0, l.lastIndexOf(' ')).endsWith(`;${HOT}`));
    expect(p.sample.filter((s) => leafName(s) === HOT).reduce((a, s) => a + Number(s.value[0]), 0)).toBe(foldedSamples(hotLeaf.join('\n'), HOT));

    // bad windows are refused with the field named; a zone nobody profiled says so
    expect((await profile(`from=${to}&to=${from}`)).json.message).toMatch(/from must be before to/);
    expect((await profile('from=abc')).status).toBe(400);
    const none = await h.api('GET', `/api/nodes/${NODE}/zones/global/profile?format=folded`, undefined, h.tokens.viewer);
    expect(none.status).toBe(404);
    expect(none.json.message).toMatch(/no continuous profile is stored/);
  }, 120_000);
});

/** the burner's pid, once it runs in the container (its cgroup names the container) */
function burnerIn(container: string): number | undefined {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(`/bin/${HOT}\0`)) continue;
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(`lxc.payload.${container}`)) return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}
