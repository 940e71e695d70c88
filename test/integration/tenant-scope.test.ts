// Tenants, over every route and WebSocket the server has: two simulated SmartOS nodes whose
// zones belong to two owners (cn-mixed: both tenants' zones and the global zone; cn-b: tenant
// B's only), and callers of every kind — each tenant's viewer and operator, a tenant that owns
// nothing, an unscoped viewer, an admin, each tenant's metrics token and the global one. Another
// tenant's node, zone, trace or process list answers 404 with the words a name that does not
// exist gets; nothing a scoped caller receives (API bodies, /live pushes, /metrics, /sd) names
// anything of another tenant, the global zone or the host. Routes come from fastify itself, so a
// route added without an entry here fails the first test (and one without a scope rule stops the
// server from starting at all: server/tenant-scope.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, UPGRADE_PATHS, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import type { Role } from '../../server/store.js';
import { FAKES, ROOT, spawnZonescope, stopAll, tempDir, until } from '../helpers/cli.js';

const A = '7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b';
const B = '3d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a';
const C = 'c0ffee00-0000-4000-8000-000000000000'; // owns no zone anywhere
const MIXED = `cn-mixed-${process.pid}`;
const BONLY = `cn-b-${process.pid}`;
const GLOBAL_METRICS = 'tenant-test-global-scrape';

const CALLERS = ['A viewer', 'A operator', 'B viewer', 'B operator', 'C viewer', 'viewer', 'admin', 'A metrics', 'B metrics', 'global metrics'] as const;
type Caller = (typeof CALLERS)[number];
const OWNER: Partial<Record<Caller, string>> = { 'A viewer': A, 'A operator': A, 'B viewer': B, 'B operator': B, 'C viewer': C, 'A metrics': A, 'B metrics': B };
const ROLE: Record<Caller, Role | 'global-metrics'> = {
  'A viewer': 'viewer', 'A operator': 'operator', 'B viewer': 'viewer', 'B operator': 'operator', 'C viewer': 'viewer',
  viewer: 'viewer', admin: 'admin', 'A metrics': 'metrics', 'B metrics': 'metrics', 'global metrics': 'global-metrics',
};

interface Target { node: string; zone: string; trace: string }
type Kind = 'node' | 'zone' | 'trace' | 'none' | 'host' | 'live' | 'agent';
type Need = 'public' | 'viewer' | 'operator' | 'admin' | 'metrics' | 'agent';
interface Entry { need: Need; kind: Kind; url: (t: Target) => string; body?: (t: Target) => object }

const path = (u: string) => (t: Target) => u.replace(':node', encodeURIComponent(t.node)).replace(':zone', encodeURIComponent(t.zone)).replace(':id', encodeURIComponent(t.trace));

/** Every route: who may call it, what it names (its scope), how to call it on a target. */
const ROUTES: Record<string, Entry> = {
  'GET /healthz': { need: 'public', kind: 'none', url: path('/healthz') },
  'GET /metrics': { need: 'metrics', kind: 'node', url: (t) => `/metrics?node=${encodeURIComponent(t.node)}` },
  'GET /metrics/server': { need: 'metrics', kind: 'host', url: path('/metrics/server') },
  'GET /sd': { need: 'metrics', kind: 'none', url: path('/sd') },
  'POST /api/session': { need: 'public', kind: 'none', url: path('/api/session'), body: () => ({}) },
  'GET /api/session': { need: 'public', kind: 'none', url: path('/api/session') },
  'DELETE /api/session': { need: 'public', kind: 'none', url: path('/api/session') },
  'GET /api/me': { need: 'viewer', kind: 'none', url: path('/api/me') },
  'GET /api/nodes': { need: 'viewer', kind: 'none', url: path('/api/nodes') },
  'GET /api/nodes/:node': { need: 'viewer', kind: 'node', url: path('/api/nodes/:node') },
  'GET /api/nodes/:node/zones': { need: 'viewer', kind: 'node', url: path('/api/nodes/:node/zones') },
  'GET /api/nodes/:node/zones/:zone/history': { need: 'viewer', kind: 'zone', url: path('/api/nodes/:node/zones/:zone/history') },
  'GET /api/nodes/:node/zones/:zone/profile': { need: 'viewer', kind: 'zone', url: path('/api/nodes/:node/zones/:zone/profile') },
  'GET /api/nodes/:node/zones/:zone/processes': { need: 'viewer', kind: 'zone', url: path('/api/nodes/:node/zones/:zone/processes') },
  // starting a running zone: the agent refuses (502), nothing changes
  'POST /api/nodes/:node/zones/:zone/actions': { need: 'operator', kind: 'zone', url: path('/api/nodes/:node/zones/:zone/actions'), body: () => ({ action: 'start' }) },
  'GET /api/scripts': { need: 'viewer', kind: 'node', url: (t) => `/api/scripts?node=${encodeURIComponent(t.node)}` },
  'POST /api/traces': { need: 'operator', kind: 'zone', url: path('/api/traces'), body: (t) => ({ node: t.node, zone: t.zone, script: 'cpu-profile', durationS: 2 }) },
  'GET /api/traces': { need: 'viewer', kind: 'none', url: path('/api/traces') },
  'GET /api/traces/:id': { need: 'viewer', kind: 'trace', url: path('/api/traces/:id') },
  'GET /api/traces/:id/intervals': { need: 'viewer', kind: 'trace', url: path('/api/traces/:id/intervals') },
  'GET /api/traces/:id/folded': { need: 'viewer', kind: 'trace', url: path('/api/traces/:id/folded') },
  'GET /api/traces/:id/pprof': { need: 'viewer', kind: 'trace', url: path('/api/traces/:id/pprof') },
  'DELETE /api/traces/:id': { need: 'operator', kind: 'trace', url: path('/api/traces/:id') },
  'GET /api/tokens': { need: 'admin', kind: 'none', url: path('/api/tokens') },
  'POST /api/tokens': { need: 'admin', kind: 'none', url: path('/api/tokens'), body: () => ({ role: 'viewer', name: 'tenant-matrix' }) },
  'DELETE /api/tokens/:id': { need: 'admin', kind: 'none', url: () => '/api/tokens/999999' },
  'GET /api/audit': { need: 'admin', kind: 'none', url: path('/api/audit') },
  'GET /': { need: 'public', kind: 'none', url: path('/') },
  'GET /index.html': { need: 'public', kind: 'none', url: path('/index.html') },
  'GET /assets/app.js': { need: 'public', kind: 'none', url: path('/assets/app.js') },
  'GET /agent': { need: 'agent', kind: 'agent', url: path('/agent') },
  'GET /live': { need: 'viewer', kind: 'live', url: path('/live') },
};

/** Whether the caller's role may use the route at all (else 401/403, before any lookup). */
function roleAllows(need: Need, c: Caller): boolean {
  const r = ROLE[c];
  if (need === 'public') return true;
  if (need === 'metrics') return r === 'metrics' || r === 'global-metrics';
  if (need === 'agent' || r === 'metrics' || r === 'global-metrics') return false;
  const rank = { viewer: 0, operator: 1, admin: 2 } as const;
  return rank[r as keyof typeof rank] >= rank[need];
}

/** The answer to a name the caller may not see: exactly the words a missing name gets. */
const SCOPE_404 = /^unknown (node|zone|trace) '/;

describe('tenants: a scoped token sees only its owner\'s zones, on every route', () => {
  let srv: App;
  let base: string;
  const headers = {} as Record<Caller, Record<string, string>>;
  /** what each tenant owns, and what it must never see or hear of */
  const own: Record<string, Target[]> = {};
  const foreign: Record<string, Target[]> = {};
  const forbidden: Record<string, string[]> = {};
  const traces: Record<'A' | 'B' | 'admin', string> = { A: '', B: '', admin: '' };
  let bOnlyData = '';
  const zonesOf = (node: string) => srv.ctx.fleet.nodes.get(node)?.zones ?? [];

  const call = async (method: string, url: string, h: Record<string, string>, body?: object) => {
    const r = await fetch(`${base}${url}`, { method, headers: { ...h, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: r.status, text: await r.text() };
  };
  const message = (text: string) => {
    try {
      return String(JSON.parse(text).message ?? '');
    } catch {
      return '';
    }
  };

  beforeAll(async () => {
    const webDir = tempDir('zs-tenant-web-');
    mkdirSync(join(webDir, 'assets'));
    writeFileSync(join(webDir, 'index.html'), '<!doctype html><title>t</title><script type="module" src="/assets/app.js"></script>');
    writeFileSync(join(webDir, 'assets/app.js'), 'export {};\n');
    srv = await buildApp({ dataDir: tempDir(), webDir, metricsToken: GLOBAL_METRICS, loginLimit: { max: 10_000, windowMs: 60_000 } });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`;
    const store = srv.ctx.store;
    const bearer = (role: Role, owner?: string) => ({ authorization: `Bearer ${createToken(store, role, `t-${role}-${owner ?? 'all'}`, owner).token}` });
    for (const c of CALLERS) headers[c] = ROLE[c] === 'global-metrics' ? { authorization: `Bearer ${GLOBAL_METRICS}` } : bearer(ROLE[c] as Role, OWNER[c]);

    // cn-b: the simulated node with tenant B's zones only (and the global zone)
    const data = JSON.parse(readFileSync(join(ROOT, 'agent/simulated/smartos-node.json'), 'utf8')) as { zones: { name: string; owner_uuid?: string }[] };
    data.zones = data.zones.filter((z) => z.name === 'global' || z.owner_uuid === B);
    bOnlyData = join(tempDir('zs-tenant-data-'), 'cn-b.json');
    writeFileSync(bOnlyData, JSON.stringify(data));
    const agentToken = createToken(store, 'agent', 't-agent').token;
    const agent = (node: string, env: Record<string, string>) =>
      spawnZonescope(['agent', '--server', base, '--token', agentToken, '--node', node, '--interval', '1', '--platform', 'illumos'], { PATH: `${FAKES}:${process.env.PATH}`, ZONESCOPE_FAKE_STATE: tempDir(), ...env });
    agent(MIXED, {});
    agent(BONLY, { ZONESCOPE_FAKE_DATA: bOnlyData });
    await until('both nodes with owned zones and samples', () =>
      [MIXED, BONLY].every((n) => zonesOf(n).some((z) => z.owner) && srv.ctx.fleet.nodes.get(n)?.latest), 30_000);

    const zone = (node: string, owner: string) => zonesOf(node).find((z) => z.owner === owner && z.state === 'running')!.name;
    const [zA, zB, zB2] = [zone(MIXED, A), zone(MIXED, B), zone(BONLY, B)];
    // traces each tenant's operator started on its zone, and an admin's on the global zone
    const start = async (c: Caller, node: string, z: string) => {
      const r = await call('POST', '/api/traces', headers[c], { node, zone: z, script: 'cpu-profile', durationS: 120 });
      expect(r.status, r.text).toBe(201);
      return JSON.parse(r.text).id as string;
    };
    traces.A = await start('A operator', MIXED, zA);
    traces.B = await start('B operator', MIXED, zB);
    traces.admin = await start('admin', MIXED, 'global');
    // with stacks in, so /folded answers for its own tenant rather than "no stacks yet"
    const intervals = async (id: string) => (JSON.parse((await call('GET', `/api/traces/${id}`, headers.admin)).text) as { intervals: number }).intervals;
    await until('the traces to have intervals', async () => (await Promise.all(Object.values(traces).map(intervals))).every((n) => n > 0), 30_000);

    const nothing: Target = { node: 'no-such-node', zone: 'no-such-zone', trace: '00000000-0000-4000-8000-000000000000' };
    own[A] = [{ node: MIXED, zone: zA, trace: traces.A }];
    own[B] = [{ node: MIXED, zone: zB, trace: traces.B }, { node: BONLY, zone: zB2, trace: traces.B }];
    own[C] = [];
    foreign[A] = [{ node: MIXED, zone: zB, trace: traces.B }, { node: MIXED, zone: 'global', trace: traces.admin }, { node: BONLY, zone: zB2, trace: traces.B }, nothing];
    foreign[B] = [{ node: MIXED, zone: zA, trace: traces.A }, { node: MIXED, zone: 'global', trace: traces.admin }, nothing];
    foreign[C] = [...own[A], ...own[B], ...foreign[A]];
    // what a tenant must never be told of: other tenants' zones (names, aliases, owner), nodes
    // holding none of its zones, others' traces, the global zone, host-wide series
    const zonesNotOf = (owner: string) => [MIXED, BONLY].flatMap((n) => zonesOf(n).filter((z) => z.owner !== owner && z.name !== 'global'));
    const host = ['"global"', 'zone="global"', 'liveimg', 'samplerErrors', 'zonescope_node_', 'zonescope_agent_up', 'zonescope_arc', 'zonescope_zpool'];
    for (const [o, others] of [[A, [B, traces.B]], [B, [A, traces.A]], [C, [A, B, traces.A, traces.B]]] as const) {
      forbidden[o] = [...others, traces.admin, ...host, ...zonesNotOf(o).flatMap((z) => [z.name, ...(z.alias ? [z.alias] : [])])];
      if (!own[o].some((t) => t.node === BONLY)) forbidden[o].push(BONLY);
      if (!own[o].some((t) => t.node === MIXED)) forbidden[o].push(MIXED);
    }
  }, 90_000);
  afterAll(async () => {
    await stopAll();
    await srv?.close();
  });

  /** No scoped caller's answer may name what its tenant must not see (beyond the names it asked
   * about itself, which a 404 repeats). */
  const leaks = (c: Caller, text: string, asked = ''): string[] => {
    const o = OWNER[c];
    return o === undefined ? [] : forbidden[o].filter((f) => text.includes(f) && !asked.includes(f));
  };
  /** Starts a trace once the zone has room for one (the matrix's short traces may still run). */
  const startWhenFree = (c: Caller, body: object) =>
    until('room for a trace', async () => {
      const r = await call('POST', '/api/traces', headers[c], body);
      if (r.status === 429) return false;
      expect(r.status, r.text).toBe(201);
      return JSON.parse(r.text).id as string;
    }, 30_000, 500);

  it('has an entry for every route and WebSocket the server has, and no stale ones', () => {
    const have = new Set([...srv.routes.filter((r) => r.method !== 'HEAD').map((r) => `${r.method} ${r.url}`), ...UPGRADE_PATHS.map((p) => `GET ${p}`)]);
    expect([...have].filter((k) => !(k in ROUTES)), 'routes without an entry: add each with its scope kind').toEqual([]);
    expect(Object.keys(ROUTES).filter((k) => !have.has(k)), 'entries for routes the server no longer has').toEqual([]);
  });

  it('answers 404 for every other tenant\'s node, zone and trace, and shows a tenant only its own', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const [key, e] of Object.entries(ROUTES)) {
      if (e.kind === 'live' || e.kind === 'agent') continue; // the WebSockets: the next tests
      const method = key.split(' ')[0];
      for (const c of CALLERS) {
        if (!roleAllows(e.need, c)) continue; // refused by role first (the auth matrix test)
        const o = OWNER[c];
        const go = async (t: Target, want: 'scope-404' | 'seen') => {
          const r = await call(method, e.url(t), headers[c], e.body?.(t));
          checked++;
          const what = `${key} as ${c} on ${t.node}/${t.zone}/${t.trace.slice(0, 8)}`;
          const is404 = r.status === 404 && SCOPE_404.test(message(r.text));
          if (want === 'scope-404' && !is404) wrong.push(`${what}: got ${r.status} ${r.text.slice(0, 160)}, want 404 'unknown …'`);
          if (want === 'seen' && is404) wrong.push(`${what}: got ${r.status} ${r.text.slice(0, 160)}, want it seen`);
          for (const l of leaks(c, r.text, decodeURIComponent(e.url(t)) + JSON.stringify(e.body?.(t) ?? {}))) wrong.push(`${what}: the answer names '${l}'`);
        };
        if (e.kind === 'host') {
          const r = await call(method, e.url(own[A][0]), headers[c]);
          checked++;
          if (o !== undefined ? r.status !== 404 : r.status !== 200) wrong.push(`${key} as ${c}: got ${r.status}`);
        } else if (e.kind === 'none') {
          const r = await call(method, e.url(own[A][0]), headers[c], e.body?.(own[A][0]));
          checked++;
          for (const l of leaks(c, r.text)) wrong.push(`${key} as ${c}: the answer names '${l}'`);
        } else if (o === undefined) {
          // unscoped callers see every real thing: the test can tell seen from hidden
          for (const t of [...own[A], ...own[B], ...foreign[A].slice(0, -1)]) await go(t, 'seen');
        } else {
          // what the route names decides: a node route sees a node holding one of the tenant's
          // zones, whatever zone the target also has
          const key = (t: Target) => (e.kind === 'node' ? t.node : e.kind === 'zone' ? `${t.node}/${t.zone}` : t.trace);
          const mine = new Set(own[o].map(key));
          const tried = new Set<string>();
          for (const t of [...own[o], ...foreign[o]]) {
            if (tried.has(key(t))) continue;
            tried.add(key(t));
            await go(t, mine.has(key(t)) ? 'seen' : 'scope-404');
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(300);
  }, 300_000);

  it('lists a tenant exactly its zones and nodes, an unscoped viewer all of them', async () => {
    const zonesSeen = async (c: Caller) => {
      const nodes = JSON.parse((await call('GET', '/api/nodes', headers[c])).text) as { node: string; zoneCount: number }[];
      const out: string[] = [];
      for (const n of nodes) {
        const zs = JSON.parse((await call('GET', `/api/nodes/${n.node}/zones`, headers[c])).text) as { name: string; owner?: string }[];
        expect(n.zoneCount, `${c}: zoneCount of ${n.node}`).toBe(zs.length);
        out.push(...zs.map((z) => `${n.node}/${z.name}`));
      }
      return out.sort();
    };
    const owned = (o: string) => [MIXED, BONLY].flatMap((n) => zonesOf(n).filter((z) => z.owner === o).map((z) => `${n}/${z.name}`)).sort();
    expect(owned(A).length).toBeGreaterThanOrEqual(2);
    expect(await zonesSeen('A viewer')).toEqual(owned(A));
    expect(await zonesSeen('B operator')).toEqual(owned(B));
    expect(await zonesSeen('C viewer')).toEqual([]);
    const all = await zonesSeen('viewer');
    expect(all).toEqual(expect.arrayContaining([...owned(A), ...owned(B), `${MIXED}/global`, `${BONLY}/global`]));
    const listed = (c: Caller) => call('GET', '/api/traces', headers[c]).then((r) => (JSON.parse(r.text) as { id: string }[]).map((t) => t.id));
    expect(await listed('A viewer')).toContain(traces.A);
    expect(await listed('viewer')).toEqual(expect.arrayContaining([traces.A, traces.B, traces.admin]));
  });

  it('filters /metrics and /sd to a tenant\'s zones; the global metrics token sees the fleet', async () => {
    // a loaded machine may abandon a sampling round: wait for a frame with the zones' series
    const a = await until('a frame with the zones\' CPU', async () => {
      const r = await call('GET', '/metrics', headers['A metrics']);
      expect(r.status).toBe(200);
      return r.text.includes('zonescope_zone_cpu_seconds_total{') && r;
    }, 20_000).catch(async (e) => {
      const all = (await call('GET', '/metrics', headers['global metrics'])).text;
      throw new Error(`${(e as Error).message}; the fleet's /metrics has ${all.split('\n').filter((l) => l.startsWith('zonescope_zone_cpu_seconds_total{')).length} zone CPU series`);
    });
    for (const t of own[A]) expect(a.text).toContain(`zone="${t.zone}"`);
    expect(a.text).toMatch(/zonescope_zone_cpu_seconds_total\{node="[^"]+",zone="[^"]+",.*\} \d/);
    expect(leaks('A metrics', a.text)).toEqual([]);
    const all = await call('GET', '/metrics', headers['global metrics']);
    for (const f of ['zone="global"', 'zonescope_agent_up', BONLY, own[B][0].zone]) expect(all.text).toContain(f);
    const sd = JSON.parse((await call('GET', '/sd', headers['A metrics'])).text) as { targets: string[]; labels: Record<string, string> }[];
    expect(sd.map((g) => g.labels.__meta_zonescope_node)).toEqual([MIXED]);
    // through the server, which filters: never the agent's own (whole-node) /metrics
    expect(sd[0].labels).toMatchObject({ __metrics_path__: '/metrics', __param_node: MIXED, __meta_zonescope_direct: 'false' });
    const sdB = JSON.parse((await call('GET', '/sd', headers['B metrics'])).text) as { labels: Record<string, string> }[];
    expect(sdB.map((g) => g.labels.__meta_zonescope_node).sort()).toEqual([BONLY, MIXED].sort());
  });

  /** A /live connection as `c`: the upgrade's status and everything pushed until closed. */
  const listen = (c: Caller) =>
    new Promise<{ status: number; messages: string[]; close(): void }>((res, rej) => {
      const messages: string[] = [];
      const w = new WebSocket(`${base.replace('http', 'ws')}/live`, { headers: headers[c] });
      const close = () => w.terminate();
      w.on('message', (d) => messages.push(String(d)));
      w.once('unexpected-response', (_q, r) => (r.resume(), res({ status: r.statusCode ?? 0, messages, close })));
      w.once('error', rej);
      w.once('open', () => res({ status: 101, messages, close }));
    });

  it('/live pushes a tenant only its nodes, zones\' samples and traces', async () => {
    const callers: Caller[] = ['A viewer', 'B viewer', 'C viewer', 'viewer'];
    const got = Object.fromEntries(await Promise.all(callers.map(async (c) => [c, await listen(c)] as const))) as Record<string, Awaited<ReturnType<typeof listen>>>;
    // while they listen: a trace of tenant B starts and runs (pushed to B and to unscoped viewers)
    const bTrace = await startWhenFree('B operator', { node: BONLY, zone: own[B][1].zone, script: 'cpu-profile', durationS: 2 });
    const sawSamples = (c: Caller, node: string) => got[c].messages.some((m) => JSON.parse(m).type === 'samples' && JSON.parse(m).node === node);
    await until('the trace pushed to B, and samples of both nodes', () => got['B viewer'].messages.some((m) => m.includes(bTrace)) && sawSamples('viewer', MIXED) && sawSamples('viewer', BONLY), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    for (const c of callers) got[c].close();
    const fleet = (c: Caller) => (JSON.parse(got[c].messages.find((m) => JSON.parse(m).type === 'fleet')!) as { nodes: { node: string }[] }).nodes.map((n) => n.node).sort();
    expect(fleet('A viewer')).toEqual([MIXED]);
    expect(fleet('B viewer')).toEqual([BONLY, MIXED].sort());
    expect(fleet('C viewer')).toEqual([]);
    expect(fleet('viewer')).toEqual([BONLY, MIXED].sort());
    const traceIds = (c: Caller) => got[c].messages.map((m) => JSON.parse(m)).filter((m) => m.type === 'trace').map((m) => m.trace.id);
    expect(traceIds('B viewer')).toContain(bTrace);
    expect(traceIds('viewer')).toContain(bTrace);
    expect(traceIds('A viewer')).not.toContain(bTrace);
    const samplesFrom = (c: Caller) => new Set(got[c].messages.map((m) => JSON.parse(m)).filter((m) => m.type === 'samples').map((m) => m.node));
    expect([...samplesFrom('viewer')].sort()).toEqual([BONLY, MIXED].sort());
    expect([...samplesFrom('A viewer')]).toEqual([MIXED]);
    expect([...samplesFrom('C viewer')]).toEqual([]);
    for (const c of ['A viewer', 'B viewer', 'C viewer'] as Caller[]) expect(leaks(c, got[c].messages.join('\n')), c).toEqual([]);
    // and the metrics tokens cannot open it at all
    const m = await listen('A metrics');
    m.close();
    expect(m.status).toBe(403);
  });

  it('makes scoped tokens through the API, and filters the audit by owner, actor, action and time', async () => {
    const post = (body: object) => call('POST', '/api/tokens', headers.admin, body);
    const made = await post({ role: 'operator', name: 'api-tenant-a', owner: A });
    expect(made.status, made.text).toBe(201);
    const row = JSON.parse(made.text) as { token: string; owner: string; role: string };
    expect(row).toMatchObject({ owner: A, role: 'operator' });
    const nodes = JSON.parse((await call('GET', '/api/nodes', { authorization: `Bearer ${row.token}` })).text) as { node: string }[];
    expect(nodes.map((n) => n.node)).toEqual([MIXED]);
    for (const [body, says] of [
      [{ role: 'admin', name: 'x', owner: A }, /body\/owner: owner is for metrics, viewer, operator tokens, not admin/],
      [{ role: 'metrics', name: 'x' }, /body\/owner: a metrics token needs owner/],
      [{ role: 'viewer', name: 'x', owner: 'acme corp' }, /owner/],
    ] as const) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(message(r.text)).toMatch(says);
    }
    const audit = (q: string) => call('GET', `/api/audit?${q}`, headers.admin).then((r) => ({ status: r.status, rows: r.status === 200 ? (JSON.parse(r.text) as { action: string; owner: string; actor: string; target: string }[]) : [], text: r.text }));
    const created = await audit(`owner=${A}&action=token.create`);
    expect(created.rows.map((r) => r.target)).toEqual(['api-tenant-a']);
    expect((await audit(`owner=${A}&action=token.create&actor=admin:t-admin-all`)).rows).toHaveLength(1);
    expect((await audit(`owner=${A}&action=token.create&actor=someone-else`)).rows).toHaveLength(0);
    expect((await audit(`owner=${A}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).rows).toHaveLength(0);
    const starts = (await audit(`owner=${A}&action=trace.start&since=0`)).rows;
    expect(starts.length).toBeGreaterThan(0);
    expect(starts.every((r) => r.owner === A && r.target.endsWith(own[A][0].zone))).toBe(true);
    // an admin's trace of the global zone concerns no tenant
    const globalStarts = (await audit('action=trace.start&limit=1000')).rows.filter((r) => r.target === `${MIXED}/global`);
    expect(globalStarts.length).toBeGreaterThan(0);
    expect(globalStarts.every((r) => r.owner === '')).toBe(true);
    const bad = await audit('since=last-tuesday');
    expect(bad.status).toBe(400);
    expect(message(bad.text)).toMatch(/querystring\/since: 'last-tuesday' is neither/);
  });

  it('stops a tenant\'s trace when its zone changes owner, and the new owner never sees it', async () => {
    const zone = own[B][1].zone;
    const id = await startWhenFree('B operator', { node: BONLY, zone, script: 'cpu-profile', durationS: 60 });
    await until('the trace to run', async () => JSON.parse((await call('GET', `/api/traces/${id}`, headers['B viewer'])).text).status === 'running', 20_000);
    // the operator of the cloud gives the VM to tenant A (vmadm's owner_uuid changes)
    const data = JSON.parse(readFileSync(bOnlyData, 'utf8')) as { zones: { name: string; owner_uuid?: string }[] };
    data.zones.find((z) => z.name === zone)!.owner_uuid = A;
    writeFileSync(bOnlyData, JSON.stringify(data));
    const t = await until('the trace to stop', async () => {
      const x = JSON.parse((await call('GET', `/api/traces/${id}`, headers['B viewer'])).text);
      return x.status !== 'running' && x.status !== 'starting' && x;
    }, 20_000);
    expect(t.status).toBe('stopped');
    expect(t.intervals).toBeLessThan(60);
    // A now sees the zone, not B's trace of it; B no longer sees the zone
    expect((await call('GET', `/api/nodes/${BONLY}/zones/${zone}/history`, headers['A viewer'])).status).toBe(200);
    expect(message((await call('GET', `/api/traces/${id}`, headers['A viewer'])).text)).toMatch(SCOPE_404);
    expect(message((await call('GET', `/api/nodes/${BONLY}/zones/${zone}/history`, headers['B viewer'])).text)).toMatch(SCOPE_404);
    const audit = JSON.parse((await call('GET', `/api/audit?owner=${B}&action=trace.start`, headers.admin)).text) as { owner: string; actor: string; target: string }[];
    expect(audit.length).toBeGreaterThan(0);
    expect(audit.every((x) => x.owner === B)).toBe(true);
    expect(audit.map((x) => x.target)).toContain(`${BONLY}/${zone}`);
  });
});
