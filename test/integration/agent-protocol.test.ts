// Bad input on /agent and the token checks, against a real server on loopback: each bad frame
// closes only its own connection, with a code and a reason naming the problem, is counted,
// and a well-behaved agent connected meanwhile keeps streaming.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../protocol/messages.js';
import { tempDir } from '../helpers/cli.js';
import { helloFrame, samplesFrame } from '../helpers/frames.js';

const hello = (node: string) => helloFrame(node);
const samples = (seq: number) => samplesFrame(seq, [{ f: 'zone_memory_rss_bytes', l: { zone: 'global' }, v: 1024 * seq }]);

describe('/agent refuses bad input', () => {
  let srv: App;
  let url: string;
  let http: string;
  let agentToken: string;
  let viewer: string;
  let admin: string;
  const open: WebSocket[] = [];

  const connect = (token?: string) =>
    new Promise<WebSocket>((res, rej) => {
      const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      open.push(ws);
      ws.once('open', () => res(ws));
      ws.once('unexpected-response', (_req, r) => rej(Object.assign(new Error(`HTTP ${r.statusCode}`), { status: r.statusCode })));
      ws.once('error', rej);
    });
  const closed = (ws: WebSocket) => new Promise<{ code: number; reason: string }>((res) => ws.once('close', (code, reason) => res({ code, reason: reason.toString() })));
  const rejected = async (reason: string) => {
    const m = await (await fetch(`${http}/metrics`)).text();
    return Number(new RegExp(`zonescope_agent_frames_rejected_total\\{reason="${reason}"\\} (\\d+)`).exec(m)?.[1] ?? 0);
  };

  beforeAll(async () => {
    srv = await buildApp({ dataDir: tempDir() });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (srv.app.server.address() as { port: number }).port;
    url = `ws://127.0.0.1:${port}/agent`;
    http = `http://127.0.0.1:${port}`;
    agentToken = createToken(srv.ctx.store, 'agent', 'a').token;
    viewer = createToken(srv.ctx.store, 'viewer', 'v').token;
    admin = createToken(srv.ctx.store, 'admin', 'adm').token;
  });
  afterAll(async () => {
    for (const ws of open) ws.terminate();
    await srv.close();
  });

  it('closes each bad frame\'s connection with a reason, counts it, and keeps the good agent streaming', async () => {
    const good = await connect(agentToken);
    const acks: number[] = [];
    good.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'ack') acks.push(m.seq);
    });
    good.send(JSON.stringify(hello('good-node')));
    let seq = 0;
    const pump = setInterval(() => good.send(JSON.stringify(samples(++seq))), 50);

    const cases: { name: string; send: (ws: WebSocket) => void; reason: string; code: number; says: RegExp }[] = [
      { name: 'not JSON', send: (ws) => ws.send('hello there'), reason: 'not-json', code: 1007, says: /not JSON/ },
      { name: 'wrong shape', send: (ws) => ws.send(JSON.stringify({ ...hello('bad'), node: 42 })), reason: 'bad-shape', code: 1007, says: /hello: node/ },
      { name: 'unknown type', send: (ws) => ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'teleport' })), reason: 'unknown-type', code: 1008, says: /unknown message type "teleport"/ },
      { name: 'wrong version', send: (ws) => ws.send(JSON.stringify({ ...hello('bad'), v: 99 })), reason: 'bad-version', code: 1008, says: /protocol version 99/ },
      { name: 'too large', send: (ws) => ws.send('x'.repeat(MAX_FRAME_BYTES + 10)), reason: 'too-large', code: 1009, says: /over the \d+-byte limit/ },
      { name: 'samples before hello', send: (ws) => ws.send(JSON.stringify(samples(1))), reason: 'no-hello', code: 1008, says: /first frame must be hello/ },
    ];
    for (const c of cases) {
      const before = await rejected(c.reason);
      const ws = await connect(agentToken);
      const done = closed(ws);
      c.send(ws);
      const { code, reason } = await done;
      expect(code, c.name).toBe(c.code);
      expect(reason, c.name).toMatch(c.says);
      expect(await rejected(c.reason), c.name).toBe(before + 1);
    }

    // acks keep coming after all that
    const seen = acks.length;
    await expect.poll(() => acks.length).toBeGreaterThan(seen);
    clearInterval(pump);
    expect(good.readyState).toBe(WebSocket.OPEN);
    // every frame the good agent sent was taken, in order, none lost
    const n = srv.ctx.fleet.nodes.get('good-node')!;
    expect(n.seq.gaps).toBe(0);
    expect(n.seq.received).toBeGreaterThanOrEqual(acks.length - 1);
  });

  it('refuses the upgrade with 401 without a valid agent token', async () => {
    await expect(connect()).rejects.toMatchObject({ status: 401 });
    await expect(connect('zs_agent_not-a-real-token')).rejects.toMatchObject({ status: 401 });
    await expect(connect(viewer)).rejects.toMatchObject({ status: 401 });
  });

  it('answers 401 on every /api route without a token, and 403 to a viewer creating tokens', async () => {
    const routes = srv.app.printRoutes({ commonPrefix: false });
    const paths = ['/api/nodes', '/api/nodes/x', '/api/nodes/x/zones', '/api/nodes/x/zones/y/history', '/api/me', '/api/tokens', '/api/audit'];
    for (const p of paths) {
      expect(routes).toContain(p.replace('/x', '/:node').replace('/y', '/:zone').split('/').pop());
      const r = await fetch(`${http}${p}`);
      expect(r.status, p).toBe(401);
      const bad = await fetch(`${http}${p}`, { headers: { authorization: 'Bearer nope' } });
      expect(bad.status, p).toBe(401);
    }
    const create = (token: string) =>
      fetch(`${http}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'admin', name: 'x' }) });
    const v = await create(viewer);
    expect(v.status).toBe(403);
    expect((await v.json()).message).toMatch(/viewer/);
    const a = await create(admin);
    expect(a.status).toBe(201);
    expect((await a.json()).token).toMatch(/^zs_admin_/);
    const audit = await (await fetch(`${http}/api/audit`, { headers: { authorization: `Bearer ${admin}` } })).json();
    expect(audit[0]).toMatchObject({ action: 'token.create', actor: 'admin:adm' });
  });
});
