// Pushes to browsers on /live: the fleet on connect and on change (at most once a second),
// sample arrivals, and trace progress. Same sessions, tokens and roles as the API; never a token
// in the URL (URLs end up in logs and browser history), and a browser's Origin must be ours.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { allows, type Auth } from './auth.js';
import type { Fleet } from './fleet.js';
import type { ServerMetrics } from './metrics.js';
import type { Store } from './store.js';
import { nodeSummary } from './api/nodes.js';
import type { TenantScope } from './tenant-scope.js';

export class Live {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private fleetTimer?: NodeJS.Timeout;
  private lastFleet = 0;
  /** the token (and session) each browser authenticated with: revoking or logging out cuts it off */
  private readonly tokenOf = new WeakMap<WebSocket, { token: number; session?: string; owner: string | null }>();
  /** browsers that answered the last ping */
  private readonly alive = new WeakSet<WebSocket>();
  private readonly pinger: NodeJS.Timeout;

  constructor(
    private readonly fleet: Fleet,
    private readonly store: Store,
    private readonly metrics: ServerMetrics,
    private readonly auth: Auth,
    private readonly scope: TenantScope,
    heartbeatMs = 30_000,
  ) {
    // a laptop that sleeps leaves a half-open socket that never closes by itself, and every
    // broadcast would pile up in its send buffer
    this.pinger = setInterval(() => this.heartbeat(), heartbeatMs).unref();
    fleet.on('change', () => this.scheduleFleet());
    // no sequence number: viewers see no agent sequence internals (see GET /api/nodes/:node)
    fleet.on('samples', (node: string, frame: { time: number }) => {
      const n = fleet.nodes.get(node);
      this.broadcast({ type: 'samples', node, time: frame.time }, (owner) => !!n && scope.nodeVisible(owner, n));
    });
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: string, why: string) => void socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
    const c = this.auth.caller(req.headers);
    const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
    const foreign = this.auth.originRefusal(req.headers, encrypted, { method: 'GET', cookie: !!c?.session, live: true });
    if (foreign) {
      this.auth.failed('/live', 'origin');
      return refuse('403 Forbidden', foreign);
    }
    if (!c) {
      this.auth.failed('/live', 'token');
      return refuse('401 Unauthorized', 'log in first: no valid session cookie or bearer token');
    }
    if (!allows(c.user.role, 'viewer')) return refuse('403 Forbidden', `role '${c.user.role}' may not do this (needs 'viewer')`);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.tokenOf.set(ws, { token: c.user.id, session: c.session, owner: c.user.owner });
      this.client(ws);
    });
  }

  /** A token was revoked: browsers logged in with it stop receiving the fleet now. */
  revokeToken(id: number): void {
    for (const ws of this.wss.clients) if (this.tokenOf.get(ws)?.token === id) ws.close(1008, 'token revoked');
  }

  /** A session ended (logout): its browsers stop receiving the fleet now. */
  endSession(hash: string): void {
    for (const ws of this.wss.clients) if (this.tokenOf.get(ws)?.session === hash) ws.close(1008, 'session ended');
  }

  /** Sends `msg` to every browser whose principal `visible` lets see it (all when omitted). */
  broadcast(msg: object, visible?: (owner: string | null) => boolean): void {
    this.each(() => msg, visible);
  }

  /** Sends each browser what `make` says for its principal's owner, made once per owner. */
  private each(make: (owner: string | null) => object, visible?: (owner: string | null) => boolean): void {
    if (!this.wss.clients.size) return;
    const texts = new Map<string | null, string | undefined>();
    for (const ws of this.wss.clients) {
      if (ws.readyState !== ws.OPEN || ws.bufferedAmount >= 4 * 1024 * 1024) continue;
      // a connection whose principal is unknown hears nothing (none are made without one)
      const by = this.tokenOf.get(ws);
      if (!by) continue;
      if (!texts.has(by.owner)) texts.set(by.owner, !visible || visible(by.owner) ? JSON.stringify(make(by.owner)) : undefined);
      const text = texts.get(by.owner);
      if (text !== undefined) ws.send(text);
    }
  }

  close(): void {
    clearInterval(this.pinger);
    clearTimeout(this.fleetTimer);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private client(ws: WebSocket): void {
    this.metrics.liveClients.set(this.wss.clients.size);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.send(JSON.stringify(this.fleetMessage(this.tokenOf.get(ws)?.owner ?? null)));
    ws.on('message', (data) => {
      try {
        if (JSON.parse(String(data))?.type === 'ping') ws.send(JSON.stringify({ type: 'pong', time: Date.now() }));
      } catch {
        ws.close(1007, 'frames are JSON');
      }
    });
    ws.on('close', () => this.metrics.liveClients.set(this.wss.clients.size));
    ws.on('error', () => ws.terminate());
  }

  private heartbeat(): void {
    for (const ws of this.wss.clients) {
      const by = this.tokenOf.get(ws);
      // revoked elsewhere (`zonescope token revoke` writes the store from another process)
      if (by && !this.store.tokenActive(by.token)) ws.close(1008, 'token revoked');
      // expired or idle: an open page alone does not keep a session alive (touch = false)
      else if (by?.session && !this.store.sessionToken(by.session, this.auth.sessions, Date.now(), false)) ws.close(1008, 'session ended');
      else if (!this.alive.delete(ws)) ws.terminate();
      else ws.ping();
    }
  }

  private fleetMessage(owner: string | null) {
    return { type: 'fleet', nodes: this.scope.nodes(owner).map((n) => nodeSummary(n, this.scope.zones(owner, n), owner !== null)) };
  }

  private scheduleFleet(): void {
    if (this.fleetTimer) return;
    const wait = Math.max(0, this.lastFleet + 1000 - Date.now());
    this.fleetTimer = setTimeout(() => {
      this.fleetTimer = undefined;
      this.lastFleet = Date.now();
      this.each((owner) => this.fleetMessage(owner));
    }, wait);
    this.fleetTimer.unref();
  }
}
