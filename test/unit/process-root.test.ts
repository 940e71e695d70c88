// Which process a stack belongs to: the folded export roots stacks at the program name (as
// FlameGraph's perf and bpftrace collapsers do), the flame graph can take that level off
// again, and the trace page ranks processes by their samples.
import { describe, it, expect } from 'vitest';
import { foldStacks, formatFolded } from '../../protocol/folded.js';
import { withoutRoot } from '../../web/src/flamegraph/process-root.js';
import { topProcesses } from '../../web/src/views/trace-processes.js';
import type { TraceRecord } from '../../protocol/records.js';

const stack = (pid: number, comm: string, frames: string[], value: number, kernel = 0): TraceRecord => ({ kind: 'stack', agg: 'samples', keys: [pid, comm], stack: frames, kernel, value });
const records: TraceRecord[] = [
  stack(10, 'node', ['Builtins_JSEntry+0x10', 'main+0x4'], 30),
  stack(11, 'node', ['Builtins_JSEntry+0x10', 'main+0x4'], 20),
  stack(20, 'burner', ['zonescope_hot_spin+0x1c', 'main+0x11'], 45),
  stack(30, 'sh;evil', ['do_idle+3'], 5, 1),
  { kind: 'stack', agg: 'samples', keys: [], stack: ['unix`cpu_halt+0x10'], kernel: 1, value: 7 },
];

describe('process-rooted stacks', () => {
  it('the folded export starts each stack at its program, processes of one program merged', () => {
    expect(formatFolded(foldStacks(records))).toBe(
      'burner;main;zonescope_hot_spin 45\n' + 'node;main;Builtins_JSEntry 50\n' + 'sh:evil;do_idle 5\n' + 'unix`cpu_halt 7\n',
    );
    expect(formatFolded(foldStacks(records, { processRoot: false }))).toContain('main;Builtins_JSEntry 50\n');
  });

  it('the flame graph can take the process level off, merging what then coincides', () => {
    const m = withoutRoot('node;main;f 3\nworker;main;f 4\nburner;main;hot 5\nlonely 2\n');
    expect([...m]).toEqual([
      ['main;f', 7],
      ['main;hot', 5],
      ['lonely', 2],
    ]);
    expect([...withoutRoot(new Map([['a;b', 1]]))]).toEqual([['b', 1]]);
  });

  it('ranks processes by pid with their share of the samples', () => {
    const { top, total, count } = topProcesses(records, 2);
    expect(top).toEqual([
      { pid: 20, comm: 'burner', value: 45 },
      { pid: 10, comm: 'node', value: 30 },
    ]);
    expect(total).toBe(100);
    expect(count).toBe(4);
  });
});
