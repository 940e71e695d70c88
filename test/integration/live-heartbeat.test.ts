// /live over a real socket with a short heartbeat: a browser whose connection went half-open
// (it never answers pings) is dropped, a live one stays, and a token revoked in the store by
// another process (`zonescope token revoke`) cuts its browsers at the next heartbeat. 1 s, not
// less: one event-loop stall of a loaded machine must not look like a missed pong.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer, type Server } from 'node:http';
import { connect as tcp } from 'node:net';
import { Live } from '../../server/live.js';
import { Fleet } from '../../server/fleet.js';
import { TenantScope } from '../../server/tenant-scope.js';
import { Store } from '../../server/store.js';
import { serverMetrics } from '../../server/metrics.js';
import { Auth, createToken, DEFAULT_SESSIONS } from '../../server/auth.js';
import { tempDir } from '../helpers/cli.js';

describe('/live heartbeat', () => {
  const HEARTBEAT_MS = 1000;
  let store: Store;
  let live: Live;
  let http: Server;
  let port: number;
  const metrics = serverMetrics();
  const clients = async () => Number(/zonescope_live_clients (\d+)/.exec(await metrics.registry.metrics())?.[1]);

  beforeAll(async () => {
    store = new Store(tempDir());
    const fleet = new Fleet();
    live = new Live(fleet, store, metrics, new Auth(store, metrics, { sessions: DEFAULT_SESSIONS }), new TenantScope(fleet, () => undefined), HEARTBEAT_MS);
    http = createServer();
    http.on('upgrade', (req, socket, head) => live.upgrade(req, socket, head));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    port = (http.address() as { port: number }).port;
  });
  afterAll(async () => {
    live.close();
    await new Promise((r) => http.close(r));
    store.close();
  });

  it('drops a browser that stopped answering pings and keeps one that answers', async () => {
    const { token } = createToken(store, 'viewer', 'v');
    const good = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => good.once('open', r));
    // a raw socket that completes the handshake and then says nothing: what a half-open TCP looks like
    const dead = tcp(port, '127.0.0.1');
    let handshook = false;
    const gone = new Promise<boolean>((res) => {
      dead.on('close', () => res(true));
      setTimeout(() => res(false), HEARTBEAT_MS * 10);
    });
    dead.on('data', (d) => (handshook ||= /^HTTP\/1\.1 101/.test(String(d))));
    dead.write(
      `GET /live HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    expect(await gone).toBe(true);
    expect(handshook).toBe(true);
    // the server's side of the close lands a moment later
    await expect.poll(clients).toBe(1);
    expect(good.readyState).toBe(WebSocket.OPEN);
    good.terminate();
  });

  it('cuts a browser whose token was revoked directly in the store', async () => {
    const { token, row } = createToken(store, 'viewer', 'cli-revoked');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((res) => {
      ws.once('close', (code) => res(code));
      setTimeout(() => res(0), HEARTBEAT_MS * 10);
    });
    store.revokeToken(row.id, 'cli');
    expect(await closed).toBe(1008);
  });
});
