#!/usr/bin/env node
// The zonescope command: one binary for the server, the agent and the operator's tools.
import { UsageError } from './args.js';
import { VERSION } from '../protocol/version.js';

const HELP = `zonescope ${VERSION} — per-zone observability and tracing for SmartOS and Linux

Usage: zonescope <command> [flags]     (zonescope <command> --help for its flags)

  start     run a server and a local agent (the quickest way to try it)
  server    run the central server
  agent     run a node agent
  token     create, list and revoke access tokens
  audit     read the audit log (who did what, to which tenant's zone)
  scripts   list the curated trace scripts
  trace     run a curated trace on one zone and print the result
  fold      fold DTrace/bpftrace stack output into flame graph input
  parse     parse DTrace/bpftrace output into JSON records
  simulate  run simulated SmartOS nodes (agents) in one process
`;

type Command = (argv: string[]) => Promise<void>;
const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./server.js')).startCommand,
  server: async () => (await import('./server.js')).serverCommand,
  agent: async () => (await import('./agent.js')).agentCommand,
  token: async () => (await import('./token.js')).tokenCommand,
  audit: async () => (await import('./audit.js')).auditCommand,
  scripts: async () => (await import('./scripts.js')).scriptsCommand,
  trace: async () => (await import('./trace.js')).traceCommand,
  fold: async () => (await import('./fold.js')).foldCommand,
  parse: async () => (await import('./parse.js')).parseCommand,
  simulate: async () => (await import('./simulate.js')).simulateCommand,
};

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') return void process.stdout.write(HELP);
  if (cmd === '--version' || cmd === '-V') return void process.stdout.write(`${VERSION}\n`);
  const load = commands[cmd];
  if (!load) throw new UsageError(`unknown command '${cmd}' (zonescope --help lists them)`);
  await (await load())(rest);
}

main(process.argv.slice(2)).catch((e) => {
  if (e instanceof UsageError) {
    process.stderr.write(`zonescope ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`zonescope: ${(e as Error)?.message ?? e}\n`);
  if (process.env.ZONESCOPE_LOG === 'debug') process.stderr.write(`${(e as Error)?.stack}\n`);
  process.exit(1);
});
