// `zonescope trace`: runs a curated script on one zone through the server, shows progress on
// stderr while it runs and prints the result on stdout at the end; exits 1 if it failed, 3 if
// it is partial (the result is printed, the reasons go to stderr).
import { hostname } from 'node:os';
import type { TraceRecord } from '../protocol/records.js';
import { bytewise, foldStacks, processOf } from '../protocol/folded.js';
import { roots, topFunctions } from '../protocol/stacks.js';
import { parse, seconds, UsageError } from './args.js';
import { client } from './client.js';

export const traceHelp = `zonescope trace — run a curated trace on one zone and print the result

Usage: zonescope trace SCRIPT --zone Z [--node N] [--duration 10s] [--param k=v]...
                       [--format folded|json|text] [--server URL] [--token T] [--ca FILE]

  SCRIPT            a script id (zonescope scripts lists them)
  --zone Z          the zone (global = the whole node)
  --node N          the node (default: this host's name)
  --duration D      how long to trace: 10, 10s, 2m (default: the script's default)
  --param k=v       a script parameter, repeatable (e.g. --param hz=199)
  --format F        folded (flame graph input; default for flame scripts), json (the whole
                    trace) or text (a table; default for the others; for a flame script its
                    programs and its top functions by self and total)
  --server URL      the zonescope server; env ZONESCOPE_SERVER
  --token T         an operator token; env ZONESCOPE_TOKEN
  --ca FILE         trust the CA certificate(s) in this PEM file for an https:// server
                    (a private CA), instead of the system's

Exit status: 0 done or stopped, 1 failed (the tracer's message on stderr), 3 partial (the
result on stdout, what is missing and why on stderr), 2 bad usage.
`;

interface Summary {
  id: string;
  status: string;
  progress: number;
  intervals: number;
  output: string;
  error?: string;
  reasons?: string[];
  samplesLost?: number;
  unit?: string;
  drops: Record<string, number>;
  errors: number;
  records?: TraceRecord[];
}

const ENDED = new Set(['done', 'partial', 'stopped', 'failed']);
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
  const { api, text } = client('trace', values);
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
    const line = `${script} on ${node}/${values.zone}: ${t.status} ${Math.round(t.progress * 100)}%, ${t.intervals} interval${t.intervals === 1 ? '' : 's'}${t.samplesLost ? `, ${t.samplesLost} ${t.unit ?? 'samples'} lost` : ''}${drops ? `, ${drops} drops` : ''}${t.errors ? `, ${t.errors} errors` : ''}`;
    if (line !== lastLine) process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    lastLine = line;
    if (ENDED.has(t.status)) break;
    await sleep(1000);
  }
  if (tty) process.stderr.write('\n');
  process.off('SIGINT', onInt);
  if (t.status === 'failed') throw new Error(`trace ${id} failed: ${t.error ?? 'no reason given'}`);
  // what is missing and why, in words: never only a status
  for (const r of t.reasons ?? []) process.stderr.write(`${t.status}: ${r}\n`);
  const fmt = format ?? (t.output === 'flame' ? 'folded' : 'text');
  if (fmt === 'json') process.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
  else if (fmt === 'folded') {
    if (!(t.records ?? []).some((r) => r.kind === 'stack')) throw new Error(`trace ${id} ${t.status} with no stacks: nothing to fold`);
    process.stdout.write(await text(`/api/traces/${id}/folded`));
  } else process.stdout.write(t.output === 'flame' ? topText(t.records ?? [], t.unit ?? 'samples') : textOf(t.records ?? []));
  if (t.status === 'partial') process.exitCode = 3;
}

const keyText = (keys: (string | number)[]) => keys.map(String).join('  ') || '(all)';

/**
 * A flame script's result for a terminal: its programs (when stacks say which process they are
 * of) and its functions by self weight, with total weight and shares — the flame graph's top
 * table, what an engineer reads first without a browser. `rows`: functions listed.
 */
export function topText(records: TraceRecord[], unit: string, rows = 25): string {
  const stacks = [...foldStacks(records)].map(([k, value]) => ({ frames: k.split(';'), value })).filter((s) => s.value > 0);
  const total = stacks.reduce((a, s) => a + s.value, 0);
  if (!total) return '(no stacks)\n';
  const byProcess = records.some((r) => processOf(r));
  const pct = (v: number) => `${((v / total) * 100).toFixed(1)}%`.padStart(7);
  const num = (v: number) => v.toLocaleString('en-US').padStart(14);
  let out = `${total.toLocaleString('en-US')} ${unit} in ${stacks.length.toLocaleString('en-US')} distinct stacks\n`;
  if (byProcess) {
    const progs = roots(stacks);
    out += `\n${'PROGRAM'.padEnd(24)}${`${unit.toUpperCase()}`.padStart(14)}${'SHARE'.padStart(7)}\n`;
    for (const p of progs.slice(0, 10)) out += `${p.name.slice(0, 23).padEnd(24)}${num(p.value)}${pct(p.value)}\n`;
    if (progs.length > 10) out += `(${progs.length - 10} more programs)\n`;
  }
  const fns = topFunctions(stacks, byProcess).sort((a, b) => b.self - a.self || b.total - a.total || bytewise(a.name, b.name));
  out += `\n${'SELF'.padStart(14)}${'SELF%'.padStart(7)}${'TOTAL'.padStart(14)}${'TOTAL%'.padStart(7)}  FUNCTION (${unit})\n`;
  for (const f of fns.slice(0, rows)) out += `${num(f.self)}${pct(f.self)}${num(f.total)}${pct(f.total)}  ${f.name}\n`;
  if (fns.length > rows) out += `(${fns.length - rows} more functions; --format folded gives every stack)\n`;
  return out;
}

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
