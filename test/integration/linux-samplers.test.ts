// The Linux samplers on this machine's real cgroups: a test zone holding one process that
// burns a known amount of CPU and holds a known amount of memory shows that CPU and memory;
// a process outside the zone, burning at the same time, does not count.
//
// Tolerances: CPU (user+system) within 0.25 s of what the child measured for itself with
// getrusage after it joined the zone (and at least the 1.5 s it was told to burn); memory
// between the 64 MiB it touched and 64 MiB + 24 MiB (the node heap pages it touches after
// joining; pages touched before joining stay charged to its old cgroup).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { linuxPlatform } from '../../agent/platform/linux.js';
import type { Point, Zone } from '../../protocol/messages.js';
import { makeTestZone, type TestZone } from '../helpers/zone.js';
import { TEST_ENV } from '../helpers/procs.js';

const BURN_S = 1.5;
const MIB = 1024 * 1024;
const HOLD = 64 * MIB;

// waits for "go", then touches HOLD bytes and burns BURN_S of CPU, reports its own CPU time
// since "go", and stays alive holding the memory
const CHILD = `
const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', (l) => {
  if (l !== 'go') return;
  const t0 = process.cpuUsage();
  const spent = () => { const u = process.cpuUsage(t0); return (u.user + u.system) / 1e6; };
  const hold = Buffer.allocUnsafe(Number(process.env.HOLD));
  for (let i = 0; i < hold.length; i += 4096) hold[i] = 1;
  globalThis.hold = hold;
  let x = 0;
  while (spent() < Number(process.env.BURN_S)) x += Math.sqrt(x + 1);
  process.stdout.write(JSON.stringify({ cpu: spent(), x: x > 0 }) + '\\n');
  setInterval(() => {}, 1000);
});
`;

function start(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['-e', CHILD], {
    env: { ...process.env, ...TEST_ENV, HOLD: String(HOLD), BURN_S: String(BURN_S), ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function firstLine(c: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: c.stdout! });
    rl.once('line', resolve);
    c.once('exit', (code) => reject(new Error(`child exited (${code}) before reporting`)));
  });
}

const platform = linuxPlatform();

async function sample(zones: Zone[]): Promise<{ points: Point[]; unparsed: string[] }> {
  const unparsed: string[] = [];
  const points: Point[] = [];
  for (const s of platform.samplers) points.push(...(await s.sample(zones, { unparsed: (w) => unparsed.push(w), timeoutMs: 5000 })));
  return { points, unparsed };
}

const value = (pts: Point[], f: string, l: Record<string, string>) =>
  pts.filter((p) => p.f === f && Object.entries(l).every(([k, v]) => p.l[k] === v)).reduce((a, p) => a + p.v, 0);

describe('Linux samplers on real cgroups', () => {
  let zone: TestZone;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    zone = await makeTestZone(`zs-it-${process.pid}`);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await zone?.destroy();
  });

  it('discovers the test zone next to global', async () => {
    const zones = await platform.zones();
    expect(zones.find((z) => z.name === 'global')).toMatchObject({ brand: 'linux-host', state: 'running' });
    expect(zones.find((z) => z.name === zone.name)).toMatchObject({ brand: 'cgroup', state: 'empty', cgroup: zone.cgroup });
  });

  it("counts the zone's CPU and memory, and nothing from outside it", async () => {
    const inside = start({});
    const outside = start({});
    children.push(inside, outside);
    await zone.addPid(inside.pid!);

    let zones = await platform.zones();
    expect(zones.find((z) => z.name === zone.name)?.state).toBe('running');
    const before = await sample(zones);
    const cpu0 = value(before.points, 'zone_cpu_seconds_total', { zone: zone.name });

    const reports = [firstLine(inside), firstLine(outside)];
    inside.stdin!.write('go\n');
    outside.stdin!.write('go\n');
    const [own] = (await Promise.all(reports)).map((l) => JSON.parse(l) as { cpu: number });

    zones = await platform.zones();
    const after = await sample(zones);
    expect(after.unparsed).toEqual([]);
    const cpu = value(after.points, 'zone_cpu_seconds_total', { zone: zone.name }) - cpu0;
    const rss = value(after.points, 'zone_memory_rss_bytes', { zone: zone.name });
    const usage = value(after.points, 'zone_cpu_usage_seconds_total', { zone: zone.name });

    expect(cpu).toBeGreaterThanOrEqual(BURN_S - 0.05);
    expect(Math.abs(cpu - own.cpu)).toBeLessThanOrEqual(0.25);
    expect(usage).toBeGreaterThanOrEqual(BURN_S - 0.05);
    expect(usage).toBeLessThanOrEqual(own.cpu + 0.25);
    expect(rss).toBeGreaterThanOrEqual(HOLD);
    expect(rss).toBeLessThanOrEqual(HOLD + 24 * MIB);

    // the host's own view is there too, with the whole host's numbers
    expect(value(after.points, 'node_cpu_seconds_total', { mode: 'user' })).toBeGreaterThan(0);
    expect(value(after.points, 'zone_memory_rss_bytes', { zone: 'global' })).toBeGreaterThan(HOLD * 2);
  });
});
