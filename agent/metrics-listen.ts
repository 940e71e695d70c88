// --metrics-listen: the agent serves its own node's /metrics, for fleets large enough that
// Prometheus should scrape the nodes directly. The same exposition functions as the server's
// (protocol/exposition.ts), fed with the same frames, so both say the same for the node.
import { createServer, type Server } from 'node:http';
import type { Hello, Samples, Zone } from '../protocol/messages.js';
import { MAX_SERIES_PER_FAMILY, renderNodes, renderPoints, type NodeExposition } from '../protocol/exposition.js';
import { metricsAuthorized } from '../protocol/bearer.js';

export interface MetricsListener {
  url: string;
  hello(h: Hello): void;
  zones(z: Zone[]): void;
  samples(f: Samples): void;
  close(): Promise<void>;
}

/** "9100", ":9100", "127.0.0.1:9100", "[::1]:9100" → host and port */
export function parseListen(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(addr.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !Number.isInteger(port) || port > 65535) throw new Error(`--metrics-listen: '${addr}' is not [HOST]:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export async function listenMetrics(addr: string, advertiseHost: string, token?: string): Promise<MetricsListener> {
  const { host, port } = parseListen(addr);
  let node: NodeExposition | undefined;
  let latest = 0;
  const server: Server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') return void res.writeHead(404).end('not found: try /metrics\n');
    if (token && !metricsAuthorized(req.headers.authorization, token)) return void res.writeHead(401).end('missing or invalid metrics token\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(node ? renderNodes([node]) : '');
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, () => ok()));
  const actual = (server.address() as { port: number }).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? advertiseHost : host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${actual}/metrics`,
    hello(h) {
      if (node?.hello.epoch !== h.epoch) latest = 0;
      node = { node: h.node, up: true, lastSeen: Date.now(), hello: h, seq: { gaps: 0 }, zones: node?.zones ?? [], rendered: node?.hello.epoch === h.epoch ? node.rendered : new Map() };
    },
    zones(z) {
      if (!node) return;
      node.zones = z;
      node.lastSeen = Date.now();
    },
    samples(f) {
      if (!node) return;
      node.lastSeen = Date.now();
      // a resent backlog may arrive after newer frames: only the newest is exposed
      if (f.time < latest) return;
      latest = f.time;
      node.rendered = renderPoints(node.node, f.points, MAX_SERIES_PER_FAMILY, { unknownFamily() {}, overCap() {} });
    },
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
