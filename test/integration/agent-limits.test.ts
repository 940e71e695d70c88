// What one agent token can make the server hold is bounded: idle connections, how many at once,
// node names, zones and series per node, nodes gone for good, and log lines about bad frames.
import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';
import { tempDir } from '../helpers/cli.js';
import { helloFrame, samplesFrame } from '../helpers/frames.js';
import { closed, message, Sockets } from '../helpers/sockets.js';

describe('agent limits', () => {
  let srv: App | undefined;
  let port = 0;
  const sockets = new Sockets(() => port);
  const lines: string[] = [];
  const start = async (opts: Partial<Parameters<typeof buildApp>[0]>) => {
    lines.length = 0;
    const stream = new Writable({ write: (c, _e, done) => (lines.push(String(c)), done()) });
    srv = await buildApp({ dataDir: tempDir(), logger: { level: 'warn', stream }, ...opts });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
    return { app: srv, token: createToken(srv.ctx.store, 'agent', 'a').token };
  };
  afterEach(async () => {
    sockets.closeAll();
    await srv?.close();
    srv = undefined;
  });

  it('closes a connection that says no hello within the deadline', async () => {
    const { token } = await start({ agents: { helloTimeoutMs: 300 } });
    const ws = await sockets.connect('/agent', { authorization: `Bearer ${token}` });
    const { code, reason } = await closed(ws);
    expect(code).toBe(1008);
    expect(reason).toMatch(/no hello within 0.3s/);
  });

  it('takes a hello that arrived in time although the server was too busy to read it before the deadline', async () => {
    const { token } = await start({ agents: { helloTimeoutMs: 200 } });
    const ws = await sockets.connect('/agent', { authorization: `Bearer ${token}` });
    const welcome = message(ws, 'welcome');
    ws.send(JSON.stringify(helloFrame('starved')));
    // the hello is on the server's socket; the server's loop (this process) is busy past the deadline
    const until = Date.now() + 500;
    while (Date.now() < until);
    const outcome = await Promise.race([welcome.then(() => 'welcome'), closed(ws).then((c) => `closed: ${c.reason}`)]);
    expect(outcome).toBe('welcome');
  });

  it('refuses /agent connections over the cap with 503, and takes them again once some close', async () => {
    const { token } = await start({ agents: { maxConnections: 3 } });
    const open = await Promise.all([1, 2, 3].map(() => sockets.connect('/agent', { authorization: `Bearer ${token}` })));
    await expect(sockets.connect('/agent', { authorization: `Bearer ${token}` })).rejects.toMatchObject({ status: 503 });
    const text = await srv!.ctx.metrics.registry.getSingleMetricAsString('zonescope_agent_connections_refused_total');
    expect(text).toContain('reason="connection-cap"} 1');
    open[0].close();
    await closed(open[0]);
    await sockets.connect('/agent', { authorization: `Bearer ${token}` });
  });

  it('counts every rejected frame but logs a reason once a minute', async () => {
    const { token } = await start({});
    for (let i = 0; i < 40; i++) {
      const ws = await sockets.connect('/agent', { authorization: `Bearer ${token}` });
      const gone = closed(ws);
      ws.send('not json');
      await gone;
    }
    const text = await srv!.ctx.metrics.registry.getSingleMetricAsString('zonescope_agent_frames_rejected_total');
    expect(text).toContain('reason="not-json"} 40');
    expect(lines.filter((l) => l.includes('frame is not JSON')).length).toBe(1);
  });

  it('forgets nodes unseen for --forget-after, with their series and resume position, and frees the token\'s names', async () => {
    const { app, token } = await start({ fleet: { forgetAfterS: 60 }, agents: { maxNodesPerToken: 5 } });
    for (let i = 0; i < 5; i++) {
      const { ws } = await sockets.agent(token, helloFrame(`churn-${i}`));
      const ack = message(ws, 'ack');
      ws.send(JSON.stringify(samplesFrame(1, [{ f: 'node_load1', l: {}, v: i }])));
      await ack;
      ws.close();
      await closed(ws);
    }
    expect(app.ctx.fleet.nodes.size).toBe(5);
    expect(app.ctx.hub.forgetIdle(Date.now() + 30_000)).toEqual([]);
    expect(app.ctx.hub.forgetIdle(Date.now() + 61_000)).toHaveLength(5);
    expect(app.ctx.fleet.nodes.size).toBe(0);
    expect(app.ctx.store.nodeSeq('churn-0')).toBeUndefined();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).not.toContain('churn-');
    // the names were the token's only while the nodes were known: it may use new ones
    await sockets.agent(token, helloFrame('churn-new'));
  });

  it('keeps a connected node however long it has been', async () => {
    const { app, token } = await start({ fleet: { forgetAfterS: 1 } });
    await sockets.agent(token, helloFrame('steady'));
    expect(app.ctx.hub.forgetIdle(Date.now() + 10_000)).toEqual([]);
  });

  it('caps zones and series per node, counting what was left out', async () => {
    const { app, token } = await start({ fleet: { maxZonesPerNode: 2, maxSeriesPerNode: 3 } });
    const { ws } = await sockets.agent(token, helloFrame('big'));
    const zones = [1, 2, 3, 4].map((i) => ({ name: `z${i}`, brand: 'lx', state: 'running' }));
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'zones', zones }));
    const ack = message(ws, 'ack');
    ws.send(JSON.stringify(samplesFrame(1, [1, 2, 3, 4, 5].map((i) => ({ f: 'node_load1', l: { cpu: String(i) }, v: i })))));
    await ack;
    expect(app.ctx.fleet.nodes.get('big')!.zones.map((z) => z.name)).toEqual(['z1', 'z2']);
    expect(app.ctx.fleet.zonesDropped).toBe(2);
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text.match(/zonescope_node_load1\{node="big"/g)).toHaveLength(3);
    expect(text).toContain('zonescope_series_dropped_total{family="node_load1"} 2');
    expect(text).toContain('zonescope_zones_dropped_total 2');
  });
});
