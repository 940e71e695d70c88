// The agent's round: a sampler that hangs costs its own data only. The frame goes out on
// time with the sampler's error, a run still going is never started twice, and a sampler
// that keeps timing out is tried less and less often. With synthetic samplers (exact), and
// with the simulated SmartOS node's stand-ins where `kstat` hangs (the real code path).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../agent/agent.js';
import { CommandTimeout } from '../../agent/exec.js';
import { illumosPlatform } from '../../agent/platform/illumos.js';
import { leftoverProcesses, TEST_ENV } from '../helpers/procs.js';
import type { Platform, Sampler } from '../../agent/platform/types.js';
import type { Samples } from '../../protocol/messages.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function platformOf(samplers: Sampler[]): Platform {
  return {
    name: 'linux', simulated: true, tracer: 'bpftrace', samplers,
    zones: async () => [{ name: 'global', brand: 'linux-host', state: 'running' }],
    vmAction: async () => '', processes: async () => [], run: async () => '',
  };
}

const steady: Sampler = { name: 'steady', sample: async () => [{ f: 'node_load1', l: {}, v: 1 }] };

/** runs the agent's clock for `rounds` frames and returns them */
async function frames(samplers: Sampler[] | Platform, rounds: number, intervalS: number, onFrame?: (f: Samples, n: number) => void): Promise<Samples[]> {
  const got: Samples[] = [];
  let agent!: Agent;
  const done = new Promise<void>((resolve) => {
    agent = new Agent({
      platform: Array.isArray(samplers) ? platformOf(samplers) : samplers, intervalS, log: quiet, samplerTimeoutMs: Array.isArray(samplers) ? 60_000 : 5000, emitZones() {},
      emit(f) {
        got.push(f);
        onFrame?.(f, got.length);
        if (got.length === rounds) resolve();
      },
    });
  });
  agent.start();
  await done;
  agent.stop();
  return got;
}

const errorsOf = (f: Samples, sampler: string) => f.errors.filter((e) => e.sampler === sampler).map((e) => e.message);
const point = (f: Samples, name: string, sampler: string) => f.points.find((p) => p.f === name && p.l.sampler === sampler)?.v;

describe('sampler rounds', () => {
  it('sends every frame on time while one sampler never answers', async () => {
    let started = 0;
    const hung: Sampler = { name: 'hung', sample: () => (started++, new Promise(() => {})) };
    const got = await frames([hung, steady], 8, 0.5);
    const gaps = got.slice(1).map((f, i) => f.time - got[i].time);
    // a frame held for the hung sampler would come its round's deadline (400 ms) late; a loaded
    // machine's timers may be late by a fraction of that
    for (const g of gaps) expect(g).toBeGreaterThan(500 * 0.9), expect(g).toBeLessThan(500 + 250);
    // the others' data is in every frame
    for (const f of got) expect(f.points.some((p) => p.f === 'node_load1')).toBe(true);
    // first round: abandoned; later rounds: not started again while it still runs
    expect(errorsOf(got[0], 'hung')[0]).toMatch(/^hung: no answer within \d+ ms; abandoned for this round$/);
    expect(errorsOf(got[1], 'hung')[0]).toMatch(/^hung: still running from a round [\d.]+ s ago; not started again \(timed out 2 rounds in a row: next try in 1\.0 s\)$/);
    expect(started).toBe(1);
  });

  it('takes a slow sampler\'s answer one round late instead of losing it', async () => {
    let calls = 0;
    const slow: Sampler = {
      name: 'slow',
      // answers after the round's deadline (0.4 s) but before the next round
      sample: () => new Promise((r) => setTimeout(() => r([{ f: 'node_load5', l: {}, v: ++calls }]), 450)),
    };
    const got = await frames([slow, steady], 5, 0.5);
    expect(errorsOf(got[0], 'slow')[0]).toMatch(/^slow: no answer within \d+ ms; abandoned for this round$/);
    // from then on every frame has the answer of the run before it, and no error
    for (let i = 1; i < got.length; i++) {
      expect(errorsOf(got[i], 'slow')).toEqual([]);
      expect(got[i].points.find((p) => p.f === 'node_load5')?.v).toBe(i);
    }
  });

  it('a slow zone discovery costs the samplers nothing: they sample the last zone list meanwhile', async () => {
    let lists = 0;
    const platform = platformOf([steady]);
    // the first list comes at once; every later one takes most of the round's 0.4 s
    platform.zones = () => {
      const n = lists++;
      return new Promise((r) => setTimeout(() => r([{ name: `zone-${n}`, brand: 'lx', state: 'running' }]), n === 0 ? 0 : 350));
    };
    const seen: string[] = [];
    // a sampler that needs half the round: in time only if discovery does not go first
    const sampler: Sampler = {
      name: 'zones-seen',
      sample: (zones) => (seen.push(zones.map((z) => z.name).join()), new Promise((r) => setTimeout(() => r([{ f: 'node_load5', l: {}, v: 5 }]), 200))),
    };
    platform.samplers.push(sampler);
    const got = await frames(platform, 5, 0.5);
    for (const f of got) {
      expect(f.points.some((p) => p.f === 'node_load5')).toBe(true);
      expect(f.errors).toEqual([]);
    }
    // each round samples the list the round before it found
    expect(seen.slice(0, 3)).toEqual(['zone-0', 'zone-0', 'zone-1']);
  });

  it('backs off a sampler that keeps timing out, and recovers when it answers again', async () => {
    let calls = 0;
    const slow: Sampler = {
      name: 'slow',
      // the first run hangs until its command timeout (1.2 s, as agent/exec.ts would kill it);
      // later runs answer at once
      sample: () => (calls++ === 0 ? new Promise((_, no) => setTimeout(() => no(new CommandTimeout('slow: timed out after 1200 ms')), 1200)) : Promise.resolve([{ f: 'node_load5', l: {}, v: 5 }])),
    };
    const got = await frames([slow, steady], 7, 0.5);
    expect(errorsOf(got[0], 'slow')[0]).toMatch(/abandoned for this round$/);
    expect(errorsOf(got[1], 'slow')[0]).toMatch(/not started again \(timed out 2 rounds in a row: next try in 1\.0 s\)$/);
    // two intervals of backoff: those rounds are sat out, without a new error
    expect(errorsOf(got[2], 'slow')).toEqual([]);
    expect(point(got[2], 'agent_sampler_backoff_seconds', 'slow')).toBeGreaterThan(0);
    expect(got.slice(2, 4).some((f) => f.points.some((p) => p.f === 'node_load5'))).toBe(false);
    // tried again once the backoff is over, it answers: data again, no longer backing off
    const last = got[got.length - 1];
    expect(last.points.some((p) => p.f === 'node_load5')).toBe(true);
    expect(point(last, 'agent_sampler_backoff_seconds', 'slow')).toBe(0);
    expect(calls).toBe(1 + got.slice(4).filter((f) => f.points.some((p) => p.f === 'node_load5')).length);
  });
});

describe('sampler rounds on the simulated SmartOS node', () => {
  it('a hanging kstat delays no frame: zfs and zpool data arrive every interval', async () => {
    const saved = { ...process.env };
    const state = mkdtempSync(join(tmpdir(), 'zonescope-rounds-'));
    Object.assign(process.env, TEST_ENV, {
      PATH: `${resolve(import.meta.dirname, '../fakes/illumos/bin')}:${process.env.PATH}`,
      ZONESCOPE_FAKE_STATE: state,
      ZONESCOPE_FAKE_HANG: 'kstat',
    });
    try {
      const intervalS = 4;
      const all = await frames(illumosPlatform({ simulated: true }), 6, intervalS);
      // from the second round on: the first also pays for discovery and cold stand-ins
      const got = all.slice(1);
      const gaps = got.slice(1).map((f, i) => (f.time - got[i].time) / 1000);
      console.log(`frame gaps with kstat hanging: ${gaps.map((g) => g.toFixed(2)).join(', ')} s (interval ${intervalS} s)`);
      for (const g of gaps) expect(Math.abs(g - intervalS)).toBeLessThan(intervalS * 0.1);
      for (const f of got) {
        const why = JSON.stringify(f.errors.filter((e) => e.sampler === 'zfs' || e.sampler === 'zpool'));
        expect(f.points.some((p) => p.f.startsWith('zfs_')), `zfs points ${why}`).toBe(true);
        expect(f.points.some((p) => p.f.startsWith('zpool_')), `zpool points ${why}`).toBe(true);
      }
      const KSTAT = ['caps', 'cpu', 'link', 'memory_cap', 'tcp', 'zone_vfs', 'zone_zfs', 'zones', 'arcstats'];
      const kstatErrors = got.flatMap((f) => f.errors).filter((e) => KSTAT.includes(e.sampler));
      expect(kstatErrors.length).toBeGreaterThan(0);
      expect(kstatErrors.some((e) => /next try in/.test(e.message))).toBe(true);
      // each hung sampler's kstat was started at most once per backoff, never piled up
      expect(got.flatMap((f) => f.errors).filter((e) => e.sampler === 'cpu' && /not started again/.test(e.message)).length).toBeLessThanOrEqual(1);
    } finally {
      process.env = saved;
      // the hung stand-ins die at their 5 s command timeout
      for (let i = 0; i < 80 && leftoverProcesses(process.pid).some((p) => /kstat/.test(p)); i++) await new Promise((r) => setTimeout(r, 100));
      rmSync(state, { recursive: true, force: true });
    }
  }, 60_000);
});
