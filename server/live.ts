// Pushes to browsers on /live: the fleet on connect and on change (at most once a second),
// sample arrivals, and trace progress. Same tokens and roles as the API.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { cookie, requestToken, SESSION_COOKIE, verifyToken } from './auth.js';
import type { Fleet } from './fleet.js';
import type { ServerMetrics } from './metrics.js';
import type { Store } from './store.js';
import { nodeSummary } from './api/nodes.js';

export class Live {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private fleetTimer?: NodeJS.Timeout;
  private lastFleet = 0;

  constructor(private readonly fleet: Fleet, private readonly store: Store, private readonly metrics: ServerMetrics) {
    fleet.on('change', () => this.scheduleFleet());
    fleet.on('samples', (node: string, frame: { time: number; seq: number }) => this.broadcast({ type: 'samples', node, time: frame.time, seq: frame.seq }));
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const q = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
    const token = requestToken(req) ?? q ?? cookie(req.headers.cookie, SESSION_COOKIE);
    const user = verifyToken(this.store, token);
    if (!user || user.role === 'agent') {
      this.metrics.authFailures.inc({ endpoint: '/live' });
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.client(ws));
  }

  broadcast(msg: object): void {
    if (!this.wss.clients.size) return;
    const text = JSON.stringify(msg);
    for (const ws of this.wss.clients) if (ws.readyState === ws.OPEN && ws.bufferedAmount < 4 * 1024 * 1024) ws.send(text);
  }

  close(): void {
    clearTimeout(this.fleetTimer);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private client(ws: WebSocket): void {
    this.metrics.liveClients.set(this.wss.clients.size);
    ws.send(JSON.stringify(this.fleetMessage()));
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

  private fleetMessage() {
    return { type: 'fleet', nodes: [...this.fleet.nodes.values()].map(nodeSummary) };
  }

  private scheduleFleet(): void {
    if (this.fleetTimer) return;
    const wait = Math.max(0, this.lastFleet + 1000 - Date.now());
    this.fleetTimer = setTimeout(() => {
      this.fleetTimer = undefined;
      this.lastFleet = Date.now();
      this.broadcast(this.fleetMessage());
    }, wait);
    this.fleetTimer.unref();
  }
}
