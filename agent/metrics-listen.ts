// --metrics-listen: the agent serves its own node's /metrics, for fleets large enough that
// Prometheus should scrape the nodes directly. Same Fleet and exposition code as the server,
// fed with the same frames, so both expositions are identical for the node.
import { createServer, type Server } from 'node:http';
import type { Hello, Samples, Zone } from '../protocol/messages.js';
import { Fleet } from '../server/fleet.js';
import { renderFleet } from '../server/exposition.js';
import { safeEqual, bearer } from '../server/auth.js';

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
  const fleet = new Fleet();
  let node = '';
  const server: Server = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') return void res.writeHead(404).end('not found: try /metrics\n');
    const t = bearer(req.headers.authorization);
    if (token && (!t || !safeEqual(t, token))) return void res.writeHead(401).end('missing or invalid metrics token\n');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(renderFleet(fleet));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(port, host, () => ok()));
  const actual = (server.address() as { port: number }).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? advertiseHost : host;
  return {
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${actual}/metrics`,
    hello(h) {
      node = h.node;
      fleet.connect(h, { epoch: h.epoch, last: 0, received: 0, gaps: 0 });
    },
    zones: (z) => fleet.setZones(node, z),
    samples: (f) => void fleet.addSamples(node, f),
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
