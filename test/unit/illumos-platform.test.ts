// The illumos platform end to end on Linux: zone discovery and every sampler run the real
// code path (execa → stand-in executable → parser → points) against the simulated SmartOS
// node in test/fakes/illumos, including stand-ins that fail, print garbage or hang.
import { execa } from 'execa';
import { mkdtempSync, symlinkSync, writeFileSync, readFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type { Point, Zone } from '../../protocol/messages.js';
import { FAMILIES } from '../../protocol/families.js';
import { illumosPlatform, illumosZones } from '../../agent/platform/illumos.js';
import type { SampleContext, Sampler } from '../../agent/platform/types.js';
import { leftoverProcesses, TEST_ENV } from '../helpers/procs.js';
import { run } from '../../agent/exec.js';

const ROOT_DIR = resolve(__dirname, '..', '..');
const FAKES = resolve(ROOT_DIR, 'test', 'fakes', 'illumos');
const BIN = join(FAKES, 'bin');
const SYSTEM_PATH = process.env.PATH ?? '';
const scratch = mkdtempSync(join(tmpdir(), 'zonescope-illumos-test-'));

const WEB = '5b6c1f0e-2d4a-4c8e-9a71-3f0d2c9e8b14'; // joyent, capped, two VNICs
const BILLING = 'a1e07c3d-6b2f-4f19-8d5e-0c7b9a4e2f61'; // joyent-minimal, long alias, no CPU cap
const LX = 'c9d2b8a4-13e7-4a6c-b0f2-7e5d1c3a9b08';
const BHYVE = 'e4f83b21-9c0d-4d7a-a5e6-2b1f8c7d3e90'; // installed, not running

let n = 0;
beforeEach(() => {
  // the stand-ins inherit this environment; ZONESCOPE_TEST marks them as the suite's
  process.env.ZONESCOPE_TEST = TEST_ENV.ZONESCOPE_TEST;
  process.env.PATH = `${BIN}:${SYSTEM_PATH}`;
  process.env.ZONESCOPE_FAKE_STATE = join(scratch, `state-${++n}`); // every test starts from the data file
  for (const k of ['ZONESCOPE_FAKE_FAIL', 'ZONESCOPE_FAKE_GARBAGE', 'ZONESCOPE_FAKE_HANG', 'ZONESCOPE_FAKE_DATA']) delete process.env[k];
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function context(timeoutMs = 10_000) {
  const unparsed: string[] = [];
  const ctx: SampleContext = { timeoutMs, run, unparsed: (w) => unparsed.push(w) };
  return { ctx, unparsed };
}
const platform = illumosPlatform({ simulated: true });
const sampler = (name: string): Sampler => {
  const s = platform.samplers.find((x) => x.name === name);
  if (!s) throw new Error(`no sampler ${name}`);
  return s;
};
async function sample(name: string, zones?: Zone[]) {
  const { ctx, unparsed } = context();
  const points = await sampler(name).sample(zones ?? (await illumosZones()), ctx);
  return { points, unparsed };
}
const find = (points: Point[], f: string, l: Record<string, string> = {}) =>
  points.filter((p) => p.f === f && Object.entries(l).every(([k, v]) => p.l[k] === v));
const one = (points: Point[], f: string, l: Record<string, string>) => {
  const hits = find(points, f, l);
  expect(hits, `${f} ${JSON.stringify(l)}`).toHaveLength(1);
  return hits[0].v;
};

describe('illumos zone discovery through zoneadm and vmadm', () => {
  it('lists the global zone and every zone with its alias, the stopped one without a zone id', async () => {
    const zones = await illumosZones();
    expect(zones.map((z) => z.name)).toEqual(['global', WEB, BILLING, LX, BHYVE]);
    const global = zones[0];
    expect(global).toMatchObject({ name: 'global', zoneid: 0, state: 'running', brand: 'liveimg' });
    expect(global.uuid).toBeUndefined();
    expect(global.alias).toBeUndefined();
    const byName = new Map(zones.map((z) => [z.name, z]));
    expect(byName.get(WEB)).toMatchObject({ uuid: WEB, alias: 'web-frontend', brand: 'joyent', type: 'OS', ramBytes: 2048 * 2 ** 20 });
    expect(byName.get(BILLING)?.alias).toBe('billing-reconciliation-worker-eu-west-production-02');
    expect(byName.get(LX)).toMatchObject({ brand: 'lx', type: 'LX' });
    expect(byName.get(BHYVE)).toMatchObject({ brand: 'bhyve', zoneid: null, state: 'stopped', alias: 'win-ci' });
  });

  it('works from zoneadm alone where there is no vmadm (illumos distributions other than SmartOS)', async () => {
    const bin = join(scratch, 'no-vmadm');
    mkdirSync(bin, { recursive: true });
    for (const cmd of ['zoneadm', 'kstat']) symlinkSync(join(BIN, cmd), join(bin, cmd));
    process.env.PATH = `${bin}:${SYSTEM_PATH}`;
    const zones = await illumosZones();
    expect(zones).toHaveLength(5);
    expect(zones.every((z) => z.alias === undefined)).toBe(true);
    expect(zones.find((z) => z.name === BHYVE)).toMatchObject({ state: 'installed', zoneid: null });
  });

  it('follows vmadm stop and start: the zone loses its kstats, then comes back with a new zone id and fresh counters', async () => {
    const before = await illumosZones();
    const oldId = before.find((z) => z.name === LX)?.zoneid;
    await execa('vmadm', ['stop', LX]);
    let zones = await illumosZones();
    expect(zones.find((z) => z.name === LX)).toMatchObject({ state: 'stopped', zoneid: null });
    let { points } = await sample('memory_cap', zones);
    expect(find(points, 'zone_memory_rss_bytes', { zone: LX })).toHaveLength(0);
    expect(find(points, 'zone_memory_rss_bytes', { zone: WEB })).toHaveLength(1);

    await execa('vmadm', ['start', LX]);
    zones = await illumosZones();
    const lx = zones.find((z) => z.name === LX);
    expect(lx?.state).toBe('running');
    expect(lx?.zoneid).not.toBe(oldId);
    ({ points } = await sample('zones', zones));
    // just booted: at most a few seconds of CPU, not days
    expect(one(points, 'zone_cpu_seconds_total', { zone: LX, mode: 'user' })).toBeLessThan(10);
    await expect(execa('vmadm', ['start', LX])).rejects.toThrow(/already running/);
  });
});

describe('illumos samplers through the stand-ins', () => {
  it('export only known families, every zone point labelled with the full zonename and alias', async () => {
    const zones = await illumosZones();
    const names = new Set(zones.map((z) => z.name));
    for (const s of platform.samplers) {
      const { ctx, unparsed } = context();
      const points = await s.sample(zones, ctx);
      expect(points.length, s.name).toBeGreaterThan(0);
      expect(unparsed, s.name).toEqual([]);
      for (const p of points) {
        expect(Object.keys(FAMILIES), s.name).toContain(p.f);
        expect(Number.isFinite(p.v), `${s.name} ${p.f}`).toBe(true);
        if (p.l.zone !== undefined) {
          expect(names, `${s.name} zone label ${p.l.zone}`).toContain(p.l.zone);
          const alias = zones.find((z) => z.name === p.l.zone)?.alias;
          expect(p.l.alias, `${s.name} alias of ${p.l.zone}`).toBe(alias);
        }
      }
    }
  });

  it('zones: CPU seconds and load per zone, counters advancing with time', async () => {
    const a = await sample('zones');
    await new Promise((r) => setTimeout(r, 1100));
    const b = await sample('zones');
    for (const zone of ['global', WEB, BILLING, LX]) {
      const l = { zone, mode: 'user' };
      expect(one(b.points, 'zone_cpu_seconds_total', l)).toBeGreaterThan(one(a.points, 'zone_cpu_seconds_total', l));
    }
    // the web zone uses ~0.42 CPU in user mode
    const rate = one(b.points, 'zone_cpu_seconds_total', { zone: WEB, mode: 'user' }) - one(a.points, 'zone_cpu_seconds_total', { zone: WEB, mode: 'user' });
    expect(rate).toBeGreaterThan(0.2);
    expect(rate).toBeLessThan(2);
    expect(one(b.points, 'zone_load1', { zone: LX })).toBeGreaterThan(0.5);
    expect(find(b.points, 'zone_cpu_seconds_total', { zone: BHYVE })).toHaveLength(0);
  });

  it('memory_cap: kstat names cut at 30 characters come back as full zonenames; no limit series when uncapped', async () => {
    const raw = (await execa('kstat', ['-p', 'memory_cap'])).stdout;
    expect(raw).toContain(`memory_cap:3:${WEB.slice(0, 30)}:rss\t`); // the real quirk is there
    const { points } = await sample('memory_cap');
    expect(find(points, 'zone_memory_rss_bytes').map((p) => p.l.zone).sort()).toEqual(['global', WEB, BILLING, LX].sort());
    expect(one(points, 'zone_memory_limit_bytes', { zone: WEB })).toBe(2 * 2 ** 30);
    expect(one(points, 'zone_memory_rss_bytes', { zone: WEB })).toBeGreaterThan(2 ** 30);
    // the global zone has physcap 0 and swapcap UINT64_MAX: no limit, so no series
    expect(find(points, 'zone_memory_limit_bytes', { zone: 'global' })).toHaveLength(0);
    expect(find(points, 'zone_swap_limit_bytes', { zone: 'global' })).toHaveLength(0);
    expect(one(points, 'zone_memory_over_limit_total', { zone: BILLING })).toBeGreaterThan(0);
    expect(one(points, 'zone_memory_pagedout_bytes_total', { zone: BILLING })).toBeGreaterThan(0);
  });

  it('caps: a zone without a CPU cap has no cap series; a capped one has usage as a fraction of its cap', async () => {
    const { points } = await sample('caps');
    expect(points.filter((p) => p.l.zone === BILLING)).toEqual([]);
    expect(one(points, 'zone_cpu_cap_ratio', { zone: WEB })).toBe(2);
    expect(one(points, 'zone_cpu_cap_baseline_ratio', { zone: WEB })).toBe(0.5);
    const usage = one(points, 'zone_cpu_cap_usage_ratio', { zone: LX });
    expect(usage).toBeGreaterThan(0.5);
    expect(usage).toBeLessThan(1.2);
  });

  it('link: per VNIC, the interface named without the z<zoneid>_ prefix', async () => {
    const { points } = await sample('link');
    const ifaces = find(points, 'zone_net_receive_bytes_total', { zone: WEB }).map((p) => p.l.interface).sort();
    expect(ifaces).toEqual(['net0', 'net1']);
    expect(one(points, 'zone_net_transmit_bytes_total', { zone: 'global', interface: 'ixgbe0' })).toBeGreaterThan(0);
  });

  it('tcp: per exclusive IP stack, placed on its zone by zone id', async () => {
    const { points } = await sample('tcp');
    expect(find(points, 'zone_tcp_established').map((p) => [p.l.zone, p.v]).sort()).toEqual(
      [['global', 12], [WEB, 87], [BILLING, 9], [LX, 23]].sort());
  });

  it('zone_vfs: slow-operation buckets as zone_vfs_ops_over_total{over}', async () => {
    const { points } = await sample('zone_vfs');
    const overs = find(points, 'zone_vfs_ops_over_total', { zone: BILLING }).map((p) => p.l.over).sort();
    expect(overs).toEqual(['0.01', '0.1', '1', '10']);
    expect(one(points, 'zone_vfs_ops_over_total', { zone: BILLING, over: '0.01' }))
      .toBeGreaterThanOrEqual(one(points, 'zone_vfs_ops_over_total', { zone: BILLING, over: '1' }));
  });

  it('zfs: datasets of each zone; no quota series for none (0), unlimited (UINT64_MAX) or volumes (-)', async () => {
    const { points } = await sample('zfs');
    const quota = (ds: string) => find(points, 'zfs_dataset_quota_bytes', { dataset: ds });
    expect(quota(`zones/${WEB}`).map((p) => p.v)).toEqual([21474836480]);
    expect(quota(`zones/${WEB}/data`)).toHaveLength(0); // 18446744073709551615
    expect(quota('zones')).toHaveLength(0); // 0 = none
    expect(quota(`zones/${BHYVE}/disk0`)).toHaveLength(0); // '-'
    expect(one(points, 'zfs_dataset_used_bytes', { dataset: `zones/${BHYVE}/disk0` })).toBe(53687091200);
    expect(one(points, 'zfs_dataset_used_bytes', { dataset: `zones/${WEB}/data` }).valueOf()).toBeGreaterThan(0);
    expect(find(points, 'zfs_dataset_used_bytes', { dataset: `zones/${WEB}/data` })[0].l).toMatchObject({ zone: WEB, alias: 'web-frontend' });
    expect(find(points, 'zfs_dataset_used_bytes', { dataset: 'zones/var' })[0].l.zone).toBe('global');
    expect(one(points, 'zfs_dataset_compress_ratio', { dataset: 'backup/archive' })).toBe(1.83); // printed 1.83x
  });

  it("zpool: 8% on an old pool, a faulted pool's '-' numbers absent but its health there", async () => {
    const { points } = await sample('zpool');
    expect(one(points, 'zpool_fragmentation_ratio', { pool: 'backup' })).toBe(0.08);
    expect(one(points, 'zpool_fragmentation_ratio', { pool: 'zones' })).toBe(0.14);
    expect(one(points, 'zpool_health', { pool: 'scratch', state: 'FAULTED' })).toBe(1);
    expect(points.filter((p) => p.l.pool === 'scratch').map((p) => p.f)).toEqual(['zpool_health']);
    expect(one(points, 'zpool_health', { pool: 'backup' })).toBe(1);
    expect(find(points, 'zpool_health', { pool: 'backup' })[0].l.state).toBe('DEGRADED');
  });

  it('cpu and arcstats: per-CPU host time by mode, ARC size and hit counters', async () => {
    const cpu = await sample('cpu');
    expect(find(cpu.points, 'node_cpu_seconds_total')).toHaveLength(4 * 3);
    expect(one(cpu.points, 'node_cpu_seconds_total', { cpu: '3', mode: 'idle' })).toBeGreaterThan(0);
    const arc = await sample('arcstats');
    expect(one(arc.points, 'zfs_arc_max_bytes', {})).toBe(33285996544);
    expect(one(arc.points, 'zfs_arc_hits_total', {})).toBeGreaterThan(one(arc.points, 'zfs_arc_misses_total', {}));
  });
});

describe('illumos samplers on odd nodes', () => {
  function node(edit: (d: any) => void): void {
    const data = JSON.parse(readFileSync(join(ROOT_DIR, 'agent', 'simulated', 'smartos-node.json'), 'utf8'));
    edit(data);
    const file = join(scratch, `node-${++n}.json`);
    writeFileSync(file, JSON.stringify(data));
    process.env.ZONESCOPE_FAKE_DATA = file;
  }

  it('two long zonenames sharing 30 characters stay two zones', async () => {
    node((d) => {
      const tmpl = d.zones[1];
      d.zones.push({ ...tmpl, name: 'build-runner-production-east-01', uuid: '', alias: undefined, zoneid: 31, memory: { ...tmpl.memory, rss: 111 * 2 ** 20 } });
      d.zones.push({ ...tmpl, name: 'build-runner-production-east-02', uuid: '', alias: undefined, zoneid: 32, memory: { ...tmpl.memory, rss: 222 * 2 ** 20 } });
    });
    const raw = (await execa('kstat', ['-p', 'memory_cap:31'])).stdout;
    expect(raw).toContain('memory_cap:31:build-runner-production-east-0:rss');
    const { points } = await sample('memory_cap');
    const rss = (zone: string) => one(points, 'zone_memory_rss_bytes', { zone });
    expect(rss('build-runner-production-east-01')).toBeLessThan(rss('build-runner-production-east-02'));
  });

  it('a value that does not parse is counted and not exported, the rest of the zone still is', async () => {
    node((d) => {
      d.zones[1].memory.rss = 'lots';
    });
    const { points, unparsed } = await sample('memory_cap');
    expect(find(points, 'zone_memory_rss_bytes', { zone: WEB })).toHaveLength(0);
    expect(unparsed).toEqual([`memory_cap:3:${WEB.slice(0, 30)}:rss`]);
    expect(one(points, 'zone_swap_bytes', { zone: WEB })).toBeGreaterThan(0);
  });

  it('arcstats without the hits/misses totals (renamed across versions): summed from their parts', async () => {
    node((d) => {
      d.arcstats.counters = { demand_data_hits: 100, prefetch_data_hits: 10, demand_data_misses: 5, demand_metadata_misses: 1 };
      d.arcstats.gauges = { arc_size: 4096, c: 8192, c_max: 16384 };
    });
    const { points } = await sample('arcstats');
    const hits = one(points, 'zfs_arc_hits_total', {});
    const misses = one(points, 'zfs_arc_misses_total', {});
    expect(hits / misses).toBeCloseTo(110 / 6, 0);
    expect(one(points, 'zfs_arc_size_bytes', {})).toBeGreaterThan(3000);
  });

  it('no capped zone at all: kstat matches nothing (exit 1) and caps reports nothing, without error', async () => {
    node((d) => {
      for (const z of d.zones) delete z.cpucap;
    });
    await expect(execa('kstat', ['-p', 'caps::/^cpucaps_zone_/'])).rejects.toMatchObject({ exitCode: 1 });
    expect((await sample('caps')).points).toEqual([]);
  });
});

describe('illumos stand-ins that break', () => {
  const kstatSamplers = ['zones', 'memory_cap', 'caps', 'zone_vfs', 'zone_zfs', 'link', 'tcp', 'cpu', 'arcstats'];

  it('kstat exits non-zero: each kstat sampler throws naming the command and its error; zfs and zpool still work', async () => {
    process.env.ZONESCOPE_FAKE_FAIL = 'kstat';
    const zones = await illumosZones();
    for (const name of kstatSamplers) {
      await expect(sampler(name).sample(zones, context().ctx), name).rejects.toThrow(/^kstat -p .*: exit 3: kstat: simulated failure/);
    }
    expect((await sample('zfs', zones)).points.length).toBeGreaterThan(0);
    expect((await sample('zpool', zones)).points.length).toBeGreaterThan(0);
  });

  it('kstat prints garbage: a clear error naming the command, not zero-valued points', async () => {
    process.env.ZONESCOPE_FAKE_GARBAGE = 'kstat';
    await expect(sample('memory_cap')).rejects.toThrow(/^kstat -p memory_cap: output is not kstat -p lines/);
  });

  it('zoneadm or vmadm printing garbage fails discovery with the command named', async () => {
    process.env.ZONESCOPE_FAKE_GARBAGE = 'zoneadm';
    await expect(illumosZones()).rejects.toThrow(/^zoneadm list -cp: zoneadm list -cp line 1: expected 7 or 8/);
    process.env.ZONESCOPE_FAKE_GARBAGE = 'vmadm';
    await expect(illumosZones()).rejects.toThrow(/^vmadm list -p -o uuid,alias,state,type,ram: vmadm list -p line 1/);
  });

  it('zfs and zpool failing or printing garbage: errors naming the command; kstat samplers unaffected', async () => {
    process.env.ZONESCOPE_FAKE_FAIL = 'zfs';
    process.env.ZONESCOPE_FAKE_GARBAGE = 'zpool';
    const zones = await illumosZones();
    await expect(sampler('zfs').sample(zones, context().ctx)).rejects.toThrow(/^zfs list -Hp .*: exit 1: zfs: simulated failure/);
    await expect(sampler('zpool').sample(zones, context().ctx)).rejects.toThrow(/^zpool list -Hp .*: zpool list -Hp line 1: expected 6/);
    expect((await sample('memory_cap', zones)).points.length).toBeGreaterThan(0);
  });

  it('kstat hangs: killed at the timeout with an error saying so, other samplers still answer', async () => {
    process.env.ZONESCOPE_FAKE_HANG = 'kstat';
    const zones = await illumosZones();
    const t0 = Date.now();
    await expect(sampler('zones').sample(zones, context(800).ctx)).rejects.toThrow(/^kstat -p zones: timed out after 800 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
    const hung = leftoverProcesses(process.pid).filter((p) => p.includes(join('illumos', 'bin', 'kstat')));
    expect(hung).toEqual([]);
    expect((await sample('zpool', zones)).points.length).toBeGreaterThan(0);
  });
});
