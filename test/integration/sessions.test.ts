// Browser sessions and the requests around them, against a real server on loopback: the cookie
// is an opaque session id (not the token) that expires, idles out, ends at logout and when its
// token is revoked; a foreign Origin cannot use it; /live takes no token in the URL; logins are
// rate-limited, failures logged and audited with the source address; auth failures are counted
// by route pattern; authentication comes before body validation, and bodies are not coerced.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { request as httpRequest } from 'node:http';
import { buildApp, type App } from '../../server/app.js';
import { createToken, hashToken } from '../../server/auth.js';
import { tempDir } from '../helpers/cli.js';

interface Server {
  srv: App;
  base: string;
  port: number;
  logs: string[];
}

async function start(opts: Partial<Parameters<typeof buildApp>[0]> = {}): Promise<Server> {
  const logs: string[] = [];
  // pino writes JSON lines to this stream: the server's log as an operator would read it
  const stream = { write: (line: string) => void logs.push(line) };
  const srv = await buildApp({ dataDir: tempDir(), logger: { level: 'info', stream }, ...opts });
  await srv.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (srv.app.server.address() as { port: number }).port;
  return { srv, base: `http://127.0.0.1:${port}`, port, logs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('browser sessions', () => {
  let s: Server;
  let admin: { token: string; row: { id: number } };
  let viewer: string;
  let own: string;
  const open: WebSocket[] = [];

  const login = async (token: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${s.base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: own, ...headers }, body: JSON.stringify({ token }) });
    const cookie = /zs_session=([^;]*)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
    return { r, cookie: cookie ? `zs_session=${cookie}` : '' };
  };
  const asCookie = (cookie: string, path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
    fetch(`${s.base}${path}`, { ...init, headers: { cookie, ...(init.body ? { 'content-type': 'application/json' } : {}), ...init.headers } });
  const live = (headers: Record<string, string>, path = '/live') =>
    new Promise<WebSocket>((res, rej) => {
      const w = new WebSocket(`ws://127.0.0.1:${s.port}${path}`, { headers });
      open.push(w);
      w.once('open', () => res(w));
      w.once('unexpected-response', (_req, r) => rej(Object.assign(new Error(`HTTP ${r.statusCode}`), { status: r.statusCode })));
      w.once('error', rej);
    });
  const audit = () => s.srv.ctx.store.auditLog(1000);

  beforeAll(async () => {
    s = await start({ loginLimit: { max: 1000, windowMs: 60_000 } });
    own = s.base;
    admin = createToken(s.srv.ctx.store, 'admin', 'adm');
    viewer = createToken(s.srv.ctx.store, 'viewer', 'view').token;
  });
  afterAll(async () => {
    for (const w of open) w.terminate();
    await s.srv.close();
  });

  it('puts an opaque session id in the cookie, never the token, and stores only its hash', async () => {
    const { r, cookie } = await login(viewer);
    expect(r.status).toBe(200);
    const id = cookie.slice('zs_session='.length);
    expect(id).not.toContain(viewer);
    expect(id).not.toMatch(/^zs_/);
    expect(r.headers.get('set-cookie')).toMatch(/Max-Age=43200; HttpOnly; SameSite=Strict/);
    expect((await asCookie(cookie, '/api/me')).status).toBe(200);
    // the token itself in the cookie is no session
    expect((await asCookie(`zs_session=${viewer}`, '/api/me')).status).toBe(401);
    const rows = s.srv.ctx.store.db.prepare('SELECT hash FROM sessions').all() as { hash: string }[];
    expect(rows.map((x) => x.hash)).toContain(hashToken(id));
    expect(rows.map((x) => x.hash)).not.toContain(id);
  });

  it('makes a new session at every login and ends the one the browser had', async () => {
    const first = await login(viewer);
    const second = await login(viewer, { cookie: first.cookie });
    expect(second.cookie).not.toBe(first.cookie);
    expect((await asCookie(second.cookie, '/api/me')).status).toBe(200);
    expect((await asCookie(first.cookie, '/api/me')).status).toBe(401);
  });

  it('ends the session at logout: the old cookie replayed gets 401', async () => {
    const { cookie } = await login(viewer);
    expect((await asCookie(cookie, '/api/nodes')).status).toBe(200);
    const out = await asCookie(cookie, '/api/session', { method: 'DELETE', headers: { origin: own } });
    expect(out.status).toBe(204);
    expect((await asCookie(cookie, '/api/nodes')).status).toBe(401);
    expect(await (await asCookie(cookie, '/api/session')).json()).toEqual({ user: null });
    expect(audit().some((a) => a.action === 'logout' && a.actor === 'viewer:view' && a.source === '127.0.0.1')).toBe(true);
  });

  it('ends every session of a token when the token is revoked', async () => {
    const t = createToken(s.srv.ctx.store, 'operator', 'to-revoke');
    const a = await login(t.token);
    const b = await login(t.token);
    expect((await asCookie(a.cookie, '/api/nodes')).status).toBe(200);
    const r = await fetch(`${s.base}/api/tokens/${t.row.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } });
    expect(r.status).toBe(200);
    for (const c of [a.cookie, b.cookie]) expect((await asCookie(c, '/api/nodes')).status).toBe(401);
    expect(s.srv.ctx.store.db.prepare('SELECT count(*) AS n FROM sessions WHERE token_id = ?').get(t.row.id)).toEqual({ n: 0 });
  });

  it('refuses a cookie request from a foreign Origin: no admin token is created through a victim browser', async () => {
    const { cookie } = await login(admin.token);
    const before = s.srv.ctx.store.tokens().length;
    const r = await asCookie(cookie, '/api/tokens', { method: 'POST', headers: { origin: 'https://evil.example' }, body: JSON.stringify({ role: 'admin', name: 'pwned' }) });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { message: string }).message).toMatch(/Origin 'https:\/\/evil\.example' is not this server's/);
    expect(s.srv.ctx.store.tokens().length).toBe(before);
    // a cookie that changes state without any Origin is no browser of ours either
    expect((await asCookie(cookie, '/api/tokens', { method: 'POST', body: JSON.stringify({ role: 'admin', name: 'pwned' }) })).status).toBe(403);
    // from our own page it works
    const ok = await asCookie(cookie, '/api/tokens', { method: 'POST', headers: { origin: own }, body: JSON.stringify({ role: 'viewer', name: 'from-ui' }) });
    expect(ok.status).toBe(201);
    // and a login from a foreign page is refused too (login CSRF)
    expect((await login(viewer, { origin: 'https://evil.example' })).r.status).toBe(403);
  });

  it('checks Origin on /live and takes no token in its URL', async () => {
    const { cookie } = await login(viewer);
    await expect(live({ cookie, origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(live({ cookie })).rejects.toMatchObject({ status: 403 });
    await expect(live({}, `/live?token=${encodeURIComponent(viewer)}`)).rejects.toMatchObject({ status: 401 });
    const w = await live({ cookie, origin: own });
    const closed = new Promise<{ code: number; reason: string }>((res) => w.once('close', (code, reason) => res({ code, reason: String(reason) })));
    // logging out cuts the page's live channel too
    expect((await asCookie(cookie, '/api/session', { method: 'DELETE', headers: { origin: own } })).status).toBe(204);
    expect(await closed).toEqual({ code: 1008, reason: 'session ended' });
  });

  it('answers an unauthenticated request with 401 before looking at its body', async () => {
    for (const [path, body] of [
      ['/api/traces', { node: 1 }],
      ['/api/tokens', { role: 'root' }],
      ['/api/nodes/n/zones/z/actions', { action: 'explode' }],
    ] as const) {
      const r = await fetch(`${s.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status, path).toBe(401);
      expect(await r.text(), path).not.toMatch(/body\//);
    }
  });

  it('does not coerce trace, action and token bodies: each wrong type is a 400 naming the field', async () => {
    const op = createToken(s.srv.ctx.store, 'admin', 'types').token;
    const post = (path: string, body: unknown) =>
      fetch(`${s.base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${op}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const cases: [string, unknown, RegExp][] = [
      ['/api/nodes/n/zones/z/actions', { action: ['stop'] }, /body\/action/],
      ['/api/traces', { node: 'n', zone: 'z', script: 'cpu-profile', durationS: '10' }, /body\/durationS/],
      ['/api/traces', { node: ['n'], zone: 'z', script: 'cpu-profile' }, /body\/node/],
      ['/api/traces', { node: 'n', zone: true, script: 'cpu-profile' }, /body\/zone/],
      ['/api/tokens', { role: ['viewer'], name: 'x' }, /body\/role/],
      ['/api/tokens', { role: 'viewer', name: true }, /body\/name/],
      ['/api/tokens', { role: 'viewer', name: 10 }, /body\/name/],
      ['/api/session', { token: 1 }, /body\/token/],
    ];
    const tokens = s.srv.ctx.store.tokens().length;
    for (const [path, body, field] of cases) {
      const r = await post(path, body);
      const text = await r.text();
      expect(r.status, `${path} ${JSON.stringify(body)}: ${text}`).toBe(400);
      expect(text, path).toMatch(field);
    }
    expect(s.srv.ctx.store.tokens().length).toBe(tokens);
    // query strings are still read as numbers
    expect((await fetch(`${s.base}/api/audit?limit=5`, { headers: { authorization: `Bearer ${op}` } })).status).toBe(200);
  });

  it('audits token changes with the source address, and a revoke of an unknown id not at all', async () => {
    const r = await fetch(`${s.base}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer', name: 'audited' }) });
    const { id } = (await r.json()) as { id: number };
    expect(audit().find((a) => a.action === 'token.create' && a.target === 'audited')).toMatchObject({ actor: 'admin:adm', source: '127.0.0.1' });
    const gone = await fetch(`${s.base}/api/tokens/987654`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } });
    expect(gone.status).toBe(404);
    expect(audit().filter((a) => a.action === 'token.revoke' && a.target === '987654')).toEqual([]);
    await fetch(`${s.base}/api/tokens/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.token}` } });
    expect(audit().find((a) => a.action === 'token.revoke' && a.target === String(id))).toMatchObject({ actor: 'admin:adm', source: '127.0.0.1' });
  });
});

describe('login attempts', () => {
  it('are logged and audited with the source address when they fail, and rate-limited per address', async () => {
    const s = await start({ loginLimit: { max: 5, windowMs: 60_000 } });
    const admin = createToken(s.srv.ctx.store, 'admin', 'adm');
    const login = async (token: string) => ({
      r: await fetch(`${s.base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) }),
    });
    const audit = () => s.srv.ctx.store.auditLog(1000);
    try {
      expect((await login(admin.token)).r.status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await login(`zs_admin_guess${i}`)).r.status);
      // the budget (5) counts every login from this address, the good one too
      expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
      const refused = await login('zs_admin_more');
      expect(refused.r.status).toBe(429);
      expect(((await refused.r.json()) as { message: string }).message).toMatch(/too many login attempts from 127\.0\.0\.1 \(at most 5 per 60s\)/);
      // even the right token waits: the limit is per address, not per guess
      expect((await login(admin.token)).r.status).toBe(429);
      const rows = audit().filter((a) => a.action === 'login.failed');
      expect(rows.length).toBe(4);
      expect(rows[0]).toMatchObject({ actor: 'anonymous', source: '127.0.0.1' });
      expect(s.logs.join('')).toMatch(/login failed from 127\.0\.0\.1: unknown or revoked token/);
      expect(s.logs.join('')).not.toMatch(/zs_admin_guess/);
      const m = await (await fetch(`${s.base}/metrics`)).text();
      expect(m).toMatch(/zonescope_auth_failures_total\{route="\/api\/session",reason="rate-limit"\} [1-9]/);
      expect(m).toMatch(/zonescope_auth_failures_total\{route="\/api\/session",reason="token"\} 4/);
      // another address has its own budget
      const other = await new Promise<number>((res, rej) => {
        const body = JSON.stringify({ token: admin.token });
        const req = httpRequest({ host: '127.0.0.1', port: s.port, localAddress: '127.0.0.2', method: 'POST', path: '/api/session', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
          r.resume();
          res(r.statusCode ?? 0);
        });
        req.on('error', rej);
        req.end(body);
      });
      expect(other).toBe(200);
    } finally {
      await s.srv.close();
    }
  });

  it('behind a trusted proxy count and audit the client X-Forwarded-For names; from anyone else the header is ignored', async () => {
    const s = await start({ loginLimit: { max: 2, windowMs: 60_000 }, trustProxy: ['127.0.0.1'] });
    const post = (token: string, forwarded: string, localAddress = '127.0.0.1') => new Promise<number>((res, rej) => {
      const body = JSON.stringify({ token });
      const req = httpRequest({ host: '127.0.0.1', port: s.port, localAddress, method: 'POST', path: '/api/session', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': forwarded } }, (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      });
      req.on('error', rej);
      req.end(body);
    });
    try {
      // two clients behind the proxy: each has its own budget
      expect([await post('zs_admin_a1', '198.51.100.7'), await post('zs_admin_a2', '198.51.100.7'), await post('zs_admin_a3', '198.51.100.7')]).toEqual([401, 401, 429]);
      expect(await post('zs_admin_b1', '203.0.113.9')).toBe(401);
      expect(s.srv.ctx.store.auditLog(100).filter((a) => a.action === 'login.failed').map((a) => a.source).sort()).toEqual(['198.51.100.7', '198.51.100.7', '203.0.113.9']);
      // 127.0.0.2 is not a trusted proxy: what it claims is not believed, its own address counts
      expect([await post('zs_admin_c1', '192.0.2.1', '127.0.0.2'), await post('zs_admin_c2', '192.0.2.2', '127.0.0.2'), await post('zs_admin_c3', '192.0.2.3', '127.0.0.2')]).toEqual([401, 401, 429]);
      expect(s.srv.ctx.store.auditLog(100).filter((a) => a.source === '127.0.0.2').length).toBe(2);
    } finally {
      await s.srv.close();
    }
  });
});

describe('session lifetime', () => {
  it('ends a session after its lifetime, and after it idles out', async () => {
    const TTL = 6000;
    const IDLE = 3000;
    const s = await start({ sessions: { ttlMs: TTL, idleMs: IDLE } });
    try {
      const v = createToken(s.srv.ctx.store, 'viewer', 'v').token;
      const login = async () => {
        const r = await fetch(`${s.base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: v }) });
        return `zs_session=${/zs_session=([^;]*)/.exec(r.headers.get('set-cookie')!)![1]}`;
      };
      const me = (cookie: string) => fetch(`${s.base}/api/me`, { headers: { cookie } }).then((r) => r.status);
      // used every second it stays (idle 3 s), until its lifetime (6 s) is up. What is expected
      // of each request follows from when it was sent, so a slow machine cannot shift it
      // across the deadline: the session began after `loggingIn` and before `loggedIn`.
      const loggingIn = Date.now();
      const busy = await login();
      const loggedIn = Date.now();
      const seen: { sent: number; status: number }[] = [];
      for (;;) {
        const sent = Date.now();
        seen.push({ sent, status: await me(busy) });
        if (sent >= loggedIn + TTL) break;
        await sleep(1000);
      }
      const live = seen.filter((r) => r.sent < loggingIn + TTL - 300);
      // it outlived its idle time by being used
      expect(live.some((r) => r.sent > loggedIn + IDLE)).toBe(true);
      expect(live.map((r) => r.status)).toEqual(live.map(() => 200));
      expect(seen.at(-1)!.status).toBe(401);
      // left alone it idles out well before its lifetime
      const idleLogin = Date.now();
      const idle = await login();
      expect(await me(idle)).toBe(200);
      await sleep(IDLE + 500);
      expect(await me(idle)).toBe(401);
      expect(Date.now() - idleLogin).toBeLessThan(TTL);
    } finally {
      await s.srv.close();
    }
  });
});

describe('auth failures metric', () => {
  it('labels failures by route pattern: strangers cannot mint series with raw paths', async () => {
    const s = await start({ metricsToken: 'scrape-secret' });
    try {
      // the same routes, spelled differently: %-escapes, other node names
      const paths = [
        ...Array.from({ length: 40 }, (_, i) => `/api/nodes/n${i}`),
        ...['/metrics', '/%6detrics', '/m%65trics', '/me%74rics', '/met%72ics', '/metr%69cs', '/%6d%65trics', '/s%64', '/%73d'],
      ];
      for (const p of paths) expect((await fetch(`${s.base}${p}`)).status, p).toBe(401);
      const m = await (await fetch(`${s.base}/metrics/server`, { headers: { authorization: 'Bearer scrape-secret' } })).text();
      const series = m.split('\n').filter((l) => l.startsWith('zonescope_auth_failures_total{'));
      expect(series.sort()).toEqual([
        'zonescope_auth_failures_total{route="/api/nodes/:node",reason="token"} 40',
        'zonescope_auth_failures_total{route="/metrics",reason="token"} 7',
        'zonescope_auth_failures_total{route="/sd",reason="token"} 2',
      ]);
    } finally {
      await s.srv.close();
    }
  });
});

describe('security headers', () => {
  it('sends a CSP that forbids inline script and framing, nosniff, and no-referrer', async () => {
    const s = await start();
    try {
      for (const path of ['/', '/api/session', '/healthz']) {
        const r = await fetch(`${s.base}${path}`);
        const csp = r.headers.get('content-security-policy') ?? '';
        expect(csp, path).toMatch(/default-src 'self'/);
        expect(csp, path).toMatch(/frame-ancestors 'none'/);
        expect(csp, path).toMatch(/object-src 'none'/);
        expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval/);
        // plain HTTP: no upgrade to an https:// that does not exist, no HSTS
        expect(csp, path).not.toMatch(/upgrade-insecure-requests/);
        expect(r.headers.get('strict-transport-security'), path).toBeNull();
        expect(r.headers.get('x-content-type-options'), path).toBe('nosniff');
        expect(r.headers.get('x-frame-options'), path).toBe('DENY');
        expect(r.headers.get('referrer-policy'), path).toBe('no-referrer');
      }
    } finally {
      await s.srv.close();
    }
  });
});
