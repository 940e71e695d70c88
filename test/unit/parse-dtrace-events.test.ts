import { describe, expect, it } from 'vitest';
import { AllocJoin } from '../../agent/parse/dtrace-events.js';
import { foldStacks, formatFolded } from '../../protocol/folded.js';

// what memleak.d prints: printf lines, each malloc followed by its ustack() (indented frames
// between blank lines), as DTrace prints a stack action
const alloc = (addr: string, size: number, ...frames: string[]) => `zs_alloc ${addr} ${size}\n\n${frames.map((f) => `              ${f}`).join('\n')}\n\n`;
const LEAKY = ['libc.so.1`malloc+0x6', 'app`leaky_alloc+0xe', 'app`main+0x2d', 'app`_start+0x6c'];
const FINE = ['libc.so.1`malloc+0x6', 'app`fine_alloc+0xe', 'app`main+0x32', 'app`_start+0x6c'];

describe('outstanding allocations from DTrace alloc/free events', () => {
  it('charges each free to the stack that allocated, across intervals', () => {
    const j = new AllocJoin();
    const one = j.interval(alloc('8066a10', 4096, ...LEAKY) + alloc('8066b20', 100, ...FINE) + 'zs_free 8066b20\n' + alloc('8067000', 100, ...FINE));
    // the second fine allocation is freed in the next interval
    const two = j.interval('zs_free 8067000\n' + alloc('8068000', 4096, ...LEAKY) + 'zs_free deadbeef\n');
    const folded = formatFolded(foldStacks([...one.records, ...two.records]));
    expect(folded).toBe('app`_start;app`main;app`leaky_alloc;libc.so.1`malloc 8192\n');
    expect(one.records.find((r) => r.stack.includes('app`fine_alloc+0xe'))!.value).toBe(100);
    expect(two.records.find((r) => r.stack.includes('app`fine_alloc+0xe'))!.value).toBe(-100);
  });

  it('treats a reused address as the old allocation gone, and says when it stops tracking', () => {
    const j = new AllocJoin({ maxLive: 2 });
    const r = j.interval(alloc('10', 1, ...LEAKY) + alloc('10', 5, ...FINE) + alloc('20', 7, ...LEAKY) + alloc('30', 9, ...LEAKY));
    const by = (fr: string) => r.records.filter((x) => x.stack.includes(fr)).reduce((n, x) => n + x.value, 0);
    expect(by('app`leaky_alloc+0xe')).toBe(7); // 1 replaced by the reuse, 7 held, 9 not tracked
    expect(by('app`fine_alloc+0xe')).toBe(5);
    expect(r.events).toEqual([expect.objectContaining({ kind: 'warning', count: 1, message: expect.stringMatching(/not tracked/) })]);
  });
});
