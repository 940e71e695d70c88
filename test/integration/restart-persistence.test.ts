// What a user looks at survives a server restart: a real server process is stopped (SIGKILL, and
// SIGTERM) and started again on the same data directory while a real agent (illumos, the
// DTrace stand-in) keeps running. A trace that ended before opens after it with the same
// folded text; a trace running across the restart ends partial saying the server restarted,
// with what arrived before; the zone's samples from before the restart are still charted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAKES, freePort, spawnZonescope, startServerProc, stopAll, tempDir, until, zonescope, type Proc } from '../helpers/cli.js';

const NODE = `zs-restart-${process.pid}`;

describe('a server restart', () => {
  const data = tempDir('zs-restart-');
  let port: number;
  let base: string;
  let server: Proc;
  let agent: Proc;
  let op: string;
  let zone: string;

  const api = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(base + path, { ...init, headers: { authorization: `Bearer ${op}`, 'content-type': 'application/json', ...init.headers } });
    const text = await r.text();
    return { status: r.status, text, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined };
  };
  const startServer = async (extra: string[] = []) => {
    // a loaded machine (CPUs shared with other work) may take a while to start a node process
    server = await startServerProc(['--port', String(port), '--host', '127.0.0.1', '--data', data, ...extra], { ZONESCOPE_LOG: 'warn' }, 60_000);
  };
  const agentUp = () => until('the agent to be connected with its zones', async () => {
    const r = await api(`/api/nodes/${NODE}/zones`);
    return r.status === 200 && r.json.length > 1 && r.json;
  }, 40_000);
  const startTrace = async (durationS: number) => {
    const r = await api('/api/traces', { method: 'POST', body: JSON.stringify({ node: NODE, zone, script: 'cpu-profile', durationS }) });
    expect(r.status, r.text).toBe(201);
    return r.json.id as string;
  };
  const trace = async (id: string) => (await api(`/api/traces/${id}`)).json;
  const ended = (id: string) => until(`trace ${id} to end`, async () => {
    const t = await trace(id);
    return ['done', 'partial', 'stopped', 'failed'].includes(t?.status) && t;
  }, 30_000);
  const intervalsAtLeast = (id: string, n: number) => until(`trace ${id} to have ${n} intervals`, async () => (await trace(id))?.intervals >= n, 30_000);

  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const tok = async (role: string) => String((await zonescope(['token', 'create', '--role', role, '--data', data])).stdout).trim();
    op = await tok('operator');
    const agentFile = join(data, 'agent.token');
    writeFileSync(agentFile, await tok('agent'), { mode: 0o600 });
    await startServer();
    agent = spawnZonescope(['agent', '--server', base, '--token-file', agentFile, '--node', NODE, '--platform', 'illumos', '--interval', '1'], {
      PATH: `${FAKES}:${process.env.PATH}`,
      ZONESCOPE_FAKE_STATE: tempDir('zs-restart-state-'),
      ZONESCOPE_LOG: 'warn',
    });
    zone = (await agentUp()).find((z: { name: string }) => z.name !== 'global').name;
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await stopAll();
  });

  it('killed (SIGKILL): a finished trace opens with identical folded text; a running one ends partial, saying the server restarted', async () => {
    const done = await startTrace(2);
    const before = await ended(done);
    const folded = await api(`/api/traces/${done}/folded`);
    expect(folded.status, folded.text).toBe(200);
    const intervals = (await api(`/api/traces/${done}/intervals`)).json;

    const running = await startTrace(60);
    await intervalsAtLeast(running, 3);
    server.kill9();
    await server.proc;
    await startServer();

    // before any agent is back: the store answers
    const after = await trace(done);
    expect(after.status).toBe(before.status);
    expect(after.reasons).toEqual(before.reasons);
    expect(after.records).toEqual(before.records);
    expect((await api(`/api/traces/${done}/folded`)).text).toBe(folded.text);
    expect((await api(`/api/traces/${done}/intervals`)).json).toEqual(intervals);

    const cut = await trace(running);
    expect(cut.status).toBe('partial');
    expect(cut.reasons[0]).toMatch(/^server restarted while the trace ran \(\d+ of 60 intervals arrived\)$/);
    expect(cut.intervals).toBeGreaterThanOrEqual(2);
    // what arrived before the restart is its result
    const cutFolded = await api(`/api/traces/${running}/folded`);
    expect(cutFolded.status, cutFolded.text).toBe(200);
    expect(cutFolded.text).toContain('zonescope_hot_spin');
    const list = (await api('/api/traces')).json.map((t: { id: string; status: string }) => [t.id, t.status]);
    expect(list).toEqual(expect.arrayContaining([[done, before.status], [running, 'partial']]));

    // the agent comes back; the cut trace stays as it is
    await agentUp();
    expect((await trace(running)).status).toBe('partial');
  }, 180_000);

  const history = async () => (await api(`/api/nodes/${NODE}/zones/${zone}/history?window=3600`)).json as { times: number[]; series: Record<string, (number | null)[]>; keptSince: number | null; retentionS: number };

  it('stopped (SIGTERM): the zone charts keep the samples from before, and a running trace ends partial', async () => {
    await agentUp();
    await until('a few samples of the zone', async () => (await history()).times.length >= 5, 30_000);
    const running = await startTrace(60);
    await intervalsAtLeast(running, 2);
    const h0 = await history();
    expect(h0.keptSince).toBe(h0.times[0]);
    await server.stop();
    await startServer();
    await agentUp();
    const h1 = await until('samples after the restart', async () => {
      const h = await history();
      return h.times.some((t) => t > h0.times[h0.times.length - 1]) && h;
    }, 30_000);
    // every point from before is there, with its values
    expect(h1.times.slice(0, h0.times.length)).toEqual(h0.times);
    const key = Object.keys(h0.series).find((k) => k.startsWith('zone_memory_rss_bytes'))!;
    expect(key).toBeDefined();
    expect(h1.series[key].slice(0, h0.times.length)).toEqual(h0.series[key]);
    // the chart knows where the kept history starts
    expect(h1.keptSince).toBe(h0.times[0]);
    expect(h1.retentionS).toBe(3600);

    const cut = await trace(running);
    expect(cut.status).toBe('partial');
    expect(cut.reasons[0]).toMatch(/server restarted/);
  }, 180_000);

  it('killed (SIGKILL) with --history-flush 2s: the zone charts keep every point taken 10 s before the kill', async () => {
    await server.stop();
    await startServer(['--history-flush', '2s']);
    await agentUp();
    const last = (await history()).times.at(-1) ?? 0;
    await until('new samples of the zone', async () => (await history()).times.filter((t) => t > last).length >= 4, 30_000);
    const h0 = await history();
    // several write periods (and the store's look-ups in between) after the points we compare:
    // a loaded machine may run a write late
    await new Promise((r) => setTimeout(r, 10_000));
    server.kill9();
    await server.proc;
    await startServer();
    await agentUp();
    const h1 = await until('samples after the restart', async () => {
      const h = await history();
      return h.times.some((t) => t > Date.now() - 3000) && h;
    }, 30_000);
    // every point taken up to 10 s before the kill came back (the default, 1 min, would lose them)
    expect(h1.times.slice(0, h0.times.length)).toEqual(h0.times);
  }, 180_000);
});
