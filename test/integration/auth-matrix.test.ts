// Every route the running server has × every kind of caller, in one table. Routes come from
// fastify itself (and the WebSocket upgrade paths from the app), so a route added without an
// entry in ROLES fails this test instead of escaping it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, UPGRADE_PATHS, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import type { Role } from '../../server/store.js';
import { tempDir } from '../helpers/cli.js';

/** Who may use each route: a role, anyone (public), anyone who sends a body (login), or the
 * metrics token only (the server below runs with --metrics-token). */
type Need = Role | 'public' | 'metrics';
const ROLES: Record<string, Need> = {
  'GET /healthz': 'public',
  'GET /metrics': 'metrics',
  'GET /metrics/server': 'metrics',
  'GET /sd': 'metrics',
  'POST /api/session': 'public',
  'GET /api/session': 'public',
  'DELETE /api/session': 'public',
  'GET /api/me': 'viewer',
  'GET /api/nodes': 'viewer',
  'GET /api/nodes/:node': 'viewer',
  'GET /api/nodes/:node/zones': 'viewer',
  'GET /api/nodes/:node/zones/:zone/history': 'viewer',
  'GET /api/nodes/:node/zones/:zone/profile': 'viewer',
  'GET /api/nodes/:node/zones/:zone/processes': 'viewer',
  'POST /api/nodes/:node/zones/:zone/actions': 'operator',
  'GET /api/scripts': 'viewer',
  'POST /api/traces': 'operator',
  'GET /api/traces': 'viewer',
  'GET /api/traces/:id': 'viewer',
  'GET /api/traces/:id/intervals': 'viewer',
  'GET /api/traces/:id/folded': 'viewer',
  'GET /api/traces/:id/pprof': 'viewer',
  'DELETE /api/traces/:id': 'operator',
  'GET /api/tokens': 'admin',
  'POST /api/tokens': 'admin',
  'DELETE /api/tokens/:id': 'admin',
  'GET /api/audit': 'admin',
  // the built UI's files
  'GET /': 'public',
  'GET /index.html': 'public',
  'GET /assets/app.js': 'public',
  // WebSocket upgrades
  'GET /agent': 'agent',
  'GET /live': 'viewer',
};

const CALLERS = ['none', 'bad token', 'revoked', 'agent', 'viewer', 'operator', 'admin', 'cookie, foreign Origin', 'metrics token'] as const;
type Caller = (typeof CALLERS)[number];

/** What a caller gets from a route: allowed (anything but 401/403), or the refusal's status. */
function expected(need: Need, caller: Caller, path: string): 'allowed' | 401 | 403 {
  // a session cookie sent from another site's page is refused on every HTTP route and on /live
  // (/agent takes no cookie at all, so it is just unauthenticated there)
  if (caller === 'cookie, foreign Origin') return path === '/agent' ? 401 : 403;
  if (need === 'public') return 'allowed';
  if (need === 'metrics') return caller === 'metrics token' ? 'allowed' : 401;
  if (['none', 'bad token', 'revoked', 'metrics token'].includes(caller)) return 401;
  // the agent channel does not tell a user's token from a wrong one
  if (need === 'agent') return caller === 'agent' ? 'allowed' : 401;
  const rank = { agent: -1, viewer: 0, operator: 1, admin: 2 }[caller as Role];
  return rank >= { viewer: 0, operator: 1, admin: 2 }[need] ? 'allowed' : 403;
}

describe('auth matrix: every route × every caller', () => {
  let srv: App;
  let port: number;
  let headers: Record<Caller, Record<string, string>>;
  const METRICS = 'matrix-scrape-token';

  beforeAll(async () => {
    const webDir = tempDir('zs-matrix-web-');
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>t</title><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(webDir, 'assets/app.js'), 'export {};\n');
    srv = await buildApp({ dataDir: tempDir(), webDir, metricsToken: METRICS, loginLimit: { max: 10_000, windowMs: 60_000 } });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
    const store = srv.ctx.store;
    const bearer = (role: Role) => ({ authorization: `Bearer ${createToken(store, role, `matrix-${role}`).token}` });
    const revoked = createToken(store, 'admin', 'matrix-revoked');
    store.revokeToken(revoked.row.id, 'test');
    // an admin's real session, used from a foreign page
    const admin = createToken(store, 'admin', 'matrix-cookie').token;
    const login = await fetch(`http://127.0.0.1:${port}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: admin }) });
    const cookie = /zs_session=[^;]*/.exec(login.headers.get('set-cookie') ?? '')![0];
    headers = {
      none: {},
      'bad token': { authorization: 'Bearer zs_admin_notarealtokenatall' },
      revoked: { authorization: `Bearer ${revoked.token}` },
      agent: bearer('agent'),
      viewer: bearer('viewer'),
      operator: bearer('operator'),
      admin: bearer('admin'),
      'cookie, foreign Origin': { cookie, origin: 'https://evil.example' },
      'metrics token': { authorization: `Bearer ${METRICS}` },
    };
  });
  afterAll(async () => {
    await srv.close();
  });

  const concrete = (url: string) => url.replace(':node', 'matrix-node').replace(':zone', 'global').replace(':id', '424242');

  /** The status of one HTTP call (a JSON body on writes: validation comes after auth). */
  async function call(method: string, url: string, h: Record<string, string>): Promise<number> {
    const body = method === 'POST' ? '{}' : undefined;
    const r = await fetch(`http://127.0.0.1:${port}${concrete(url)}`, { method, headers: { ...h, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
    await r.arrayBuffer();
    return r.status;
  }

  /** The status an upgrade gets: 101 when the WebSocket opens. */
  function upgrade(path: string, h: Record<string, string>): Promise<number> {
    return new Promise((res, rej) => {
      const w = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: h });
      w.once('open', () => {
        w.terminate();
        res(101);
      });
      w.once('unexpected-response', (_req, r) => {
        r.resume();
        res(r.statusCode ?? 0);
      });
      w.once('error', rej);
    });
  }

  it('has an entry for every route the server has, and no stale ones', () => {
    const have = new Set([...srv.routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`), ...UPGRADE_PATHS.map((p) => `GET ${p}`)]);
    const missing = [...have].filter((k) => !(k in ROLES));
    expect(missing, 'routes without an entry in the auth matrix: add each with who may use it').toEqual([]);
    expect(Object.keys(ROLES).filter((k) => !have.has(k)), 'entries for routes the server no longer has').toEqual([]);
    // HEAD routes mirror GET ones
    for (const r of srv.routes.filter((x) => x.method === 'HEAD')) expect(have.has(`GET ${r.url}`), r.url).toBe(true);
  });

  it('gives each caller exactly what its role allows, on every route', async () => {
    const table: string[] = [];
    const wrong: string[] = [];
    const routes = [...srv.routes.map((r) => ({ ...r, ws: false })), ...UPGRADE_PATHS.map((p) => ({ method: 'GET', url: p, ws: true }))];
    for (const r of routes) {
      const need = ROLES[`${r.method === 'HEAD' ? 'GET' : r.method} ${r.url}`];
      const row: string[] = [];
      for (const c of CALLERS) {
        const got = r.ws ? await upgrade(r.url, headers[c]) : await call(r.method, r.url, headers[c]);
        const want = expected(need, c, r.url);
        const ok = want === 'allowed' ? got !== 401 && got !== 403 : got === want;
        row.push(String(got));
        if (!ok) wrong.push(`${r.method} ${r.url} as ${c}: got ${got}, want ${want}`);
      }
      table.push(`${`${r.method} ${r.url}`.padEnd(48)} ${row.map((x) => x.padStart(4)).join(' ')}`);
    }
    expect(wrong, `\n${' '.repeat(48)} ${CALLERS.map((c) => c.slice(0, 4).padStart(4)).join(' ')}\n${table.join('\n')}`).toEqual([]);
    expect(table.length).toBeGreaterThan(30);
  });

  it('still serves its own page with the same cookie', async () => {
    const h = { cookie: headers['cookie, foreign Origin'].cookie, origin: `http://127.0.0.1:${port}` };
    expect(await call('GET', '/api/me', h)).toBe(200);
    expect(await upgrade('/live', h)).toBe(101);
  });
});
