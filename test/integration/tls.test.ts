// TLS end to end with a private CA made by openssl: `zonescope server --tls-cert --tls-key`
// serves HTTPS and WSS on one port; the agent and `zonescope trace` trust the CA with --ca and
// refuse a server their CA did not sign, saying so; `start` over TLS connects its own agent;
// plain HTTP on a non-loopback address warns about what is at stake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { TEST_ENV } from '../helpers/procs.js';
import WebSocket from 'ws';
import { Agent, fetch } from 'undici';
import { createToken } from '../../server/auth.js';
import { Store } from '../../server/store.js';
import { freePort, spawnZonescope, stopAll, tempDir, until, zonescope, type Proc } from '../helpers/cli.js';
import { makePki, type TestPki } from '../helpers/tls-ca.js';

const NODE = `tls-node-${process.pid}`;

describe('TLS with a private CA', () => {
  let pki: TestPki;
  let port: number;
  let base: string;
  let server: Proc;
  let tokens: { agent: string; operator: string; viewer: string };
  let trusted: Agent;
  // the agent's token as the README shows it: in the environment, not on the command line
  const agentEnv = () => ({ ZONESCOPE_TOKEN: tokens.agent });

  const api = async (path: string, token = tokens.viewer, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const r = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers }, dispatcher: trusted });
    return { status: r.status, headers: r.headers, json: (await r.json().catch(() => undefined)) as any };
  };

  beforeAll(async () => {
    pki = await makePki();
    trusted = new Agent({ connect: { ca: readFileSync(pki.ca, 'utf8') } });
    const data = tempDir('zs-tls-data-');
    const store = new Store(data);
    tokens = {
      agent: createToken(store, 'agent', 'tls-agent').token,
      operator: createToken(store, 'operator', 'tls-op').token,
      viewer: createToken(store, 'viewer', 'tls-viewer').token,
    };
    store.close();
    port = await freePort();
    base = `https://127.0.0.1:${port}`;
    server = spawnZonescope(['server', '--host', '127.0.0.1', '--port', String(port), '--data', data, '--tls-cert', pki.cert, '--tls-key', pki.key]);
    await server.waitFor(new RegExp(`zonescope is up: https://127\\.0\\.0\\.1:${port}/`), 45_000);
  });
  afterAll(async () => {
    await stopAll();
    await trusted?.close();
  });

  it('connects an agent over WSS with --ca, and its node shows over HTTPS', async () => {
    spawnZonescope(['agent', '--server', base, '--ca', pki.ca, '--node', NODE, '--interval', '1'], agentEnv());
    const nodes = await until('the agent over TLS', async () => {
      const r = await api('/api/nodes');
      return (r.json as { node: string; up: boolean }[]).some((n) => n.node === NODE && n.up) && r.json;
    });
    expect(nodes.find((n: { node: string }) => n.node === NODE)).toMatchObject({ up: true, platform: 'linux' });
    // `simulate` is a client too: its agents trust the CA the same way
    spawnZonescope(['simulate', '--nodes', '2', '--interval', '1', '--prefix', 'tls-sim-', '--server', base, '--ca', pki.ca], { ZONESCOPE_TOKEN: tokens.agent });
    await until('simulated nodes over TLS', async () => (await api('/api/nodes')).json.filter((n: { node: string; up: boolean }) => n.node.startsWith('tls-sim-') && n.up).length === 2, 45_000);
    // the same port does not answer plain HTTP
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it('refuses a server its CA did not sign, saying so and how to fix it', async () => {
    const wrong = spawnZonescope(['agent', '--server', base, '--ca', pki.wrongCa, '--node', `${NODE}-wrong`], agentEnv());
    await wrong.waitFor(/cannot connect to wss:\/\/127\.0\.0\.1:\d+\/agent: the server's certificate is not trusted \(\w+: .*\); give --ca FILE with the CA that signed it; retrying/, 45_000);
    // the system's CAs do not know a private one either
    const none = spawnZonescope(['agent', '--server', base, '--node', `${NODE}-none`], agentEnv());
    await none.waitFor(/the server's certificate is not trusted/, 45_000);
    expect((await api('/api/nodes')).json.map((n: { node: string }) => n.node)).not.toContain(`${NODE}-wrong`);
    await Promise.all([wrong.stop(), none.stop()]);
  });

  it('runs `zonescope trace` over HTTPS with --ca, and refuses with a wrong CA', async () => {
    // a real bpftrace profile of the whole node (the global zone)
    const zone = 'global';
    const env = { ZONESCOPE_SERVER: base, ZONESCOPE_TOKEN: tokens.operator };
    const ok = await zonescope(['trace', 'cpu-profile', '--zone', zone, '--node', NODE, '--duration', '2s', '--ca', pki.ca], env);
    // done, or partial (3) when bpftrace lost a few stacks on a busy machine: a result either way
    expect([0, 3], String(ok.stderr)).toContain(ok.exitCode);
    expect(String(ok.stderr)).toMatch(/cpu-profile on .*: (done|partial)/);
    // folded stacks came back over HTTPS: frames;frames count
    expect(String(ok.stdout)).toMatch(/^\S+;\S.* \d+$/m);
    const bad = await zonescope(['trace', 'cpu-profile', '--zone', zone, '--node', NODE, '--duration', '2s', '--ca', pki.wrongCa], env);
    expect(bad.exitCode).toBe(1);
    expect(String(bad.stderr).trim()).toMatch(/^zonescope: cannot reach the server at https:\/\/127\.0\.0\.1:\d+: the server's certificate is not trusted \(\w+: .*\); give --ca FILE with the CA that signed it$/);
    const notPem = await zonescope(['trace', 'cpu-profile', '--zone', zone, '--node', NODE, '--ca', pki.key], env);
    expect(notPem.exitCode).toBe(2);
    expect(String(notPem.stderr)).toMatch(/--ca: '.*server\.key' holds no PEM certificate/);
  });

  it('marks the session cookie Secure and serves /live over WSS to the page\'s own Origin', async () => {
    const r = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify({ token: tokens.viewer }), dispatcher: trusted });
    expect(r.status).toBe(200);
    const setCookie = r.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    expect(r.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(r.headers.get('content-security-policy')).toMatch(/upgrade-insecure-requests/);
    const cookie = /zs_session=[^;]*/.exec(setCookie)![0];
    const ws = new WebSocket(`wss://127.0.0.1:${port}/live`, { headers: { cookie, origin: base }, ca: readFileSync(pki.ca, 'utf8') });
    const first = await new Promise<{ type: string }>((res, rej) => {
      ws.once('message', (d) => res(JSON.parse(String(d))));
      ws.once('error', rej);
    });
    expect(first.type).toBe('fleet');
    ws.terminate();
  });

  it.skipIf(!existsSync('/usr/bin/prometheus'))('is scraped by Prometheus over HTTPS with the CA, discovered through /sd over HTTPS', async () => {
    const dir = tempDir('zs-tls-prom-');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: zonescope-tls
    scheme: https
    tls_config: {ca_file: ${pki.ca}}
    http_sd_configs:
      - url: ${base}/sd
        refresh_interval: 1s
        tls_config: {ca_file: ${pki.ca}}
`,
    );
    const promPort = await freePort();
    let log = '';
    const prom = execa('/usr/bin/prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'], {
      env: TEST_ENV, reject: false, all: true, buffer: false, cwd: dir,
    });
    prom.all?.on('data', (d: Buffer) => void (log += d.toString()));
    try {
      const target = await until('the node scraped over HTTPS', async () => {
        const r = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: Record<string, string>; scrapeUrl: string; health: string; lastError: string }[] } };
        return r.data.activeTargets.find((t) => t.labels.instance === NODE && t.health === 'up');
      }, 30_000, 500).catch((e) => {
        throw new Error(`${(e as Error).message}\nprometheus log:\n${log.slice(-2000)}`);
      });
      expect(target.scrapeUrl).toBe(`${base}/metrics?node=${NODE}`);
    } finally {
      prom.kill('SIGTERM');
      await prom;
    }
  });

  it('runs `start` over TLS: its own agent trusts the CA and connects', async () => {
    const data = tempDir('zs-tls-start-');
    const p = await freePort();
    const start = spawnZonescope(['start', '--port', String(p), '--data', data, '--node', `${NODE}-start`, '--interval', '1', '--tls-cert', pki.cert, '--tls-key', pki.key, '--ca', pki.ca], agentEnv());
    await start.waitFor(new RegExp(`zonescope is up: https://127\\.0\\.0\\.1:${p}/`), 45_000);
    const admin = readFileSync(join(data, 'admin.token'), 'utf8').trim();
    await until('the local agent over TLS', async () => {
      const r = await fetch(`https://127.0.0.1:${p}/api/nodes`, { headers: { authorization: `Bearer ${admin}` }, dispatcher: trusted });
      return ((await r.json()) as { node: string; up: boolean }[]).some((n) => n.node === `${NODE}-start` && n.up);
    });
    expect(start.output()).not.toMatch(/not trusted|cannot connect/);
    await start.stop();
  });

  it('refuses a certificate without its key, and a key that is not the certificate\'s', async () => {
    const half = await zonescope(['server', '--port', '0', '--data', tempDir(), '--tls-cert', pki.cert]);
    expect(half.exitCode).toBe(2);
    expect(String(half.stderr)).toMatch(/--tls-cert and --tls-key go together/);
    const other = await zonescope(['server', '--port', '0', '--data', tempDir(), '--tls-cert', pki.cert, '--tls-key', join(pki.dir, 'wrong-ca.key')]);
    expect(other.exitCode).toBe(2);
    expect(String(other.stderr)).toMatch(/--tls-cert\/--tls-key: '.*server\.crt' and '.*wrong-ca\.key' are not a certificate and its key/);
  });

  it('warns when it serves plain HTTP beyond loopback, naming the risk, and not on loopback', async () => {
    const open = spawnZonescope(['server', '--host', '0.0.0.0', '--port', '0', '--data', tempDir()]);
    await open.waitFor(/zonescope is up/, 45_000);
    // the warning goes to stderr, the banner to stdout: either may be read first
    await open.waitFor(/WARNING: serving plain HTTP/, 10_000);
    expect(open.output()).toMatch(/WARNING: serving plain HTTP on 0\.0\.0\.0:\d+, reachable from other hosts\. Agent and user tokens, session cookies and the fleet inventory cross the network in clear text/);
    expect(open.output()).toMatch(/--tls-cert and --tls-key/);
    await open.stop();
    const local = spawnZonescope(['server', '--host', '127.0.0.1', '--port', '0', '--data', tempDir()]);
    await local.waitFor(/zonescope is up/, 45_000);
    expect(local.output()).not.toMatch(/WARNING/);
    await local.stop();
  });
});
