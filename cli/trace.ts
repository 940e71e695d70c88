// `zonescope trace`: runs a curated script on one zone through the server, shows progress on
// stderr while it runs and prints the result on stdout at the end; exits 1 if it failed.
import { hostname } from 'node:os';
import type { TraceRecord } from '../protocol/records.js';
import { Agent, fetch } from 'undici';
import { parse, seconds, UsageError } from './args.js';
import { explainConnectError, loadCa } from '../agent/tls-trust.js';

export const traceHelp = `zonescope trace — run a curated trace on one zone and print the result

Usage: zonescope trace SCRIPT --zone Z [--node N] [--duration 10s] [--param k=v]...
                       [--format folded|json|text] [--server URL] [--token T] [--ca FILE]

  SCRIPT            a script id (zonescope scripts lists them)
  --zone Z          the zone (global = the whole node)
  --node N          the node (default: this host's name)
  --duration D      how long to trace: 10, 10s, 2m (default: the script's default)
  --param k=v       a script parameter, repeatable (e.g. --param hz=199)
  --format F        folded (flame graph input; default for flame scripts), json (the whole
                    trace) or text (a table; default for the others)
  --server URL      the zonescope server; env ZONESCOPE_SERVER
  --token T         an operator token; env ZONESCOPE_TOKEN
  --ca FILE         trust the CA certificate(s) in this PEM file for an https:// server
                    (a private CA), instead of the system's
`;

interface Summary {
  id: string;
  status: string;
  progress: number;
  intervals: number;
  output: string;
  error?: string;
  drops: Record<string, number>;
  errors: number;
  records?: TraceRecord[];
}

const ENDED = new Set(['done', 'stopped', 'failed']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function traceCommand(argv: string[]) {
  const { values, positionals } = parse(
    'trace',
    argv,
    {
      node: { type: 'string' },
      zone: { type: 'string' },
      duration: { type: 'string' },
      param: { type: 'string', multiple: true },
      format: { type: 'string' },
      server: { type: 'string' },
      token: { type: 'string' },
      ca: { type: 'string' },
    },
    true,
  );
  if (values.help) return void process.stdout.write(traceHelp);
  const [script, ...extra] = positionals;
  if (!script) throw new UsageError('trace: which script? (zonescope scripts lists them)');
  if (extra.length) throw new UsageError(`trace: one script at a time (got ${positionals.join(', ')})`);
  if (!values.zone) throw new UsageError('trace: --zone Z is required (global = the whole node)');
  const server = values.server ?? process.env.ZONESCOPE_SERVER;
  const token = values.token ?? process.env.ZONESCOPE_TOKEN;
  if (!server) throw new UsageError('trace: --server URL is required (or ZONESCOPE_SERVER)');
  if (!token) throw new UsageError('trace: --token T is required (or ZONESCOPE_TOKEN)');
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new UsageError(`trace: --server '${server}' is not a URL`);
  }
  if (base.protocol === 'ws:') base.protocol = 'http:';
  if (base.protocol === 'wss:') base.protocol = 'https:';
  const format = values.format;
  if (format !== undefined && !['folded', 'json', 'text'].includes(format)) throw new UsageError(`trace: --format must be folded, json or text, not '${format}'`);
  const params: Record<string, string> = {};
  for (const p of values.param ?? []) {
    const eq = p.indexOf('=');
    if (eq < 1) throw new UsageError(`trace: --param '${p}' is not k=v`);
    params[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const durationS = values.duration === undefined ? undefined : Math.ceil(seconds('--duration', values.duration, 10, 3600));
  const node = values.node ?? hostname();
  let dispatcher: Agent | undefined;
  try {
    dispatcher = values.ca === undefined ? undefined : new Agent({ connect: { ca: loadCa(values.ca) } });
  } catch (e) {
    throw new UsageError(`trace: ${(e as Error).message}`);
  }

  const api = async (method: string, path: string, body?: unknown, text = false) => {
    const res = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      dispatcher,
    }).catch((e: Error) => {
      throw new Error(`cannot reach the server at ${base.origin}: ${explainConnectError(e).message}`);
    });
    if (!res.ok) {
      const err = (await res.json().catch(() => ({}))) as { message?: string };
      throw new Error(`${method} ${path}: HTTP ${res.status}${err.message ? `: ${err.message}` : ''}`);
    }
    return text ? res.text() : res.json();
  };

  const { id } = (await api('POST', '/api/traces', { node, zone: values.zone, script, params, ...(durationS ? { durationS } : {}) })) as { id: string };
  let stopping = false;
  const onInt = () => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stderr.write('\nstopping the trace (Ctrl-C again to leave it running)\n');
    void api('DELETE', `/api/traces/${id}`).catch(() => {});
  };
  process.on('SIGINT', onInt);
  const tty = process.stderr.isTTY;
  let t: Summary;
  let lastLine = '';
  for (;;) {
    t = (await api('GET', `/api/traces/${id}`)) as Summary;
    const drops = Object.values(t.drops).reduce((a, b) => a + b, 0);
    const line = `${script} on ${node}/${values.zone}: ${t.status} ${Math.round(t.progress * 100)}%, ${t.intervals} interval${t.intervals === 1 ? '' : 's'}${drops ? `, ${drops} drops` : ''}${t.errors ? `, ${t.errors} errors` : ''}`;
    if (line !== lastLine) process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    lastLine = line;
    if (ENDED.has(t.status)) break;
    await sleep(1000);
  }
  if (tty) process.stderr.write('\n');
  process.off('SIGINT', onInt);
  if (t.status === 'failed') throw new Error(`trace ${id} failed: ${t.error ?? 'no reason given'}`);
  const fmt = format ?? (t.output === 'flame' ? 'folded' : 'text');
  if (fmt === 'json') return void process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
  if (fmt === 'folded') return void process.stdout.write((await api('GET', `/api/traces/${id}/folded`, undefined, true)) as string);
  process.stdout.write(textOf(t.records ?? []));
}

const keyText = (keys: (string | number)[]) => keys.map(String).join('  ') || '(all)';

/** Scalars as a table sorted by value, histograms as bucket rows, stacks as folded-like lines. */
export function textOf(records: TraceRecord[]): string {
  let out = '';
  const scalars = records.filter((r) => r.kind === 'scalar' || r.kind === 'stack') as Extract<TraceRecord, { value: number }>[];
  for (const r of scalars.sort((a, b) => b.value - a.value)) {
    const k = r.kind === 'stack' ? [...r.stack].reverse().join(';') : keyText(r.keys);
    out += `${String(r.value).padStart(14)}  ${r.agg ? `@${r.agg} ` : ''}${k}\n`;
  }
  for (const r of records) {
    if (r.kind === 'hist') {
      const total = r.buckets.reduce((a, b) => a + b.count, 0);
      out += `\n@${r.agg} ${keyText(r.keys)} (${total})\n`;
      const max = Math.max(1, ...r.buckets.map((b) => b.count));
      for (const b of r.buckets) out += `  [${b.lo ?? '-inf'}, ${b.hi ?? '+inf'})`.padEnd(34) + `${String(b.count).padStart(10)} |${'@'.repeat(Math.round((b.count / max) * 40))}\n`;
    } else if (r.kind === 'stats') out += `@${r.agg} ${keyText(r.keys)}: count ${r.count} avg ${r.avg} total ${r.total}\n`;
    else if (r.kind === 'printf') out += r.text.endsWith('\n') ? r.text : `${r.text}\n`;
  }
  return out || '(no records)\n';
}
