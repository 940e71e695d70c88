// `zonescope parse`: a capture → trace records as JSON lines (the model of protocol/records.ts).
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parseBpftraceLine } from '../agent/parse/bpftrace.js';
import { DtraceIntervalSplitter, parseDtraceAggregations } from '../agent/parse/dtrace.js';
import { parse, UsageError } from './args.js';
import { openInput, write } from './input.js';

export const parseHelp = `zonescope parse — parse tracer output into JSON records, one per line

Usage: zonescope parse dtrace|bpftrace [FILE|-]

  dtrace      aggregation output (printa / exit-time printing); zonescope interval markers
              split it so that only one interval is held in memory
  bpftrace    -f json output, one JSON object per line
  FILE        the capture to read; - or nothing reads standard input
`;

export async function parseCommand(argv: string[]) {
  const { values, positionals } = parse('parse', argv, {}, true);
  if (values.help) return void process.stdout.write(parseHelp);
  const [from, file, ...extra] = positionals;
  if (from !== 'dtrace' && from !== 'bpftrace') throw new UsageError(`parse: the first argument must be dtrace or bpftrace${from ? `, not '${from}'` : ''}`);
  if (extra.length) throw new UsageError(`parse: one input at most`);
  const input = await openInput('parse', file);
  const emit = async (records: unknown[]) => {
    if (records.length) await write(records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  };
  if (from === 'dtrace') {
    const split = new DtraceIntervalSplitter();
    const dec = new StringDecoder('utf8');
    for await (const chunk of input) for (const text of split.push(dec.write(chunk as Buffer))) await emit(parseDtraceAggregations(text));
    for (const text of split.push(dec.end())) await emit(parseDtraceAggregations(text));
    for (const text of split.end()) await emit(parseDtraceAggregations(text));
    return;
  }
  let n = 0;
  for await (const line of createInterface({ input: Readable.from(input), crlfDelay: Infinity })) {
    n++;
    try {
      const r = parseBpftraceLine(line);
      await emit(r.records);
    } catch (e) {
      throw new Error(`parse: line ${n}: ${(e as Error).message}`);
    }
  }
}
