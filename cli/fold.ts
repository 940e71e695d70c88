// `zonescope fold`: DTrace stack aggregation text or bpftrace JSON → folded stacks, the input
// of flamegraph.pl. Streams: memory follows the number of distinct stacks, not the input.
import { foldStream } from '../agent/parse/fold.js';
import { parse, UsageError } from './args.js';
import { openInput, write } from './input.js';

export const foldHelp = `zonescope fold — fold stack output into flame graph input (root;...;leaf COUNT)

Usage: zonescope fold [--from dtrace|bpftrace] [--keep-offsets] [--annotate] [FILE|-]

  --from T          input format: dtrace (printa of stack()/ustack() keys, default) or
                    bpftrace (-f json output)
  --keep-offsets    keep +0x1a offsets in frame names (stripped by default, like stackcollapse.pl)
  --annotate        suffix kernel frames with _[k] (flamegraph.pl colors them)
  FILE              the capture to read; - or nothing reads standard input
`;

export async function foldCommand(argv: string[]) {
  const { values, positionals } = parse('fold', argv, { from: { type: 'string' }, 'keep-offsets': { type: 'boolean' }, annotate: { type: 'boolean' } }, true);
  if (values.help) return void process.stdout.write(foldHelp);
  const from = values.from ?? 'dtrace';
  if (from !== 'dtrace' && from !== 'bpftrace') throw new UsageError(`fold: --from must be dtrace or bpftrace, not '${from}'`);
  if (positionals.length > 1) throw new UsageError(`fold: one input at most (got ${positionals.length})`);
  const input = await openInput('fold', positionals[0]);
  for await (const chunk of foldStream(input, from, { keepOffsets: !!values['keep-offsets'], annotateKernel: !!values.annotate })) await write(chunk);
}
