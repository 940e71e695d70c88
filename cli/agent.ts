// `zonescope agent`: the per-node agent, connecting to a central server.
import { readFileSync, statSync } from 'node:fs';
import { makeLog } from '../agent/log.js';
import { runAgent } from '../agent/run.js';
import { parse, seconds, UsageError } from './args.js';
import { parseListen } from '../agent/metrics-listen.js';
import { loadCa } from '../agent/tls-trust.js';

export const agentHelp = `zonescope agent — run the node agent

  --server URL        the server (http://host:9080 or ws://host:9080/agent); env ZONESCOPE_SERVER
  --token-file F      file holding the agent token (zonescope token create --role agent);
                      or env ZONESCOPE_TOKEN. (--token T still works but shows the token
                      to every user of the host in process listings.)
  --node NAME         this node's name (default: the host name)
  --interval S        sampling interval, seconds (default 10)
  --platform NAME     linux | illumos (default: detected). illumos on Linux runs the
                      stand-ins under test/fakes/illumos/bin when they are first on PATH
  --metrics-listen A  also serve this node's /metrics on [HOST]:PORT (listed by the server's /sd)
  --metrics-token T   require this bearer token on that /metrics
  --control-only      with --metrics-listen: samples stay on this node (Prometheus scrapes
                      them there, found through the server's /sd); the server gets only
                      hello, zones, traces and VM actions — for fleets past ~1,000 nodes
  --ca FILE           trust the CA certificate(s) in this PEM file for an https:// server
                      (a private CA), instead of the system's
`;

export async function agentCommand(argv: string[]) {
  const { values } = parse('agent', argv, {
    server: { type: 'string' },
    token: { type: 'string' },
    'token-file': { type: 'string' },
    node: { type: 'string' },
    interval: { type: 'string' },
    platform: { type: 'string' },
    'metrics-listen': { type: 'string' },
    'metrics-token': { type: 'string' },
    'control-only': { type: 'boolean' },
    ca: { type: 'string' },
  });
  if (values.help) return void process.stdout.write(agentHelp);
  const server = values.server ?? process.env.ZONESCOPE_SERVER;
  if (!server) throw new UsageError('agent: --server URL is required (or ZONESCOPE_SERVER)');
  try {
    new URL(server);
  } catch {
    throw new UsageError(`agent: --server '${server}' is not a URL`);
  }
  if (values.platform && !['linux', 'illumos'].includes(values.platform)) throw new UsageError(`agent: --platform must be linux or illumos, not '${values.platform}'`);
  if (values.node !== undefined && !/^[A-Za-z0-9_.:@-]{1,256}$/.test(values.node)) throw new UsageError(`agent: --node '${values.node}' may hold only letters, digits and _.:@-`);
  const intervalS = seconds('--interval', values.interval, 10, 3600);
  if (values['metrics-listen'] !== undefined) {
    try {
      parseListen(values['metrics-listen']);
    } catch (e) {
      throw new UsageError(`agent: ${(e as Error).message}`);
    }
  }
  const log = makeLog('agent');
  const token = readToken(values['token-file'], values.token, log);
  if (!token) throw new UsageError('agent: --token-file F is required (or ZONESCOPE_TOKEN)');
  let ca: string | undefined;
  try {
    ca = values.ca === undefined ? undefined : loadCa(values.ca);
  } catch (e) {
    throw new UsageError(`agent: ${(e as Error).message}`);
  }
  if (values['control-only'] && values['metrics-listen'] === undefined) throw new UsageError('agent: --control-only needs --metrics-listen: the samples must be served somewhere');
  const a = await runAgent({
    server,
    token,
    node: values.node,
    intervalS,
    platform: values.platform,
    log,
    metricsListen: values['metrics-listen'],
    metricsToken: values['metrics-token'],
    controlOnly: values['control-only'],
    ca,
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void a.stop().then(() => process.exit(0)));
}

/** The token from --token-file, ZONESCOPE_TOKEN or (discouraged) --token: never kept in argv. */
export function readToken(file: string | undefined, arg: string | undefined, log: { warn(m: string): void }, cmd = 'agent'): string | undefined {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`${cmd}: --token-file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    if (statSync(file).mode & 0o077) log.warn(`--token-file ${file} is readable by other users: chmod 600 it`);
    const t = text.trim();
    if (!t) throw new UsageError(`${cmd}: --token-file ${file} is empty`);
    return t;
  }
  if (arg !== undefined) {
    log.warn('--token puts the token in the process listing for every user of this host to read: use --token-file or ZONESCOPE_TOKEN');
    return arg;
  }
  return process.env.ZONESCOPE_TOKEN;
}
