// A node name belongs to one agent token: a leaked agent token cannot stand in for a node whose
// agent is away, feed it fake samples and shut the real agent out. Against a real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { tempDir, zonescope } from '../helpers/cli.js';
import { helloFrame, samplesFrame } from '../helpers/frames.js';
import { closed, message, Sockets } from '../helpers/sockets.js';

describe('node ownership', () => {
  const data = tempDir();
  let srv: App;
  let port: number;
  let http: string;
  let admin: string;
  let viewer: string;
  const sockets = new Sockets(() => port);
  const start = async () => {
    srv = await buildApp({ dataDir: data });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
    http = `http://127.0.0.1:${port}`;
  };
  const get = async (path: string, token: string) => (await fetch(`${http}${path}`, { headers: { authorization: `Bearer ${token}` } })).json() as Promise<any>;
  const metrics = async () => (await fetch(`${http}/metrics`)).text();

  beforeAll(async () => {
    await start();
    admin = createToken(srv.ctx.store, 'admin', 'adm').token;
    viewer = createToken(srv.ctx.store, 'viewer', 'view').token;
  });
  afterAll(async () => {
    sockets.closeAll();
    await srv.close();
  });

  it('refuses another token for a node while its agent is away, audits it, and the real agent\'s data survives a restart', async () => {
    const owner = createToken(srv.ctx.store, 'agent', 'owner').token;
    const rogue = createToken(srv.ctx.store, 'agent', 'rogue').token;
    const real = await sockets.agent(owner, helloFrame('cn1', { epoch: 7 }));
    const ack = message(real.ws, 'ack');
    real.ws.send(JSON.stringify(samplesFrame(1, [{ f: 'node_load1', l: {}, v: 1 }])));
    await ack;
    real.ws.close();
    await closed(real.ws);

    // the agent is away: the rogue token tries the hijack of the report (max sequence, fake sample)
    const ws = await sockets.connect('/agent', { authorization: `Bearer ${rogue}` });
    const refused = closed(ws);
    ws.send(JSON.stringify(helloFrame('cn1', { epoch: 7 })));
    ws.send(JSON.stringify(samplesFrame(2 ** 53 - 1, [{ f: 'node_load1', l: {}, v: 666 }])));
    const { code, reason } = await refused;
    expect(code).toBe(1008);
    expect(reason).toMatch(/node 'cn1' belongs to another agent token/);
    const audit = (await get('/api/audit', admin)) as { actor: string; action: string; target: string }[];
    expect(audit).toContainEqual(expect.objectContaining({ actor: 'agent:rogue', action: 'node.refused', target: 'cn1', source: '127.0.0.1' }));

    // the real agent comes back and goes on where it was; nothing of the rogue's is shown
    const back = await sockets.agent(owner, helloFrame('cn1', { epoch: 7 }));
    expect(back.welcome.lastSeq).toBe(1);
    const ack2 = message(back.ws, 'ack');
    back.ws.send(JSON.stringify(samplesFrame(2, [{ f: 'node_load1', l: {}, v: 2 }])));
    await ack2;
    expect(await metrics()).toContain('zonescope_node_load1{node="cn1"} 2');
    // (the rogue's value, in any series of the node: not digits that happen to be in a heap size)
    expect(await metrics()).not.toMatch(/\{[^}\n]*node="cn1"[^}\n]*\} 666$/m);

    // and across a restart the name is still the owner's
    back.ws.close();
    await closed(back.ws);
    await srv.close();
    await start();
    const again = await sockets.connect('/agent', { authorization: `Bearer ${rogue}` });
    const refusedAgain = closed(again);
    again.send(JSON.stringify(helloFrame('cn1', { epoch: 8 })));
    expect((await refusedAgain).code).toBe(1008);
    const resumed = await sockets.agent(owner, helloFrame('cn1', { epoch: 7 }));
    expect(resumed.welcome.lastSeq).toBe(2);
    resumed.ws.close();
  });

  it('moves a node to a token made for it with `token create --role agent --node`', async () => {
    const first = createToken(srv.ctx.store, 'agent', 'first').token;
    const a = await sockets.agent(first, helloFrame('moved'));
    const r = await zonescope(['token', 'create', '--role', 'agent', '--node', 'moved', '--data', data]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const replacement = String(r.stdout).trim();
    const aClosed = closed(a.ws);
    await sockets.agent(replacement, helloFrame('moved', { epoch: 2 }));
    expect((await aClosed).code).toBe(4000);
    // the old token no longer passes for it
    const old = await sockets.connect('/agent', { authorization: `Bearer ${first}` });
    const refused = closed(old);
    old.send(JSON.stringify(helloFrame('moved', { epoch: 3 })));
    expect((await refused).code).toBe(1008);
    const bad = await zonescope(['token', 'create', '--role', 'viewer', '--node', 'moved', '--data', data]);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toMatch(/--node is for agent tokens/);
  });

  it('shows viewers no epoch or sequence positions; admins see them', async () => {
    const t = createToken(srv.ctx.store, 'agent', 'seq').token;
    await sockets.agent(t, helloFrame('seq-node', { epoch: 123456 }));
    const v = await get('/api/nodes/seq-node', viewer);
    expect(JSON.stringify(v)).not.toContain('123456');
    expect(v.seq).toEqual({ received: 0, gaps: 0 });
    expect(v.history).toEqual({ frames: 0 });
    const a = await get('/api/nodes/seq-node', admin);
    expect(a.seq.epoch).toBe(123456);
  });

  it('caps the node names one agent token may hold', async () => {
    await srv.close();
    srv = await buildApp({ dataDir: tempDir(), agents: { maxNodesPerToken: 3 } });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
    const t = createToken(srv.ctx.store, 'agent', 'many').token;
    for (let i = 0; i < 3; i++) await sockets.agent(t, helloFrame(`many-${i}`));
    const ws = await sockets.connect('/agent', { authorization: `Bearer ${t}` });
    const refused = closed(ws);
    ws.send(JSON.stringify(helloFrame('many-3')));
    const { code, reason } = await refused;
    expect(code).toBe(1008);
    expect(reason).toMatch(/already holds 3 nodes/);
    expect(srv.ctx.fleet.nodes.has('many-3')).toBe(false);
  });
});
