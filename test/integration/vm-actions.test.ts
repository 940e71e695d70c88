// VM lifecycle through the server on a simulated SmartOS node: the stand-in vmadm really
// changes the zone's state, which the next zone list shows; roles and the audit log hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { FAKES, spawnZonescope, stopAll, tempDir, until } from '../helpers/cli.js';

describe('VM actions', () => {
  let srv: App;
  let base: string;
  let operator: string;
  let viewer: string;
  const node = `it-vm-${process.pid}`;

  const call = (token: string, method: string, path: string, body?: object) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  const zones = async () => (await (await call(viewer, 'GET', `/api/nodes/${node}/zones`)).json()) as { name: string; state: string; alias?: string }[];

  beforeAll(async () => {
    srv = await buildApp({ dataDir: tempDir() });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`;
    operator = createToken(srv.ctx.store, 'operator', 'op').token;
    viewer = createToken(srv.ctx.store, 'viewer', 'v').token;
    const agent = createToken(srv.ctx.store, 'agent', 'a').token;
    spawnZonescope(['agent', '--server', base, '--token', agent, '--node', node, '--interval', '1', '--platform', 'illumos'], {
      PATH: `${FAKES}:${process.env.PATH}`,
      ZONESCOPE_FAKE_STATE: tempDir(),
    });
    await until('zones', async () => (await zones()).length > 2, 20_000);
  });
  afterAll(async () => {
    await stopAll();
    await srv.close();
  });

  it('stops and starts a zone, and the zone list follows', async () => {
    const z = (await zones()).find((x) => x.name !== 'global' && x.state === 'running')!;
    const stop = await call(operator, 'POST', `/api/nodes/${node}/zones/${z.name}/actions`, { action: 'stop' });
    expect(stop.status, await stop.clone().text()).toBe(200);
    await until('the zone to be stopped', async () => (await zones()).find((x) => x.name === z.name)?.state === 'stopped', 10_000);
    const start = await call(operator, 'POST', `/api/nodes/${node}/zones/${z.name}/actions`, { action: 'start' });
    expect(start.status).toBe(200);
    await until('the zone to run again', async () => (await zones()).find((x) => x.name === z.name)?.state === 'running', 10_000);
    const admin = createToken(srv.ctx.store, 'admin', 'adm').token;
    const audit = (await (await call(admin, 'GET', '/api/audit')).json()) as { action: string; actor: string; target: string }[];
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['vm.stop', 'vm.stop.done', 'vm.start', 'vm.start.done']));
    expect(audit.find((a) => a.action === 'vm.stop')).toMatchObject({ actor: 'operator:op', target: `${node}/${z.name}` });
  });

  it('refuses viewers, the global zone, unknown zones and unknown actions', async () => {
    const z = (await zones()).find((x) => x.name !== 'global')!;
    expect((await call(viewer, 'POST', `/api/nodes/${node}/zones/${z.name}/actions`, { action: 'stop' })).status).toBe(403);
    const g = await call(operator, 'POST', `/api/nodes/${node}/zones/global/actions`, { action: 'reboot' });
    expect(g.status).toBe(400);
    expect((await g.json()).message).toMatch(/global zone/);
    const u = await call(operator, 'POST', `/api/nodes/${node}/zones/nope/actions`, { action: 'stop' });
    expect(u.status).toBe(400);
    expect((await u.json()).message).toMatch(/zone: no zone 'nope'/);
    const a = await call(operator, 'POST', `/api/nodes/${node}/zones/${z.name}/actions`, { action: 'destroy' });
    expect(a.status).toBe(400);
    expect((await a.json()).message).toMatch(/action/);
  });
});
