// `zonescope agent`: the per-node agent, connecting to a central server.
import { makeLog } from '../log.js';
import { runAgent } from '../run.js';
import { parse, seconds, UsageError } from './args.js';

export const agentHelp = `zonescope agent — run the node agent

  --server URL        the server (http://host:9080 or ws://host:9080/agent); env ZONESCOPE_SERVER
  --token T           an agent token (zonescope token create --role agent); env ZONESCOPE_TOKEN
  --node NAME         this node's name (default: the host name)
  --interval S        sampling interval, seconds (default 10)
  --platform NAME     linux | illumos (default: detected). illumos on Linux runs the
                      stand-ins under test/fakes/illumos/bin when they are first on PATH
`;

export async function agentCommand(argv: string[]) {
  const { values } = parse('agent', argv, {
    server: { type: 'string' },
    token: { type: 'string' },
    node: { type: 'string' },
    interval: { type: 'string' },
    platform: { type: 'string' },
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
  const a = await runAgent({ server, token, node: values.node, intervalS, platform: values.platform, log: makeLog('agent') });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void a.stop().then(() => process.exit(0)));
}
