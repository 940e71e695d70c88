// `zonescope server` and `zonescope start` (server + local agent in one process).
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { loadCa } from '../agent/tls-trust.js';
import { buildApp } from '../server/app.js';
import { bootstrap } from '../server/bootstrap.js';
import { lockDataDir } from '../server/data-lock.js';
import { makeLog } from '../agent/log.js';
import { runAgent } from '../agent/run.js';
import { parse, port, seconds, size, UsageError } from './args.js';
import { parseAlwaysOn } from '../server/always-on.js';
import { limitFlags, limitsHelp, parseLimits } from './server-limits.js';
import { profileFlags, profilesHelp, parseProfiles } from './profile-flags.js';

export const serverHelp = `zonescope server — run the central server

  --port P            port to listen on (default 9080)
  --host ADDR         address to bind (default 0.0.0.0)
  --data DIR          data directory: SQLite store, tokens (default ./data)
  --metrics-token T   require this bearer token on /metrics and /sd
  --retention S       zone history kept per node, seconds (default 3600); stored, so it
                      survives a restart
  --history-flush D   zone history is written to the store this often (default 1m): a
                      server killed without warning (SIGKILL, power loss) loses at most
                      this much; shorter costs more writes (SIGTERM writes everything)
  --trace-retention D stored traces are deleted this long after they ended (default 7d)
  --trace-budget SIZE stored traces take at most this much; the oldest go first
                      (default 1GiB)
  --always-on S[@Z,…] keep curated script S running on every node (on zones Z; default
                      the global zone) and export its histogram; repeatable.
                      Scripts: syscall-latency, io-latency; and cpu-profile, a 19 Hz
                      continuous profile of each zone Z, stored per minute
  --public-url URL    the address browsers use when a proxy stands in front
                      (e.g. https://zonescope.example.com): the Origin they must send
  --trust-proxy A[,…] the proxies in front (addresses, CIDRs, or loopback): their
                      X-Forwarded-For names the client for login limits and the audit log
  --session-ttl D     a browser session ends this long after login (default 12h)
  --session-idle D    ... or this long after its last request (default 1h)
  --tls-cert FILE     serve HTTPS (and WSS for agents and browsers) on the same port with
  --tls-key FILE      this PEM certificate (chain) and key. Without them, on an address
                      other than loopback, the server warns: tokens travel in clear text
${profilesHelp}${limitsHelp}`;

export const startHelp = `zonescope start — run a server and a local agent in one command

  --port P            port to listen on (default 9080)
  --host ADDR         address to bind (default 127.0.0.1)
  --data DIR          data directory (default ./data)
  --interval S        sampling interval, seconds (default 10)
  --platform NAME     linux | illumos (default: detected)
  --node NAME         this node's name (default: the host name)
  --metrics-token T   require this bearer token on /metrics and /sd
  --always-on S[@Z,…] keep a curated script running: histograms to /metrics, cpu-profile
                      as continuous profiles (see server --help)
  --profile-retention D, --profile-budget SIZE         as for server (see server --help)
  --retention S, --history-flush D                     as for server (see server --help)
  --trace-retention D, --trace-budget SIZE             as for server (see server --help)
  --public-url URL, --session-ttl D, --session-idle D   as for server (see server --help)
  --trust-proxy A[,…]                                  as for server (see server --help)
  --tls-cert FILE, --tls-key FILE                      HTTPS and WSS, as for server
  --ca FILE           the CA that signed --tls-cert, for the local agent (default: the
                      certificate itself, which must then be self-signed)
${limitsHelp}`;

const common = {
  port: { type: 'string' },
  host: { type: 'string' },
  data: { type: 'string' },
  'metrics-token': { type: 'string' },
  retention: { type: 'string' },
  'history-flush': { type: 'string' },
  'trace-retention': { type: 'string' },
  'trace-budget': { type: 'string' },
  'always-on': { type: 'string', multiple: true },
  'public-url': { type: 'string' },
  'trust-proxy': { type: 'string' },
  'session-ttl': { type: 'string' },
  'session-idle': { type: 'string' },
  ...limitFlags,
  ...profileFlags,
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

/** --tls-cert/--tls-key read and checked to belong together, so a mistake stops the start
 * with its reason instead of failing every handshake later. */
function tlsFiles(certFile: string | undefined, keyFile: string | undefined): { cert: string; key: string } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--tls-cert and --tls-key go together');
  const read = (flag: string, f: string) => {
    try {
      return readFileSync(f, 'utf8');
    } catch (e) {
      throw new UsageError(`${flag}: cannot read '${f}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const tls = { cert: read('--tls-cert', certFile), key: read('--tls-key', keyFile) };
  try {
    createSecureContext(tls);
  } catch (e) {
    throw new UsageError(`--tls-cert/--tls-key: '${certFile}' and '${keyFile}' are not a certificate and its key: ${(e as Error).message}`);
  }
  return tls;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** Plain HTTP where others can reach it: say what is at stake, once, at start. */
function plainHttpWarning(host: string, port: number): string {
  return (
    `zonescope: WARNING: serving plain HTTP on ${host.includes(':') ? `[${host}]` : host}:${port}, reachable from other hosts. ` +
    'Agent and user tokens, session cookies and the fleet inventory cross the network in clear text: anyone on the path can read them ' +
    'and use the tokens. Give --tls-cert and --tls-key (see README, TLS), or bind --host 127.0.0.1 behind a TLS proxy.\n'
  );
}

/** --public-url: an http(s) origin, since browsers compare their Origin with it. */
function publicUrl(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new UsageError(`--public-url: '${text}' is not a URL (e.g. https://zonescope.example.com)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--public-url: '${text}' must be an http:// or https:// URL`);
  return u.origin;
}

/** --trust-proxy: proxy addresses or CIDRs (or proxy-addr's names), never "any". */
export function trustedProxies(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((x) => x.trim()).filter(Boolean);
  for (const a of list) {
    const [ip, bits, extra] = a.split('/');
    const max = isIP(ip) === 4 ? 32 : 128;
    const ok = ['loopback', 'linklocal', 'uniquelocal'].includes(a) || (isIP(ip) !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= max)));
    if (!ok) throw new UsageError(`--trust-proxy: '${a}' is not an address, a CIDR (10.0.0.0/8) or one of loopback, linklocal, uniquelocal`);
  }
  if (!list.length) throw new UsageError('--trust-proxy: name at least one proxy address');
  return list;
}

async function serve(v: Record<string, string | boolean | string[] | undefined>, defaultHost: string, localAgent = false) {
  const dataDir = resolve((v.data as string) ?? 'data');
  const p = port('--port', v.port as string | undefined, 9080);
  const host = (v.host as string) ?? defaultHost;
  const retentionS = seconds('--retention', v.retention as string | undefined, 3600);
  const flushS = seconds('--history-flush', v['history-flush'] as string | undefined, 60, 3600, 1);
  const traceRetention = {
    maxAgeMs: seconds('--trace-retention', v['trace-retention'] as string | undefined, 7 * 86400, 3650 * 86400) * 1000,
    budgetBytes: size('--trace-budget', v['trace-budget'] as string | undefined, 1024 ** 3),
  };
  const sessions = {
    ttlMs: seconds('--session-ttl', v['session-ttl'] as string | undefined, 12 * 3600, 30 * 86400) * 1000,
    idleMs: seconds('--session-idle', v['session-idle'] as string | undefined, 3600, 30 * 86400) * 1000,
  };
  const publicOrigin = publicUrl(v['public-url'] as string | undefined);
  const trustProxy = trustedProxies(v['trust-proxy'] as string | undefined);
  const limits = parseLimits(v);
  const profiles = parseProfiles(v);
  const tls = tlsFiles(v['tls-cert'] as string | undefined, v['tls-key'] as string | undefined);
  let alwaysOn;
  try {
    alwaysOn = ((v['always-on'] as unknown as string[] | undefined) ?? []).map(parseAlwaysOn);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // before anything opens the store: a second server on this directory stops here
  lockDataDir(dataDir);
  const server = await buildApp({
    dataDir,
    logger: { level: process.env.ZONESCOPE_LOG ?? 'info' },
    metricsToken: v['metrics-token'] as string | undefined,
    fleet: { retentionS, ...limits.fleet },
    historyStore: { chunkMs: flushS * 1000 },
    traceRetention,
    agents: limits.agents,
    alwaysOn,
    profiles,
    sessions,
    publicUrl: publicOrigin,
    trustProxy,
    tls,
  });
  const boot = bootstrap(server.ctx.store, dataDir, localAgent);
  await server.app.listen({ port: p, host });
  const addr = server.app.server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : p;
  if (!tls && !LOOPBACK.test(host)) process.stderr.write(plainHttpWarning(host, actual));
  const shown = host === '0.0.0.0' || host === '::' ? hostname() : host;
  const scheme = tls ? 'https' : 'http';
  const url = `${scheme}://${shown.includes(':') ? `[${shown}]` : shown}:${actual}`;
  return { server, boot, url, port: actual, dataDir, tls, scheme };
}

function banner(url: string, boot: { adminToken: string; adminFile: string; created: boolean }) {
  const lines = [
    '',
    `  zonescope is up: ${url}/`,
    `  Log in with the admin token ${boot.created ? `(shown once here, kept in ${boot.adminFile}):` : `in ${boot.adminFile}`}`,
    ...(boot.created ? [`    ${boot.adminToken}`] : []),
    `  Prometheus: ${url}/metrics   health: ${url}/healthz`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function onSignals(stop: () => Promise<void>) {
  let stopping = false;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      if (stopping) process.exit(1);
      stopping = true;
      void stop().then(() => process.exit(0));
    });
  }
}

export async function serverCommand(argv: string[]) {
  const { values } = parse('server', argv, common);
  if (values.help) return void process.stdout.write(serverHelp);
  const { server, boot, url } = await serve(values, '0.0.0.0');
  banner(url, boot);
  onSignals(() => server.close());
}

export async function startCommand(argv: string[]) {
  const { values } = parse('start', argv, { ...common, interval: { type: 'string' }, platform: { type: 'string' }, node: { type: 'string' }, ca: { type: 'string' } });
  if (values.help) return void process.stdout.write(startHelp);
  const intervalS = seconds('--interval', values.interval, 10, 3600);
  if (values.platform && !['linux', 'illumos'].includes(values.platform)) throw new UsageError(`start: --platform must be linux or illumos, not '${values.platform}'`);
  let ca: string | undefined;
  try {
    ca = values.ca === undefined ? undefined : loadCa(values.ca);
  } catch (e) {
    throw new UsageError(`start: ${(e as Error).message}`);
  }
  const { server, boot, port: p, tls, scheme } = await serve(values, '127.0.0.1', true);
  const host = values.host ?? '127.0.0.1';
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host;
  const bracketed = local.includes(':') && !local.startsWith('[') ? `[${local}]` : local;
  // over TLS the local agent trusts the CA (or the self-signed certificate) and accepts only
  // this server's certificate, whatever names it holds: it connects by a loopback address
  const trust = tls && { ca: ca ?? tls.cert, pin: new X509Certificate(tls.cert).fingerprint256 };
  const agent = await runAgent({ server: `${tls ? 'wss' : 'ws'}://${bracketed}:${p}/agent`, token: boot.agentToken!, node: values.node, intervalS, platform: values.platform, log: makeLog('agent'), ...trust });
  banner(`${scheme}://${bracketed}:${p}`, boot);
  onSignals(async () => {
    await agent.stop();
    await server.close();
  });
}
