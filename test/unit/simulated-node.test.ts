// One source of simulated data: the in-process runner `zonescope simulate` uses and the
// stand-in executables on PATH answer the same commands with the same text, and a simulated
// fleet's nodes each have their own zones.
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { illumosPlatform } from '../../agent/platform/illumos.js';
import { simulatedRunner } from '../../agent/simulated/commands.js';
import { fleetNodeData } from '../../agent/simulated/fleet.js';
import { readNodeData, SimNode } from '../../agent/simulated/node.js';
import { TEST_ENV } from '../helpers/procs.js';

const BIN = resolve(import.meta.dirname, '../fakes/illumos/bin');
const state = mkdtempSync(join(tmpdir(), 'zonescope-simnode-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));

const standIn = async (cmd: string, args: string[]) =>
  (await execa(join(BIN, cmd), args, { env: { ...TEST_ENV, ZONESCOPE_FAKE_STATE: state }, reject: false })).stdout;
const inProcess = (cmd: string, args: string[]) => simulatedRunner(new SimNode(readNodeData()))(cmd, args, 5000).then((s) => s.replace(/\n$/, ''));
/** kstat values move with the clock: compare which statistics are there */
const kstatKeys = (text: string) => text.split('\n').map((l) => l.split('\t')[0]);

describe('the simulated node', () => {
  it.each([
    ['zoneadm', ['list', '-cp']],
    ['vmadm', ['list', '-p', '-o', 'uuid,alias,state,type,ram,brand']],
    ['vmadm', ['list']],
    ['zpool', ['list', '-Hp']],
    ['zfs', ['list', '-Hp', '-o', 'name,quota,compressratio,type']],
    ['ps', ['-z', 'global', '-o', 'pid,rss,vsz,args']],
  ])('answers %s %j in-process exactly as the stand-in does', async (cmd, args) => {
    expect(await inProcess(cmd, args)).toBe(await standIn(cmd, args));
  });

  it('answers kstat with the same statistics in-process as the stand-in', async () => {
    for (const sel of ['memory_cap', 'zones', 'caps::/^cpucaps_zone_/', 'link', 'zfs:0:arcstats']) {
      const a = kstatKeys(await inProcess('kstat', ['-p', sel]));
      expect(a.length, sel).toBeGreaterThan(5);
      expect(a).toEqual(kstatKeys(await standIn('kstat', ['-p', sel])));
    }
  });

  it('fails like a real command for an unknown zone or option', async () => {
    await expect(inProcess('ps', ['-z', 'nosuch', '-o', 'pid,rss,vsz,args'])).rejects.toThrow(/^ps -z nosuch -o pid,rss,vsz,args: exit 1: ps: unknown zone: nosuch$/);
    await expect(inProcess('kstat', ['-p', 'nosuch'])).rejects.toThrow(/^kstat -p nosuch: exit 1$/);
  });

  it('gives each node of a fleet its own zones and datasets, as many as asked', async () => {
    const t = readNodeData();
    const a = fleetNodeData(t, 'sim-0001', 10);
    const b = fleetNodeData(t, 'sim-0002', 10);
    expect(a.zones.filter((z) => z.name !== 'global')).toHaveLength(10);
    const names = (d: typeof a) => d.zones.map((z) => z.name).filter((n) => n !== 'global');
    expect(names(a).filter((n) => names(b).includes(n))).toEqual([]);
    expect(fleetNodeData(t, 'sim-0001', 10)).toEqual(a); // stable across restarts
    // the real samplers see them through the in-process runner
    const platform = illumosPlatform({ simulated: true, run: simulatedRunner(new SimNode(a)) });
    const zones = await platform.zones();
    expect(zones.map((z) => z.name).sort()).toEqual(a.zones.map((z) => z.name).sort());
    const zfs = platform.samplers.find((s) => s.name === 'zfs')!;
    const points = await zfs.sample(zones, { timeoutMs: 5000, run: platform.run, unparsed() {} });
    const withData = new Set(points.filter((p) => p.f === 'zfs_dataset_used_bytes' && p.l.zone !== 'global').map((p) => p.l.zone));
    expect(withData.size).toBeGreaterThanOrEqual(8);
  });
});
