// Builds the server: fastify with its routes, the agent hub and the browser channel on the
// same HTTP server. Tests call buildApp() and listen on port 0.
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAX_FRAME_BYTES } from '../protocol/messages.js';
import { Auth, DEFAULT_SESSIONS } from './auth.js';
import type { SessionLimits } from './store.js';
import { DEFAULT_LOGIN_LIMIT, type LoginLimit } from './api/session.js';
import { Fleet, DEFAULT_FLEET, type FleetOptions } from './fleet.js';
import { Hub, type HubOptions } from './hub.js';
import { StoreFaults } from './store-faults.js';
import { Live } from './live.js';
import { serverMetrics } from './metrics.js';
import { fleetPieces, renderDropped, renderFleet, renderTenant, textStream } from './exposition.js';
import { ownerOf, TenantScope } from './tenant-scope.js';
import { Store } from './store.js';
import type { AppContext } from './context.js';
import { nodesApi } from './api/nodes.js';
import { sessionApi } from './api/session.js';
import { tokensApi } from './api/tokens.js';
import { scriptsApi } from './api/scripts.js';
import { tracesApi } from './api/traces.js';
import { vmsApi } from './api/vms.js';
import { procsApi } from './api/procs.js';
import { TraceManager } from './traces.js';
import { HistoryStore, DEFAULT_HISTORY_STORE, type HistoryStoreOptions } from './history-store.js';
import { TraceStore, DEFAULT_TRACE_RETENTION, type TraceRetention } from './trace-store.js';
import { AlwaysOn, type AlwaysOnSpec } from './always-on.js';
import { sdApi } from './api/sd.js';
import { profileApi } from './api/profile.js';
import { ProfileStore, type ProfileStoreOptions } from './profile-store.js';
import Type from 'typebox';

export interface AppOptions {
  dataDir: string;
  logger?: boolean | object;
  /** bearer token required on /metrics and /sd (Prometheus `authorization` config) */
  metricsToken?: string;
  fleet?: Partial<FleetOptions>;
  maxFrameBytes?: number;
  /** /agent limits: hello deadline, connection cap, nodes per token, /sd hosts */
  agents?: Partial<HubOptions>;
  /** curated scripts kept running on every node, exported as Prometheus histograms */
  alwaysOn?: AlwaysOnSpec[];
  /** continuous profiles (always-on cpu-profile): bucket length, retention, size budget */
  profiles?: Partial<ProfileStoreOptions>;
  /** where the built UI is; defaults to dist/web next to the compiled server */
  webDir?: string;
  /** serve HTTPS (and WSS on /agent and /live) on the same port: PEM certificate chain and key */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** the URL browsers use, when a proxy stands in front: the Origin they send must match it */
  publicUrl?: string;
  /** proxies (addresses, CIDRs, or loopback/linklocal/uniquelocal) whose X-Forwarded-For names
   * the client: login limits and the audit log then see the client, not the proxy */
  trustProxy?: string[];
  /** browser session lifetime (default 12 h) and idle timeout (default 1 h) */
  sessions?: Partial<SessionLimits>;
  /** login attempts per source address (default 10 a minute) */
  loginLimit?: LoginLimit;
  /** stored traces: deleted past this age, and oldest first over this many bytes (default 7 days, 1 GiB) */
  traceRetention?: Partial<TraceRetention>;
  /** how often each node's zone history is written (tests shorten it) */
  historyStore?: Partial<HistoryStoreOptions>;
}

/** A route as fastify has it: the auth matrix test walks these, so no route escapes it. */
export interface RouteEntry {
  method: string;
  url: string;
}

/** The WebSocket paths the HTTP server upgrades (not fastify routes). */
export const UPGRADE_PATHS = ['/agent', '/live'] as const;

export interface App {
  app: FastifyInstance;
  ctx: AppContext;
  live: Live;
  auth: Auth;
  /** every route registered, as method and URL pattern */
  routes: RouteEntry[];
  close(): Promise<void>;
}

// Bodies are taken as sent: coercion turned `{"action": ["stop"]}` into a stop and `"10"` into
// 10. Query strings and path parameters are text by nature, so they keep it.
const ajvPool = AjvCompiler();
type AjvOptions = Parameters<ValidatorFactory>[1] & { customOptions?: object };
const buildValidator: ValidatorFactory = (external, ajv) => {
  const custom = ajv?.customOptions ?? {};
  const text = ajvPool(external, { ...ajv, customOptions: { ...custom, coerceTypes: 'array' } } as AjvOptions);
  const body = ajvPool(external, { ...ajv, customOptions: { ...custom, coerceTypes: false } } as AjvOptions);
  return (route) => (route.httpPart === 'body' ? body : text)(route);
};

/** The UI's Content-Security-Policy: everything from this server, nothing inline, never framed. */
export function cspDirectives(tls: boolean, scriptHashes: string[] = []): Record<string, string[]> {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...scriptHashes.map((h) => `'sha256-${h}'`)],
    'style-src': ["'self'"],
    // favicon and flame graph exports (data:, blob:); canvas needs nothing
    'img-src': ["'self'", 'data:', 'blob:'],
    // the API and the /live WebSocket ('self' covers ws: and wss: on this host)
    'connect-src': ["'self'"],
    'font-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    // over plain HTTP this would send the browser to an https:// that does not exist
    ...(tls ? { 'upgrade-insecure-requests': [] } : {}),
  };
}
const cspText = (d: Record<string, string[]>) => Object.entries(d).map(([k, v]) => [k, ...v].join(' ')).join('; ');

const here = dirname(fileURLToPath(import.meta.url));

export async function buildApp(opts: AppOptions): Promise<App> {
  const options: FastifyServerOptions & { https?: object } = {
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
    // one line per request drowns the agent's own log; errors are still logged
    logController: new LogController({ disableRequestLogging: true }),
    // errors name the field: "body/durationS must be <= 3600"
    ajv: { customOptions: { allErrors: false, removeAdditional: false } },
    schemaController: { compilersFactory: { buildValidator } },
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    // never `true`: anyone could then name any address in X-Forwarded-For
    ...(opts.trustProxy?.length ? { trustProxy: opts.trustProxy } : {}),
  };
  // the HTTPS server's type differs from the HTTP one only in ways no route here depends on
  const app = Fastify(options) as unknown as FastifyInstance;
  const routes: RouteEntry[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });
  const store = new Store(opts.dataDir);
  const metrics = serverMetrics();
  const faults = new StoreFaults(store, metrics.storeErrors, app.log);
  const fleetOpts = { ...DEFAULT_FLEET, ...opts.fleet };
  const historyStore = new HistoryStore(store, faults, fleetOpts.retentionS, { ...DEFAULT_HISTORY_STORE, ...opts.historyStore });
  const fleet = new Fleet(fleetOpts, historyStore);
  historyStore.attach(fleet);
  const auth = new Auth(store, metrics, { sessions: { ...DEFAULT_SESSIONS, ...opts.sessions }, publicUrl: opts.publicUrl });
  const hub = new Hub(fleet, store, metrics, app.log, faults, { maxFrameBytes: opts.maxFrameBytes ?? MAX_FRAME_BYTES, ...opts.agents });
  // traces are made below, once the routes that feed them are; the scope asks for them lazily
  let traces: TraceManager | undefined;
  const scope = new TenantScope(fleet, (id) => traces?.get(id));
  scope.install(app);
  const live = new Live(fleet, store, metrics, auth, scope);
  const ctx: AppContext = {
    scope,
    fleet,
    store,
    hub,
    metrics,
    requireRole: (role) => auth.requireRole(role),
    tokenRevoked: (id) => {
      hub.revokeToken(id);
      live.revokeToken(id);
    },
    sessionEnded: (hash) => live.endSession(hash),
    actor: (req: FastifyRequest) => (req.user ? `${req.user.role}:${req.user.name}` : 'anonymous'),
  };

  app.server.on('upgrade', (req, socket, head) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/agent') hub.upgrade(req, socket, head);
    else if (path === '/live') live.upgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });

  const csp = cspDirectives(!!opts.tls);
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: csp },
    // HSTS over plain HTTP is ignored by browsers and would only mislead
    hsts: !!opts.tls,
    xFrameOptions: { action: 'deny' },
  });
  // per route (the login), per source address
  await app.register(fastifyRateLimit, { global: false });
  app.addHook('onRequest', auth.originGuard());

  const metricsGuard = auth.metricsGuard(opts.metricsToken);

  // degraded: the store fails (full or damaged disk) and the server runs on what it holds in memory
  app.get('/healthz', { config: { scope: 'public' } }, async () => {
    // anyone may ask: what failed, not where the files are or what SQLite said (that is logged)
    const st = faults.health();
    const store = { status: st.status, failing: st.failing.map(({ op, since, count }) => ({ op, since, count })), damaged: st.damage !== undefined };
    return { status: st.status, agents: fleet.nodes.size, connected: [...fleet.nodes.values()].filter((n) => n.up).length, store };
  });

  app.get(
    '/metrics',
    { onRequest: metricsGuard, config: { scope: 'filtered' }, schema: { querystring: Type.Object({ node: Type.Optional(Type.String({ maxLength: 256 })) }) } },
    async (req, reply) => {
      // ?node=N: one node only, as /sd hands out per-node targets (Prometheus __param_node)
      const { node } = req.query as { node?: string };
      reply.type('text/plain; version=0.0.4; charset=utf-8');
      // a tenant's scrape: its zones' series only, never the nodes' or the server's own
      const owner = ownerOf(req);
      if (owner !== null) {
        const nodes = scope.nodes(owner).filter((n) => node === undefined || n.node === node);
        const keep = (n: string, z: string) => { const st = fleet.nodes.get(n); return !!st && scope.zones(owner, st).some((x) => x.name === z); };
        return renderTenant(nodes.map((n) => ({ node: n, zones: scope.zones(owner, n) }))) + alwaysOn.render(node, keep);
      }
      if (node !== undefined) return renderFleet(fleet, node) + alwaysOn.render(node);
      return reply.send(textStream([...fleetPieces(fleet), alwaysOn.render(), await metrics.registry.metrics()]));
    },
  );
  // the server's own metrics alone: /sd's per-node targets do not carry them, so a
  // Prometheus using /sd scrapes this as a second job (see server/deploy/prometheus.example.yml)
  app.get('/metrics/server', { onRequest: metricsGuard, config: { scope: 'unscoped' } }, async (_req, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return renderDropped(fleet) + (await metrics.registry.metrics());
  });
  await app.register(sdApi(ctx, metricsGuard));

  await app.register(sessionApi(ctx, auth, opts.loginLimit ?? DEFAULT_LOGIN_LIMIT));
  await app.register(nodesApi(ctx));
  await app.register(tokensApi(ctx));
  const traceStore = new TraceStore(store, faults, { ...DEFAULT_TRACE_RETENTION, ...opts.traceRetention });
  const tm = new TraceManager(fleet, hub, store, metrics, {
    // each browser hears only of the traces its principal may see
    changed: (trace) => live.broadcast({ type: 'trace', trace }, (owner) => scope.traceVisible(owner, tm.get(trace.id))),
  }, { store: traceStore, log: app.log });
  traces = tm;
  // a zone that changes owner mid-trace stops feeding the tenant that started the trace
  // (once: the agent's end of it arrives a moment later, after more fleet changes)
  const movedAway = new Set<string>();
  fleet.on('change', () => {
    const active = tm.active();
    for (const id of movedAway) if (!active.some((t) => t.id === id)) movedAway.delete(id);
    for (const t of active) {
      if (!t.owner || movedAway.has(t.id) || scope.stillOwned(t.owner, t.node, t.zone)) continue;
      movedAway.add(t.id);
      tm.stop(t.id, 'server');
    }
  });
  const profiles = new ProfileStore(store.db, opts.profiles, (op, fn) => faults.attempt(op, fn));
  const profileFlush = setInterval(() => profiles.flush(), Math.min(5000, profiles.opts.bucketMs / 2)).unref();
  const alwaysOn = new AlwaysOn(opts.alwaysOn ?? [], fleet, hub, tm, app.log, undefined, profiles);
  // each restart of an always-on script is the server's own doing: audited once, here
  if (opts.alwaysOn?.length) store.audit('server', 'always-on.configure', opts.alwaysOn.map((a) => `${a.script}@${a.zones.join(',')}`).join(' '), {});
  await app.register(scriptsApi(ctx));
  await app.register(tracesApi(ctx, tm));
  await app.register(profileApi(ctx, profiles, tm));
  await app.register(vmsApi(ctx));
  await app.register(procsApi(ctx));

  const webDir = opts.webDir ?? resolve(here, '../web');
  if (existsSync(join(webDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDir, wildcard: false });
    app.setNotFoundHandler((req, reply) => {
      if (req.method === 'GET' && !req.url.startsWith('/api/') && req.headers.accept?.includes('text/html')) return reply.sendFile('index.html');
      return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
    });
  } else {
    const page = placeholderPage();
    // its one inline script is allowed by hash, and nothing else inline
    const header = cspText(cspDirectives(!!opts.tls, [createHash('sha256').update(page.script).digest('base64')]));
    app.get('/', async (_req, reply) => reply.type('text/html').header('content-security-policy', header).send(page.html));
  }

  return {
    app,
    ctx,
    live,
    auth,
    routes,
    async close() {
      alwaysOn.close();
      clearInterval(profileFlush);
      faults.attempt('write profile', () => profiles.close());
      tm.close();
      hub.close();
      // after the hub: no frame comes in once the last chunks are written
      historyStore.close();
      live.close();
      await app.close();
      store.close();
    },
  };
}

/** Shown when the UI has not been built: still shows the fleet, from the API. */
function placeholderPage(): { html: string; script: string } {
  const script = `
f.onsubmit = async (e) => { e.preventDefault();
  const h = { authorization: 'Bearer ' + t.value };
  const nodes = await (await fetch('/api/nodes', { headers: h })).json();
  for (const n of nodes) n.zones = await (await fetch('/api/nodes/' + encodeURIComponent(n.node) + '/zones', { headers: h })).json();
  o.textContent = JSON.stringify(nodes, null, 2); };
`;
  const html = `<!doctype html><meta charset="utf-8"><title>zonescope</title>
<h1>zonescope</h1><p>The web UI is not built (run <code>npm run build</code>). The fleet, from the API:</p>
<form id="f"><input id="t" placeholder="token" size="60"><button>Show fleet</button></form><pre id="o"></pre>
<script>${script}</script>`;
  return { html, script };
}
