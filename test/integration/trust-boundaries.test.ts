// The server's trust boundaries, against a real server on loopback: malformed
// cookies, revoked tokens, one node's name claimed by another agent token, metrics URLs in a
// hello (unparsable, or naming someone else's host), and the session cookie behind a TLS proxy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connect as tcp } from 'node:net';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { tempDir } from '../helpers/cli.js';
import { helloFrame } from '../helpers/frames.js';
import { closed, message, Sockets } from '../helpers/sockets.js';

const hello = helloFrame;

describe('server trust boundaries', () => {
  let srv: App;
  let port: number;
  let http: string;
  let admin: string;

  const sockets = new Sockets(() => port);
  const ws = (path: string, headers: Record<string, string>) => sockets.connect(path, headers);
  const api = (path: string, token: string, init: RequestInit = {}) =>
    fetch(`${http}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });

  beforeAll(async () => {
    srv = await buildApp({ dataDir: tempDir() });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
    http = `http://127.0.0.1:${port}`;
    admin = createToken(srv.ctx.store, 'admin', 'adm').token;
  });
  afterAll(async () => {
    sockets.closeAll();
    await srv.close();
  });

  it('answers a malformed session cookie with 401, on the API and on both WebSocket upgrades, and keeps serving', async () => {
    const bad = { cookie: 'zs_session=%E0%A4%A' };
    const r = await fetch(`${http}/api/nodes`, { headers: bad });
    expect(r.status).toBe(401);
    expect((await fetch(`${http}/api/session`, { headers: bad })).status).toBe(200);
    for (const path of ['/agent', '/live']) {
      // a raw upgrade, as anyone on the network could send it: the answer must be a 401
      const answer = await new Promise<string>((res, rej) => {
        const s = tcp(port, '127.0.0.1', () =>
          s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: zs_session=%\r\n\r\n`),
        );
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('close', () => res(got));
        s.on('error', rej);
        setTimeout(() => s.destroy(), 2000);
      });
      expect(answer, path).toMatch(/^HTTP\/1\.1 401/);
    }
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  });

  it('cuts the agent and browser connections of a token when it is revoked', async () => {
    const agent = createToken(srv.ctx.store, 'agent', 'rev-agent');
    const viewer = createToken(srv.ctx.store, 'viewer', 'rev-viewer');
    const a = await ws('/agent', { authorization: `Bearer ${agent.token}` });
    const welcome = message(a, 'welcome');
    a.send(JSON.stringify(hello('rev-node')));
    await welcome;
    const l = await ws('/live', { authorization: `Bearer ${viewer.token}` });
    const aClosed = closed(a);
    const lClosed = closed(l);
    for (const id of [agent.row.id, viewer.row.id]) expect((await api(`/api/tokens/${id}`, admin, { method: 'DELETE' })).status).toBe(200);
    const timeout = new Promise<{ code: number }>((res) => setTimeout(() => res({ code: 0 }), 3000));
    expect((await Promise.race([aClosed, timeout])).code).toBe(1008);
    expect((await Promise.race([lClosed, timeout])).code).toBe(1008);
    expect(srv.ctx.fleet.nodes.get('rev-node')?.up).toBe(false);
  });

  it('does not let a second agent token take over a connected node', async () => {
    const owner = createToken(srv.ctx.store, 'agent', 'owner').token;
    const other = createToken(srv.ctx.store, 'agent', 'other').token;
    const a = await ws('/agent', { authorization: `Bearer ${owner}` });
    const w1 = message(a, 'welcome');
    a.send(JSON.stringify(hello('cn-owned')));
    await w1;
    const b = await ws('/agent', { authorization: `Bearer ${other}` });
    const bClosed = closed(b);
    b.send(JSON.stringify(hello('cn-owned', { epoch: 2 })));
    const { code, reason } = await bClosed;
    expect(code).toBe(1008);
    expect(reason).toMatch(/cn-owned.*another agent token/);
    await new Promise((r) => setTimeout(r, 100));
    expect(a.readyState).toBe(WebSocket.OPEN);
    expect(srv.ctx.fleet.nodes.get('cn-owned')?.hello.epoch).toBe(1);
    // the same token may replace its own connection (an agent restarted over a half-open one)
    const c = await ws('/agent', { authorization: `Bearer ${owner}` });
    const aClosed = closed(a);
    const w3 = message(c, 'welcome');
    c.send(JSON.stringify(hello('cn-owned', { epoch: 3 })));
    await w3;
    expect((await aClosed).code).toBe(4000);
  });

  it('keeps /sd answering when one agent announces a metrics URL that does not parse', async () => {
    const t = createToken(srv.ctx.store, 'agent', 'sd').token;
    const good = await ws('/agent', { authorization: `Bearer ${t}` });
    const w1 = message(good, 'welcome');
    good.send(JSON.stringify(hello('sd-good', { metricsUrl: 'http://127.0.0.1:9101/metrics' })));
    await w1;
    const bad = await ws('/agent', { authorization: `Bearer ${t}` });
    const w2 = message(bad, 'welcome');
    bad.send(JSON.stringify(hello('sd-bad', { metricsUrl: 'not a url' })));
    await w2;
    const r = await fetch(`${http}/sd`);
    expect(r.status).toBe(200);
    const groups = (await r.json()) as { targets: string[]; labels: Record<string, string> }[];
    const by = new Map(groups.map((g) => [g.labels.__meta_zonescope_node, g]));
    expect(by.get('sd-good')!.targets).toEqual(['127.0.0.1:9101']);
    // scraped through the server instead, like a node without --metrics-listen
    expect(by.get('sd-bad')!.labels).toMatchObject({ __param_node: 'sd-bad', __meta_zonescope_direct: 'false' });
  });

  it('lists an announced metrics URL in /sd only on the address the agent connected from (no SSRF through Prometheus)', async () => {
    const t = createToken(srv.ctx.store, 'agent', 'ssrf').token;
    const announce = async (node: string, metricsUrl: string) => {
      const w = await ws('/agent', { authorization: `Bearer ${t}` });
      const welcome = message(w, 'welcome');
      w.send(JSON.stringify(hello(node, { metricsUrl })));
      await welcome;
    };
    await announce('sd-metadata', 'http://169.254.169.254/latest/meta-data/');
    await announce('sd-file', 'file:///etc/passwd');
    await announce('sd-named', 'https://internal.example:9101/metrics');
    const groups = (await (await fetch(`${http}/sd`)).json()) as { targets: string[]; labels: Record<string, string> }[];
    const by = new Map(groups.map((g) => [g.labels.__meta_zonescope_node, g]));
    expect(JSON.stringify(groups)).not.toMatch(/169\.254|internal\.example|etc\/passwd/);
    // the agent's own address (loopback here), with the port and path it announced
    expect(by.get('sd-metadata')!.targets).toEqual(['127.0.0.1']);
    expect(by.get('sd-metadata')!.labels.__metrics_path__).toBe('/latest/meta-data/');
    expect(by.get('sd-named')!.targets).toEqual(['127.0.0.1:9101']);
    expect(by.get('sd-named')!.labels.__scheme__).toBe('https');
    // not http(s): scraped through the server
    expect(by.get('sd-file')!.labels).toMatchObject({ __param_node: 'sd-file', __meta_zonescope_direct: 'false' });
  });

  it('lists a host an admin allowed with --sd-allow-hosts as announced', async () => {
    const other = await buildApp({ dataDir: tempDir(), agents: { sdAllowHosts: ['scrape.example'] } });
    try {
      await other.app.listen({ port: 0, host: '127.0.0.1' });
      const p = (other.app.server.address() as { port: number }).port;
      const t = createToken(other.ctx.store, 'agent', 'allowed').token;
      const s2 = new Sockets(() => p);
      await s2.agent(t, hello('sd-allowed', { metricsUrl: 'http://scrape.example:9101/metrics' }));
      const groups = (await (await fetch(`http://127.0.0.1:${p}/sd`)).json()) as { targets: string[] }[];
      expect(groups[0].targets).toEqual(['scrape.example:9101']);
      s2.closeAll();
    } finally {
      await other.close();
    }
  });

  it('marks the session cookie Secure when the browser reached the server over TLS through a proxy', async () => {
    const viewer = createToken(srv.ctx.store, 'viewer', 'tls').token;
    const login = (headers: Record<string, string>) =>
      fetch(`${http}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token: viewer }) });
    const viaProxy = await login({ 'x-forwarded-proto': 'https' });
    expect(viaProxy.status).toBe(200);
    expect(viaProxy.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict; Secure/);
    const plain = await login({});
    expect(plain.headers.get('set-cookie')).not.toMatch(/Secure/);
  });
});
