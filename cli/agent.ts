// `zonescope agent`: the per-node agent, connecting to a central server.
import { makeLog } from '../agent/log.js';
import { runAgent } from '../agent/run.js';
import { parse, seconds, UsageError } from './args.js';
import { parseListen } from '../agent/metrics-listen.js';

export const agentHelp = `zonescope agent — run the node agent

  --server URL        the server (http://host:9080 or ws://host:9080/agent); env ZONESCOPE_SERVER
  --token T           an agent token (zonescope token create --role agent); env ZONESCOPE_TOKEN
  --node NAME         this node's name (default: the host name)
  --interval S        sampling interval, seconds (default 10)
  --platform NAME     linux | illumos (default: detected). illumos on Linux runs the
                      stand-ins under test/fakes/illumos/bin when they are first on PATH
  --metrics-listen A  also serve this node's /metrics on [HOST]:PORT (listed by the server's /sd)
  --metrics-token T   require this bearer token on that /metrics
`;

export async function agentCommand(argv: string[]) {
  const { values } = parse('agent', argv, {
    server: { type: 'string' },
    token: { type: 'string' },
    node: { type: 'string' },
    interval: { type: 'string' },
    platform: { type: 'string' },
    'metrics-listen': { type: 'string' },
    'metrics-token': { type: 'string' },
  });
  if (values.help) return void process.stdout.write(agentHelp);
  const server = values.server ?? process.env.ZONESCOPE_SERVER;
  const token = values.token ?? process.env.ZONESCOPE_TOKEN;
  if (!server) throw new UsageError('agent: --server URL is required (or ZONESCOPE_SERVER)');
  if (!token) throw new UsageError('agent: --token T is required (or ZONESCOPE_TOKEN)');
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
  const a = await runAgent({
    server,
    token,
    node: values.node,
    intervalS,
    platform: values.platform,
    log: makeLog('agent'),
    metricsListen: values['metrics-listen'],
    metricsToken: values['metrics-token'],
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void a.stop().then(() => process.exit(0)));
}
