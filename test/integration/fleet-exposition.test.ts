// A fleet of two real agents — this Linux host and a simulated SmartOS node on the illumos
// stand-ins — seen through the API and /metrics, which promtool must find clean.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { FAKES, spawnZonescope, stopAll, tempDir, until } from '../helpers/cli.js';

describe('fleet exposition', () => {
  let srv: App;
  let base: string;
  let viewer: string;
  const linuxNode = `it-linux-${process.pid}`;
  const smartNode = `it-smartos-${process.pid}`;
  const brokenNode = `it-broken-${process.pid}`;
  const PATH = `${FAKES}:${process.env.PATH}`;

  const api = async <T>(path: string): Promise<T> => (await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${viewer}` } })).json() as Promise<T>;

  beforeAll(async () => {
    srv = await buildApp({ dataDir: tempDir() });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`;
    const agent = createToken(srv.ctx.store, 'agent', 'agents').token;
    viewer = createToken(srv.ctx.store, 'viewer', 'v').token;
    const common = ['agent', '--server', base, '--token', agent, '--interval', '1'];
    spawnZonescope([...common, '--node', linuxNode]);
    spawnZonescope([...common, '--node', smartNode, '--platform', 'illumos'], { PATH, ZONESCOPE_FAKE_STATE: tempDir() });
    spawnZonescope([...common, '--node', brokenNode, '--platform', 'illumos'], { PATH, ZONESCOPE_FAKE_STATE: tempDir(), ZONESCOPE_FAKE_GARBAGE: 'kstat', ZONESCOPE_FAKE_FAIL: 'zpool' });
    await until('three nodes with samples', () =>
      [linuxNode, smartNode, brokenNode].every((n) => (srv.ctx.fleet.nodes.get(n)?.seq.received ?? 0) >= 2),
    30_000);
  });
  afterAll(async () => {
    await stopAll();
    await srv.close();
  });

  it('says which node is simulated', async () => {
    const nodes = await api<{ node: string; simulated: boolean; platform: string }[]>('/api/nodes');
    expect(nodes.find((n) => n.node === smartNode)).toMatchObject({ simulated: true, platform: 'illumos' });
    expect(nodes.find((n) => n.node === linuxNode)).toMatchObject({ simulated: false, platform: 'linux' });
  });

  it('lists SmartOS zones from zoneadm and vmadm, including global and a zone that is not running', async () => {
    const zones = await api<{ name: string; state: string; zoneid?: number | null; alias?: string }[]>(`/api/nodes/${smartNode}/zones`);
    expect(zones.find((z) => z.name === 'global')).toBeTruthy();
    const down = zones.find((z) => z.state !== 'running');
    expect(down).toBeTruthy();
    expect(down!.zoneid).toBeNull();
    expect(zones.some((z) => z.alias)).toBe(true);
  });

  it('counts a stand-in that fails or prints garbage as a sampler error, and keeps sampling', async () => {
    const n = srv.ctx.fleet.nodes.get(brokenNode)!;
    const first = n.seq.received;
    await until('more samples from the broken node', () => n.seq.received >= first + 2, 10_000);
    expect(n.samplerErrors).toBeGreaterThan(0);
    const exposed = () => [...n.rendered.values()].join('');
    expect(exposed()).toMatch(/zonescope_agent_sampler_errors_total\{node="[^"]+",sampler="zpool"\}/);
    // samplers that do not depend on the broken commands still deliver (at 1 s rounds on a
    // busy machine a stand-in may miss one round's deadline: its data then comes a frame later)
    await until('zfs data from the broken node', () => /^zonescope_zfs_dataset_/m.test(exposed()), 10_000);
    const m = await (await fetch(`${base}/metrics`)).text();
    expect(m).toMatch(new RegExp(`zonescope_sampler_errors_total\\{node="${brokenNode}",sampler="zpool"\\} [1-9]`));
  });

  it('serves the server\'s own metrics alone at /metrics/server', async () => {
    const text = await (await fetch(`${base}/metrics/server`)).text();
    expect(text).toMatch(/^zonescope_agent_frames_received_total\{type="samples"\} [1-9]/m);
    expect(text).toContain('# TYPE zonescope_series_dropped_total counter');
    expect(text).not.toMatch(/zonescope_zone_|zonescope_agent_up/);
    const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
  });

  it('passes promtool check metrics with several nodes and zones', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/zonescope_zone_memory_rss_bytes\{node=/);
    const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.exitCode).toBe(0);
  });
});
