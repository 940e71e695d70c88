// A real LXC container (Debian lxc + busybox-static) is discovered as a zone and its CPU
// shows up in its zone series. Skipped where lxc is not installed or we are not root.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execa } from 'execa';
import { existsSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { linuxPlatform } from '../../agent/platform/linux.js';
import type { Point, Zone } from '../../protocol/messages.js';
import { TEST_ENV } from '../helpers/procs.js';

const NAME = `zs-lxc-${process.pid}`;
const usable = existsSync('/usr/bin/lxc-create') && existsSync('/bin/busybox') && process.getuid?.() === 0;
const lxc = (cmd: string, args: string[]) =>
  execa(cmd, args, { env: { ...process.env, ...TEST_ENV }, timeout: 30_000, stdin: 'ignore' });

// lxc-start leaves an empty `lxc.pivot` cgroup behind in every hierarchy; remove those it
// made for us, not ones that were already there
const PIVOTS = ['blkio', 'cpu', 'cpuacct', 'cpuset', 'devices', 'freezer', 'memory', 'pids', 'systemd', 'unified', '.'].map(
  (h) => `/sys/fs/cgroup/${h}/lxc.pivot`,
);

async function sample(zones: Zone[]): Promise<Point[]> {
  const p = linuxPlatform();
  const out: Point[] = [];
  for (const s of p.samplers) out.push(...(await s.sample(zones, { unparsed: () => {}, timeoutMs: 5000 })));
  return out;
}
const value = (pts: Point[], f: string, zone: string) => pts.filter((p) => p.f === f && p.l.zone === zone).reduce((a, p) => a + p.v, 0);

describe.skipIf(!usable)('LXC container as a zone', () => {
  const pivotsBefore = new Set(PIVOTS.filter((p) => existsSync(p)));

  beforeAll(async () => {
    await lxc('lxc-create', ['-t', 'busybox', '-n', NAME]);
    // this machine has no bridge: a container without network
    const conf = `/var/lib/lxc/${NAME}/config`;
    const lines = readFileSync(conf, 'utf8').split('\n').filter((l) => !l.startsWith('lxc.net.'));
    writeFileSync(conf, [...lines, 'lxc.net.0.type = empty', ''].join('\n'));
    await lxc('lxc-start', ['-n', NAME]);
    await lxc('lxc-wait', ['-n', NAME, '-s', 'RUNNING', '-t', '20']);
  }, 90_000);

  afterAll(async () => {
    await lxc('lxc-stop', ['-k', '-n', NAME]).catch(() => {});
    await lxc('lxc-destroy', ['-f', '-n', NAME]).catch(() => {});
    for (const p of PIVOTS) {
      if (pivotsBefore.has(p) || !existsSync(p)) continue;
      try {
        rmdirSync(p);
      } catch {
        // not empty: someone else's container is using it
      }
    }
  }, 90_000);

  it('is found with brand lxc at lxc.payload.NAME and its CPU counts', async () => {
    const p = linuxPlatform();
    const zones = await p.zones();
    expect(zones.find((z) => z.name === NAME)).toEqual({ name: NAME, brand: 'lxc', state: 'running', cgroup: `lxc.payload.${NAME}` });

    const before = await sample(zones);
    // lxc-attach puts the command into the container's cgroups (v2: lxc.payload.NAME/.lxc)
    await lxc('lxc-attach', ['-n', NAME, '--', 'sh', '-c', 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done']);
    const after = await sample(await p.zones());
    const burnt = value(after, 'zone_cpu_usage_seconds_total', NAME) - value(before, 'zone_cpu_usage_seconds_total', NAME);
    expect(burnt).toBeGreaterThan(0.1);
    expect(value(after, 'zone_memory_rss_bytes', NAME)).toBeGreaterThan(0);
    expect(value(after, 'zone_pids', NAME)).toBeGreaterThanOrEqual(1);
  });

  it('is stopped and started again through the platform\'s VM actions, staying listed while stopped', async () => {
    const p = linuxPlatform();
    const zone = (await p.zones()).find((z) => z.name === NAME)!;
    await p.vmAction(zone, 'stop');
    // no cgroup any more, but LXC still defines it: a stopped zone the operator can start
    expect((await p.zones()).find((z) => z.name === NAME)).toEqual({ name: NAME, brand: 'lxc', state: 'stopped' });
    await p.vmAction({ name: NAME, brand: 'lxc', state: 'stopped' }, 'start');
    await lxc('lxc-wait', ['-n', NAME, '-s', 'RUNNING', '-t', '20']);
    expect((await p.zones()).find((z) => z.name === NAME)).toMatchObject({ brand: 'lxc', state: 'running', cgroup: `lxc.payload.${NAME}` });
    // a container kind that is not ours to manage is refused with the reason
    await expect(p.vmAction({ name: 'abc', brand: 'docker', state: 'running' }, 'stop')).rejects.toThrow(/only LXC containers/);
  }, 60_000);
});
