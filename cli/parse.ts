// `zonescope parse`: a capture → trace records as JSON lines (the model of protocol/records.ts).
// Counts past 2^53 print as strings of their digits, so nothing is rounded.
import { readFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { parseBpftraceCapture } from '../agent/parse/bpftrace-text.js';
import { DtraceIntervalSplitter, parseDtraceCapture, type AggNames, type IntervalText, type LineError, type Skipped } from '../agent/parse/dtrace.js';
import { printaNames } from '../agent/tracers/dtrace.js';
import { exactJson } from '../agent/parse/exact.js';
import { parse, UsageError } from './args.js';
import { openInput, write } from './input.js';

export const parseHelp = `zonescope parse — parse tracer output into JSON records, one per line

Usage: zonescope parse dtrace [--script X.d] [FILE|-]
       zonescope parse bpftrace [FILE|-]

  dtrace      aggregation output (printa / exit-time printing), as captured or pasted:
              prompts, dtrace: banners, ^C, probe lines, printf output and prose around
              it are skipped and summed up on stderr; zonescope interval markers split it
              so that only one interval is held in memory
  bpftrace    text output (the default: maps, hist/lhist, stats, stack keys) or -f json
              output, told apart line by line; other lines are skipped and summed up
  --script X.d  the D script that printed the capture: its printa() calls name the
              aggregations (DTrace prints no names) and say which print side by side
  FILE        the capture to read; - or nothing reads standard input

Exit status: 0 when every block of map or aggregation output was read; 1 when one could not be
(the line is named, and every record around it is still printed).
`;

const REASONS: Record<Skipped['why'], string> = {
  prompt: 'shell prompts and ^C',
  banner: 'dtrace: messages',
  probe: 'probe lines and what they traced',
  elision: 'elisions (...)',
  text: 'other text (printf output, prose)',
};

/** `3 shell prompts and ^C (lines 1, 3, 11)`, at most a few line numbers each. */
function summary(skipped: Skipped[]): string {
  const by = new Map<Skipped['why'], number[]>();
  for (const s of skipped) (by.get(s.why) ?? by.set(s.why, []).get(s.why)!).push(s.line);
  const parts = [...by].map(([why, lines]) => {
    const shown = lines.slice(0, 5).join(', ') + (lines.length > 5 ? ', …' : '');
    return `  ${lines.length} ${REASONS[why]} (line${lines.length > 1 ? 's' : ''} ${shown})`;
  });
  return `parse: skipped ${skipped.length} line${skipped.length === 1 ? '' : 's'} that are not aggregation output:\n${parts.join('\n')}\n`;
}

async function parseDtrace(input: AsyncIterable<Buffer>, emit: (r: unknown[]) => Promise<void>, names: AggNames) {
  const split = new DtraceIntervalSplitter();
  const dec = new StringDecoder('utf8');
  const skipped: Skipped[] = [];
  const errors: LineError[] = [];
  const take = async (pieces: IntervalText[]) => {
    for (const { text, line } of pieces) {
      const c = parseDtraceCapture(text, names, line);
      await emit(c.records);
      skipped.push(...c.skipped);
      errors.push(...c.errors);
    }
  };
  for await (const chunk of input) await take(split.push(dec.write(chunk)));
  await take(split.push(dec.end()));
  await take(split.end());
  report(skipped, errors);
}

/** What was skipped on stderr; what could not be read makes the command fail, naming its lines. */
function report(skipped: Skipped[], errors: LineError[]) {
  if (skipped.length) process.stderr.write(summary(skipped));
  if (errors.length) {
    const lines = errors.map((e) => `line ${e.line}: ${e.message}: ${e.text.trim().slice(0, 200)}`);
    throw new Error(`parse: ${errors.length === 1 ? lines[0] : `${errors.length} blocks could not be read:\n  ${lines.join('\n  ')}`}`);
  }
}

/** bpftrace text (the default) or -f json, told apart line by line; read whole. */
async function parseBpftrace(input: AsyncIterable<Buffer>, emit: (r: unknown[]) => Promise<void>) {
  const dec = new StringDecoder('utf8');
  let text = '';
  for await (const chunk of input) text += dec.write(chunk);
  text += dec.end();
  const c = parseBpftraceCapture(text);
  await emit(c.records);
  report(c.skipped.map((s) => ({ ...s, why: 'text' as const })), c.errors);
}

export async function parseCommand(argv: string[]) {
  const { values, positionals } = parse('parse', argv, { script: { type: 'string' } }, true);
  if (values.help) return void process.stdout.write(parseHelp);
  const [from, file, ...extra] = positionals;
  if (from !== 'dtrace' && from !== 'bpftrace') throw new UsageError(`parse: the first argument must be dtrace or bpftrace${from ? `, not '${from}'` : ''}`);
  if (extra.length) throw new UsageError(`parse: one input at most`);
  if (values.script !== undefined && from !== 'dtrace') throw new UsageError('parse: --script is for dtrace captures');
  let names: AggNames = [];
  if (values.script !== undefined) {
    try {
      names = printaNames(await readFile(values.script, 'utf8'));
    } catch (e) {
      throw new UsageError(`parse: cannot read --script '${values.script}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const input = await openInput('parse', file);
  const emit = async (records: unknown[]) => {
    if (records.length) await write(records.map((r) => JSON.stringify(r, exactJson)).join('\n') + '\n');
  };
  return from === 'dtrace' ? parseDtrace(input, emit, names) : parseBpftrace(input, emit);
}
