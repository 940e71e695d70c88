// Host samplers and /proc parsers on the project's own fixtures (test/fixtures/linux/proc)
// and on broken copies of them in temp dirs.
import { describe, it, expect, afterEach } from 'vitest';
import { cpSync, mkdtempSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Point, Zone } from '../../protocol/messages.js';
import { FAMILIES } from '../../protocol/families.js';
import type { Sampler } from '../../agent/platform/types.js';
import { parseDiskstats, parseMeminfo, parseNetDev, parseProcStat, parseSplKstat } from '../../agent/parse/proc.js';
import { procStatSampler } from '../../agent/samplers/proc-stat.js';
import { procMeminfoSampler } from '../../agent/samplers/proc-meminfo.js';
import { procLoadavgSampler } from '../../agent/samplers/proc-loadavg.js';
import { procNetDevSampler } from '../../agent/samplers/proc-net-dev.js';
import { procDiskstatsSampler } from '../../agent/samplers/proc-diskstats.js';
import { linuxArcstatsSampler } from '../../agent/samplers/linux-arcstats.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/linux/proc', import.meta.url));
const GLOBAL: Zone = { name: 'global', brand: 'linux-host', state: 'running' };
const KiB = 1024;

async function run(s: Sampler, zones: Zone[] = [GLOBAL]) {
  const unparsed: string[] = [];
  const points = await s.sample(zones, { unparsed: (w) => unparsed.push(w), timeoutMs: 1000 });
  for (const p of points) expect(Object.keys(FAMILIES)).toContain(p.f);
  return { points, unparsed };
}
const get = (pts: Point[], f: string, l: Record<string, string> = {}) =>
  pts.find((p) => p.f === f && Object.keys(l).length === Object.keys(p.l).length && Object.entries(l).every(([k, v]) => p.l[k] === v))?.v;

let temps: string[] = [];
function brokenCopy(edit: Record<string, string | null>): string {
  const dir = mkdtempSync(join(tmpdir(), 'zs-proc-'));
  temps.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  for (const [f, text] of Object.entries(edit)) {
    if (text === null) unlinkSync(join(dir, f));
    else writeFileSync(join(dir, f), text);
  }
  return dir;
}
afterEach(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
  temps = [];
});

describe('/proc/stat', () => {
  it('gives host CPU seconds per mode (USER_HZ 100), guest not counted twice', async () => {
    const { points, unparsed } = await run(procStatSampler({ procRoot: FIXTURE }));
    expect(unparsed).toEqual([]);
    expect(get(points, 'node_cpu_seconds_total', { mode: 'user' })).toBe(120);
    expect(get(points, 'node_cpu_seconds_total', { mode: 'idle' })).toBe(8800);
    expect(get(points, 'node_cpu_seconds_total', { mode: 'steal' })).toBe(0.5);
    expect(get(points, 'node_cpu_seconds_total', { mode: 'guest' })).toBeUndefined();
  });

  it('gives the global zone user = user+nice and system = system+irq+softirq', async () => {
    const { points } = await run(procStatSampler({ procRoot: FIXTURE }));
    expect(get(points, 'zone_cpu_seconds_total', { zone: 'global', mode: 'user' })).toBe(123);
    expect(get(points, 'zone_cpu_seconds_total', { zone: 'global', mode: 'system' })).toBe(50);
    expect(get(points, 'zone_cpu_usage_seconds_total', { zone: 'global' })).toBe(173);
  });

  it('leaves out the global zone when it is not among the zones', async () => {
    const { points } = await run(procStatSampler({ procRoot: FIXTURE }), []);
    expect(points.some((p) => p.l.zone)).toBe(false);
  });

  it('counts a garbage column as unparsed and does not export it', async () => {
    const root = brokenCopy({ stat: 'cpu  100 0 x9 5000 0 0 0 0 0 0\n' });
    const { points, unparsed } = await run(procStatSampler({ procRoot: root }));
    expect(get(points, 'node_cpu_seconds_total', { mode: 'system' })).toBeUndefined();
    expect(get(points, 'node_cpu_seconds_total', { mode: 'user' })).toBe(1);
    expect(unparsed.some((u) => u.includes('stat') && u.includes('system'))).toBe(true);
  });

  it('fails naming the file when it is missing or has no cpu line', async () => {
    await expect(run(procStatSampler({ procRoot: brokenCopy({ stat: null }) }))).rejects.toThrow(/stat: not found/);
    expect(() => parseProcStat('intr 1 2 3\n')).toThrow(/\/proc\/stat: no aggregate "cpu" line/);
  });
});

describe('/proc/meminfo', () => {
  it('gives host memory in bytes and the global zone as MemTotal - MemAvailable', async () => {
    const { points, unparsed } = await run(procMeminfoSampler({ procRoot: FIXTURE }));
    expect(unparsed).toEqual([]);
    expect(get(points, 'node_memory_total_bytes')).toBe(8_000_000 * KiB);
    expect(get(points, 'node_memory_available_bytes')).toBe(5_000_000 * KiB);
    expect(get(points, 'node_memory_free_bytes')).toBe(2_000_000 * KiB);
    expect(get(points, 'zone_memory_rss_bytes', { zone: 'global' })).toBe(3_000_000 * KiB);
    expect(get(points, 'zone_swap_bytes', { zone: 'global' })).toBe(250_000 * KiB);
  });

  it('keeps counts without a kB unit as they are', () => {
    expect(parseMeminfo('HugePages_Total:      7\n').get('HugePages_Total')).toBe(7);
  });

  it('does not make up a global rss when MemAvailable is garbage', async () => {
    const root = brokenCopy({ meminfo: 'MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: lots kB\n' });
    const { points, unparsed } = await run(procMeminfoSampler({ procRoot: root }));
    expect(get(points, 'zone_memory_rss_bytes', { zone: 'global' })).toBeUndefined();
    expect(get(points, 'node_memory_available_bytes')).toBeUndefined();
    expect(unparsed.length).toBeGreaterThan(0);
  });
});

describe('/proc/loadavg, /proc/net/dev, /proc/diskstats', () => {
  it('gives the 1-minute load', async () => {
    const { points } = await run(procLoadavgSampler({ procRoot: FIXTURE }));
    expect(get(points, 'node_load1')).toBe(0.42);
  });

  it('gives bytes per interface', async () => {
    const { points } = await run(procNetDevSampler({ procRoot: FIXTURE }));
    expect(get(points, 'node_net_receive_bytes_total', { interface: 'eth0' })).toBe(9876543210);
    expect(get(points, 'node_net_transmit_bytes_total', { interface: 'eth0' })).toBe(1234567890);
    expect(get(points, 'node_net_receive_bytes_total', { interface: 'vethA1B2C3' })).toBe(100);
  });

  it('rejects a truncated /proc/net/dev line naming the interface', () => {
    expect(() => parseNetDev('  eth0: 1 2 3\n')).toThrow(/eth0: 3 columns/);
  });

  it('gives bytes per whole disk (sectors of 512), not partitions or loop devices', async () => {
    const { points } = await run(procDiskstatsSampler({ procRoot: FIXTURE }));
    const devices = points.filter((p) => p.f === 'node_disk_read_bytes_total').map((p) => p.l.device).sort();
    expect(devices).toEqual(['dm-0', 'nvme0n1', 'sda']);
    expect(get(points, 'node_disk_read_bytes_total', { device: 'sda' })).toBe(400000 * 512);
    expect(get(points, 'node_disk_written_bytes_total', { device: 'sda' })).toBe(800000 * 512);
    expect(get(points, 'node_disk_written_bytes_total', { device: 'nvme0n1' })).toBe(16000 * 512);
  });

  it('rejects a diskstats line with too few columns', () => {
    expect(() => parseDiskstats('8 0 sda 1 2 3\n')).toThrow(/sda: 6 columns/);
  });
});

describe('OpenZFS arcstats', () => {
  it('gives ARC size, target, max, hits and misses', async () => {
    const { points, unparsed } = await run(linuxArcstatsSampler({ procRoot: FIXTURE }));
    expect(unparsed).toEqual([]);
    expect(get(points, 'zfs_arc_size_bytes')).toBe(1_000_000_000);
    expect(get(points, 'zfs_arc_target_bytes')).toBe(1073741824);
    expect(get(points, 'zfs_arc_max_bytes')).toBe(4294967296);
    expect(get(points, 'zfs_arc_hits_total')).toBe(1_000_000);
    expect(get(points, 'zfs_arc_misses_total')).toBe(25000);
  });

  it('says nothing on a host without ZFS', async () => {
    const root = brokenCopy({ 'spl/kstat/zfs/arcstats': null });
    expect((await run(linuxArcstatsSampler({ procRoot: root }))).points).toEqual([]);
  });

  it('tolerates a renamed field and counts a garbage one', async () => {
    const root = brokenCopy({ 'spl/kstat/zfs/arcstats': '1 1 0x01\nname type data\nhits 4 12\nmisses 4 -\narc_size 4 5\n' });
    const { points, unparsed } = await run(linuxArcstatsSampler({ procRoot: root }));
    expect(points).toEqual([{ f: 'zfs_arc_hits_total', l: {}, v: 12 }]);
    expect(unparsed).toEqual([expect.stringContaining('misses')]);
  });

  it('rejects a file without the kstat header', () => {
    expect(() => parseSplKstat('hits 4 1\n')).toThrow(/no "name type data" header/);
  });
});
