// Zone discovery and the cgroup samplers on fake cgroup trees in temp dirs: a v2-only host
// and a hybrid host (v1 controllers + v2 without controllers, like this machine).
import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Point, Zone } from '../../protocol/messages.js';
import { FAMILIES } from '../../protocol/families.js';
import { linuxPlatform } from '../../agent/platform/linux.js';
import { detectLayout, parseZoneRoot, zoneName } from '../../agent/platform/cgroup.js';
import { parseBlkio, parseIoStat, parseLimit } from '../../agent/parse/cgroup.js';

// these trees are made up: the host's own LXC containers (another test may be making one)
// must not show up in them as stopped zones
process.env.ZONESCOPE_LXC_PATH = '/nonexistent/lxc';

let temps: string[] = [];
afterEach(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
  temps = [];
});

/** Writes `path → content` files (directories implied) under a fresh temp root. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'zs-cg-'));
  temps.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

const V2_ROOT = {
  'cgroup.controllers': 'cpuset cpu io memory hugetlb pids rdma misc\n',
  'cgroup.procs': '1\n',
};

function v2Zone(rel: string, o: { populated?: boolean; files?: Record<string, string> } = {}): Record<string, string> {
  const out: Record<string, string> = {
    [`${rel}/cgroup.procs`]: o.populated === false ? '' : '4242\n',
    [`${rel}/cgroup.events`]: `populated ${o.populated === false ? 0 : 1}\nfrozen 0\n`,
    [`${rel}/cgroup.controllers`]: 'cpu io memory pids\n',
  };
  for (const [f, t] of Object.entries(o.files ?? {})) out[`${rel}/${f}`] = t;
  return out;
}

/** A hybrid host: each v1 controller at ROOT/NAME, v2 (no controllers) at ROOT/unified. */
function hybridZone(rel: string, files: Record<string, Record<string, string>> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of ['cpu', 'cpuacct', 'memory', 'pids', 'blkio']) {
    out[`${h}/cgroup.procs`] = '1\n';
    out[`${h}/${rel}/cgroup.procs`] = '4242\n';
    for (const [f, t] of Object.entries(files[h] ?? {})) out[`${h}/${rel}/${f}`] = t;
  }
  out['unified/cgroup.controllers'] = '';
  out['unified/cgroup.procs'] = '1\n';
  out[`unified/${rel}/cgroup.controllers`] = '';
  out[`unified/${rel}/cgroup.events`] = 'populated 1\nfrozen 0\n';
  for (const [f, t] of Object.entries(files.unified ?? {})) out[`unified/${rel}/${f}`] = t;
  return out;
}

async function sampleAll(root: string, zoneRoots?: string[]) {
  const p = linuxPlatform({ cgroupRoot: root, procRoot: '/nonexistent', zoneRoots });
  const zones = await p.zones();
  const unparsed: string[] = [];
  const points: Point[] = [];
  for (const s of p.samplers) {
    if (!s.name.startsWith('cgroup-')) continue;
    points.push(...(await s.sample(zones, { unparsed: (w) => unparsed.push(w), timeoutMs: 1000 })));
  }
  for (const pt of points) expect(Object.keys(FAMILIES)).toContain(pt.f);
  return { zones, points, unparsed };
}
const get = (pts: Point[], f: string, l: Record<string, string>) =>
  pts.find((p) => p.f === f && Object.keys(l).length === Object.keys(p.l).length && Object.entries(l).every(([k, v]) => p.l[k] === v))?.v;
const byName = (zones: Zone[]) => Object.fromEntries(zones.map((z) => [z.name, z]));

describe('zone discovery', () => {
  it('finds LXC, docker (both layouts), systemd machines and zonescope zones on a v2-only host', async () => {
    const id1 = 'a'.repeat(12) + '0123456789abcdef';
    const id2 = 'b'.repeat(64);
    const root = tree({
      ...V2_ROOT,
      ...v2Zone('lxc.payload.web1'),
      'lxc.payload.web1/.lxc/cgroup.procs': '77\n', // lxc-attach's child cgroup: part of web1
      ...v2Zone(`docker/${id1}`),
      ...v2Zone(`system.slice/docker-${id2}.scope`),
      ...v2Zone('machine.slice/machine-qemu\\x2d1\\x2dvm1.scope'),
      ...v2Zone('zonescope.slice/nope/zonescope/db', { populated: false }),
      ...v2Zone('user.slice/user-1000.slice/session-2.scope'),
      ...v2Zone('system.slice/cron.service'),
    });
    const zones = byName((await linuxPlatform({ cgroupRoot: root }).zones()));
    expect(Object.keys(zones).sort()).toEqual(['aaaaaaaaaaaa', 'bbbbbbbbbbbb', 'db', 'global', 'qemu-1-vm1', 'web1']);
    expect(zones.global).toEqual({ name: 'global', brand: 'linux-host', state: 'running' });
    expect(zones.web1).toMatchObject({ brand: 'lxc', state: 'running', cgroup: 'lxc.payload.web1' });
    expect(zones.aaaaaaaaaaaa).toMatchObject({ brand: 'docker', cgroup: `docker/${id1}` });
    expect(zones.bbbbbbbbbbbb).toMatchObject({ brand: 'docker', cgroup: `system.slice/docker-${id2}.scope` });
    expect(zones['qemu-1-vm1']).toMatchObject({ brand: 'machine' });
    expect(zones.db).toMatchObject({ brand: 'cgroup', state: 'empty', cgroup: 'zonescope.slice/nope/zonescope/db' });
  });

  it('on a hybrid host finds zones in the v1 hierarchies and unified, wherever each put them', async () => {
    const root = tree({
      ...hybridZone('lxc.payload.web1'),
      // a v1 memory hierarchy where the zone was made under the caller's own cgroup
      'memory/cgroup.procs': '1\n',
      'memory/jobs/j1/zonescope/t1/cgroup.procs': '99\n',
      'cpuacct/zonescope/t1/cgroup.procs': '99\n',
      'devices/cgroup.procs': '1\n',
      'devices/lxc.payload.ghost/cgroup.procs': '', // devices is not read: not a zone source
    });
    const zones = byName(await linuxPlatform({ cgroupRoot: root }).zones());
    expect(Object.keys(zones).sort()).toEqual(['global', 't1', 'web1']);
    expect(zones.web1).toMatchObject({ brand: 'lxc', state: 'running', cgroup: 'lxc.payload.web1' });
    expect(zones.t1).toMatchObject({ brand: 'cgroup', state: 'running' });
  });

  it('counts cpu,cpuacct co-mounted with symlinks once', async () => {
    const root = tree({ 'cpu,cpuacct/cgroup.procs': '1\n', 'cpu,cpuacct/lxc.payload.a/cgroup.procs': '5\n' });
    symlinkSync(join(root, 'cpu,cpuacct'), join(root, 'cpu'));
    symlinkSync(join(root, 'cpu,cpuacct'), join(root, 'cpuacct'));
    const layout = await detectLayout(root);
    expect(layout.hierarchies).toHaveLength(1);
    expect([...layout.hierarchies[0].controllers].sort()).toEqual(['cpu', 'cpuacct']);
  });

  it('has only the global zone when there are no cgroups at all', async () => {
    expect(await linuxPlatform({ cgroupRoot: '/nonexistent/cgroup' }).zones()).toEqual([
      { name: 'global', brand: 'linux-host', state: 'running' },
    ]);
  });

  it('lists LXC containers that are defined but not running as stopped zones', async () => {
    const root = tree({ ...V2_ROOT, ...v2Zone('lxc.payload.web1') });
    const lxcPath = mkdtempSync(join(tmpdir(), 'zs-lxc-path-'));
    for (const n of ['web1', 'db1']) {
      mkdirSync(join(lxcPath, n));
      writeFileSync(join(lxcPath, n, 'config'), 'lxc.uts.name = x\n');
    }
    mkdirSync(join(lxcPath, 'not-a-container'));
    const zones = byName(await linuxPlatform({ cgroupRoot: root, lxcPath }).zones());
    expect(zones.web1).toMatchObject({ brand: 'lxc', cgroup: 'lxc.payload.web1' });
    expect(zones.db1).toEqual({ name: 'db1', brand: 'lxc', state: 'stopped' });
    expect(zones['not-a-container']).toBeUndefined();
    rmSync(lxcPath, { recursive: true });
  });

  it('uses the configured roots instead of the defaults', async () => {
    const root = tree({ ...V2_ROOT, ...v2Zone('tenants/acme'), ...v2Zone('lxc.payload.web1') });
    const zones = await linuxPlatform({ cgroupRoot: root, zoneRoots: ['tenant=/tenants/{name}'] }).zones();
    expect(zones.map((z) => [z.name, z.brand])).toEqual([
      ['global', 'linux-host'],
      ['acme', 'tenant'],
    ]);
  });

  it('gives zones the owners $ZONESCOPE_ZONE_OWNERS and its file map them to, never the host', async () => {
    const root = tree({ ...V2_ROOT, ...v2Zone('lxc.payload.web1'), ...v2Zone('lxc.payload.web2'), ...v2Zone('lxc.payload.db1'), ...v2Zone('lxc.payload.cache') });
    const file = join(tree({}), 'owners');
    writeFileSync(file, '# tenants\nweb2 beta\n');
    const was = { list: process.env.ZONESCOPE_ZONE_OWNERS, file: process.env.ZONESCOPE_ZONE_OWNERS_FILE };
    process.env.ZONESCOPE_ZONE_OWNERS = 'web*=acme,db1=7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b,global=acme';
    process.env.ZONESCOPE_ZONE_OWNERS_FILE = file;
    try {
      const zones = await linuxPlatform({ cgroupRoot: root }).zones();
      expect(Object.fromEntries(zones.map((z) => [z.name, z.owner]))).toEqual({ global: undefined, web1: 'acme', web2: 'beta', db1: '7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b', cache: undefined });
      process.env.ZONESCOPE_ZONE_OWNERS = 'web*';
      expect(() => linuxPlatform({ cgroupRoot: root })).toThrow(/ZONESCOPE_ZONE_OWNERS entry 1 'web\*': expected PATTERN=OWNER/);
    } finally {
      for (const [k, v] of [['ZONESCOPE_ZONE_OWNERS', was.list], ['ZONESCOPE_ZONE_OWNERS_FILE', was.file]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('adds roots from $ZONESCOPE_ZONE_ROOTS to the defaults', async () => {
    const root = tree({ ...V2_ROOT, ...v2Zone('tenants/acme'), ...v2Zone('lxc.payload.web1') });
    process.env.ZONESCOPE_ZONE_ROOTS = 'tenant=/tenants/{name}, cgroup=/other/{name}';
    try {
      const zones = await linuxPlatform({ cgroupRoot: root }).zones();
      expect(zones.map((z) => [z.name, z.brand])).toEqual([
        ['global', 'linux-host'],
        ['acme', 'tenant'],
        ['web1', 'lxc'],
      ]);
    } finally {
      delete process.env.ZONESCOPE_ZONE_ROOTS;
    }
  });

  it('makes names protocol-safe, and skips ones that cannot be', () => {
    expect(zoneName('my web', 'name')).toBe('my_web');
    expect(zoneName('caf\u00e9', 'name')).toBe('caf_');
    expect(zoneName('\u00e9\u00e9', 'name')).toBeUndefined();
    expect(zoneName('0123456789abcdef0123', 'id')).toBe('0123456789ab');
  });

  it('never lets a container take the name global', async () => {
    const root = tree({ ...V2_ROOT, ...v2Zone('lxc.payload.global') });
    const zones = await linuxPlatform({ cgroupRoot: root }).zones();
    expect(zones.filter((z) => z.name === 'global')).toEqual([{ name: 'global', brand: 'linux-host', state: 'running' }]);
  });

  it('rejects malformed zone roots with the reason', () => {
    expect(() => parseZoneRoot('lxc=lxc.payload')).toThrow(/"lxc=lxc.payload": needs exactly one \{name\} or \{id\}/);
    expect(() => parseZoneRoot('{name}/sub')).toThrow(/must be in the last path segment/);
    expect(() => parseZoneRoot('a/../{name}')).toThrow(/\.\. path segment/);
    expect(() => linuxPlatform({ zoneRoots: ['x={id}{name}'] })).toThrow(/exactly one/);
  });
});

describe('cgroup samplers, v2', () => {
  const stat = 'anon 104857600\nfile 52428800\ninactive_file 20971520\nactive_file 31457280\nshmem 0\n';

  it('reads cpu, memory, io and pids of each zone', async () => {
    const root = tree({
      ...V2_ROOT,
      ...v2Zone('lxc.payload.web1', {
        files: {
          'cpu.stat': 'usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 3\nthrottled_usec 750000\n',
          'memory.current': '157286400\n',
          'memory.max': '536870912\n',
          'memory.stat': stat,
          'memory.swap.current': '4096\n',
          'memory.swap.max': 'max\n',
          'memory.events': 'low 0\nhigh 5\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n',
          'io.stat': '8:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=0 dios=0\n259:0 rbytes=500 wbytes=0 rios=5 wios=0 dbytes=0 dios=0\n',
          'pids.current': '12\n',
        },
      }),
    });
    const { points, unparsed } = await sampleAll(root);
    expect(unparsed).toEqual([]);
    const z = { zone: 'web1' };
    expect(get(points, 'zone_cpu_usage_seconds_total', z)).toBe(2.5);
    expect(get(points, 'zone_cpu_seconds_total', { ...z, mode: 'user' })).toBe(2);
    expect(get(points, 'zone_cpu_seconds_total', { ...z, mode: 'system' })).toBe(0.5);
    expect(get(points, 'zone_cpu_throttled_total', z)).toBe(3);
    expect(get(points, 'zone_cpu_throttled_seconds_total', z)).toBe(0.75);
    // working set: current minus inactive file cache
    expect(get(points, 'zone_memory_rss_bytes', z)).toBe(157286400 - 20971520);
    expect(get(points, 'zone_memory_limit_bytes', z)).toBe(536870912);
    expect(get(points, 'zone_memory_anon_bytes', z)).toBe(104857600);
    expect(get(points, 'zone_memory_file_bytes', z)).toBe(52428800);
    expect(get(points, 'zone_swap_bytes', z)).toBe(4096);
    expect(get(points, 'zone_swap_limit_bytes', z)).toBeUndefined();
    expect(get(points, 'zone_memory_over_limit_total', z)).toBe(7);
    expect(get(points, 'zone_memory_high_total', z)).toBe(5);
    expect(get(points, 'zone_oom_total', z)).toBe(2);
    expect(get(points, 'zone_oom_kills_total', z)).toBe(1);
    expect(get(points, 'zone_vfs_read_bytes_total', z)).toBe(1500);
    expect(get(points, 'zone_vfs_written_bytes_total', z)).toBe(2000);
    expect(get(points, 'zone_vfs_reads_total', z)).toBe(15);
    expect(get(points, 'zone_vfs_writes_total', z)).toBe(20);
    expect(get(points, 'zone_pids', z)).toBe(12);
    // the global zone's series come from /proc, never from the root cgroup
    expect(points.some((p) => p.l.zone === 'global')).toBe(false);
  });

  it('leaves out the limit when memory.max is "max", and all series whose file is missing', async () => {
    const root = tree({
      ...V2_ROOT,
      ...v2Zone('lxc.payload.web1', { files: { 'memory.current': '1000\n', 'memory.max': 'max\n' } }),
    });
    const { points, unparsed } = await sampleAll(root);
    expect(unparsed).toEqual([]);
    expect(points.map((p) => p.f).sort()).toEqual(['zone_memory_rss_bytes']);
    expect(get(points, 'zone_memory_rss_bytes', { zone: 'web1' })).toBe(1000); // no memory.stat: raw usage
  });

  it('counts garbage values as unparsed and does not export them, keeping the good ones', async () => {
    const root = tree({
      ...V2_ROOT,
      ...v2Zone('lxc.payload.web1', {
        files: {
          'cpu.stat': 'usage_usec 12x\nuser_usec 1000000\nsystem_usec\n',
          'memory.current': 'lots\n',
          'memory.max': '-1\n',
          'memory.events': 'oom 1\noom_kill many\n',
          'pids.current': 'max\n',
        },
      }),
    });
    const { points, unparsed } = await sampleAll(root);
    expect(points.map((p) => `${p.f}${p.l.mode ? `{${p.l.mode}}` : ''}=${p.v}`).sort()).toEqual([
      'zone_cpu_seconds_total{user}=1',
      'zone_oom_total=1',
    ]);
    for (const what of ['cpu.stat usage_usec', 'cpu.stat system_usec', 'memory.current', 'memory.max', 'memory.events oom_kill', 'pids.current']) {
      expect(unparsed.some((u) => u.includes('lxc.payload.web1/') && u.endsWith(what))).toBe(true);
    }
  });
});

describe('cgroup samplers, hybrid v1', () => {
  it('reads cpuacct, cpu, memory, blkio and pids from the v1 hierarchies', async () => {
    const root = tree(
      hybridZone('lxc.payload.web1', {
        cpuacct: { 'cpuacct.usage': '3250000000\n', 'cpuacct.stat': 'user 250\nsystem 75\n' },
        cpu: { 'cpu.stat': 'nr_periods 100\nnr_throttled 4\nthrottled_time 2000000000\n' },
        memory: {
          'memory.usage_in_bytes': '209715200\n',
          'memory.limit_in_bytes': '1073741824\n',
          'memory.failcnt': '9\n',
          'memory.stat': 'cache 1\nrss 2\ntotal_cache 62914560\ntotal_rss 125829120\ntotal_inactive_file 41943040\ntotal_swap 8192\n',
          'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 3\n',
        },
        blkio: {
          'blkio.throttle.io_service_bytes_recursive':
            '8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n8:0 Total 12288\n8:16 Read 1024\n8:16 Write 0\n8:16 Total 1024\nTotal 13312\n',
          'blkio.throttle.io_service_bytes': '8:0 Read 1\n8:0 Write 1\nTotal 2\n',
          'blkio.throttle.io_serviced_recursive': '8:0 Read 4\n8:0 Write 2\n8:0 Total 6\nTotal 6\n',
        },
        pids: { 'pids.current': '3\n' },
        // v2's cpu.stat exists on the hybrid unified too: it must not win over cpuacct
        unified: { 'cpu.stat': 'usage_usec 1\nuser_usec 1\nsystem_usec 0\n' },
      }),
    );
    const { points, unparsed } = await sampleAll(root);
    expect(unparsed).toEqual([]);
    const z = { zone: 'web1' };
    expect(get(points, 'zone_cpu_usage_seconds_total', z)).toBe(3.25);
    expect(get(points, 'zone_cpu_seconds_total', { ...z, mode: 'user' })).toBe(2.5);
    expect(get(points, 'zone_cpu_seconds_total', { ...z, mode: 'system' })).toBe(0.75);
    expect(get(points, 'zone_cpu_throttled_total', z)).toBe(4);
    expect(get(points, 'zone_cpu_throttled_seconds_total', z)).toBe(2);
    expect(get(points, 'zone_memory_rss_bytes', z)).toBe(209715200 - 41943040);
    expect(get(points, 'zone_memory_limit_bytes', z)).toBe(1073741824);
    expect(get(points, 'zone_memory_anon_bytes', z)).toBe(125829120);
    expect(get(points, 'zone_memory_file_bytes', z)).toBe(62914560);
    expect(get(points, 'zone_swap_bytes', z)).toBe(8192);
    expect(get(points, 'zone_memory_over_limit_total', z)).toBe(9);
    expect(get(points, 'zone_oom_kills_total', z)).toBe(3);
    expect(get(points, 'zone_vfs_read_bytes_total', z)).toBe(5120);
    expect(get(points, 'zone_vfs_written_bytes_total', z)).toBe(8192);
    expect(get(points, 'zone_vfs_reads_total', z)).toBe(4);
    expect(get(points, 'zone_vfs_writes_total', z)).toBe(2);
    expect(get(points, 'zone_pids', z)).toBe(3);
  });

  it('takes CPU from unified cpu.stat for a zone that is only in the unified tree', async () => {
    const root = tree({
      ...hybridZone('lxc.payload.other'),
      'unified/zonescope/u1/cgroup.procs': '5\n',
      'unified/zonescope/u1/cpu.stat': 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n',
    });
    const { points } = await sampleAll(root);
    expect(get(points, 'zone_cpu_usage_seconds_total', { zone: 'u1' })).toBe(1.5);
    expect(get(points, 'zone_cpu_seconds_total', { zone: 'u1', mode: 'user' })).toBe(1);
  });

  it('leaves out the v1 "unlimited" limit', async () => {
    const root = tree(hybridZone('lxc.payload.web1', { memory: { 'memory.limit_in_bytes': '9223372036854771712\n' } }));
    const { points, unparsed } = await sampleAll(root);
    expect(unparsed).toEqual([]);
    expect(get(points, 'zone_memory_limit_bytes', { zone: 'web1' })).toBeUndefined();
    expect(parseLimit('9223372036854775807')).toBe(Infinity);
    expect(parseLimit('2305843009213693952')).toBe(2 ** 61);
  });

  it('a zone missing from one hierarchy still gets the series of the others', async () => {
    const files = hybridZone('lxc.payload.web1', { pids: { 'pids.current': '3\n' }, memory: { 'memory.usage_in_bytes': '100\n' } });
    for (const k of Object.keys(files)) if (k.startsWith('memory/lxc.payload.web1')) delete files[k];
    const { points } = await sampleAll(tree(files));
    expect(points.map((p) => p.f)).toEqual(['zone_pids']);
  });
});

describe('cgroup parsers', () => {
  it('sums io.stat and blkio per key over devices, without blkio\'s grand total', () => {
    expect(parseIoStat('8:0 rbytes=1 wbytes=2\n8:16 rbytes=10\n')).toEqual(new Map([['rbytes', 11], ['wbytes', 2]]));
    expect(parseIoStat('8:0 rbytes=x\n').get('rbytes')).toBeNaN();
    expect(parseBlkio('8:0 Read 5\n8:0 Total 5\nTotal 5\n')).toEqual(new Map([['Read', 5], ['Total', 5]]));
  });
});
