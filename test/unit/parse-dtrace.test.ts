import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parseDtraceAggregations, parseDtraceCapture, DtraceIntervalSplitter, isKernelStack, type IntervalText } from '../../agent/parse/dtrace.js';
import type { TraceRecord } from '../../protocol/records.js';

const fx = (name: string) => readFileSync(new URL(`../fixtures/dtrace/${name}`, import.meta.url), 'utf8');
const of = <K extends TraceRecord['kind']>(rs: TraceRecord[], kind: K) =>
  rs.filter((r): r is Extract<TraceRecord, { kind: K }> => r.kind === kind);

describe('parseDtraceAggregations: scalar aggregations', () => {
  const recs = of(parseDtraceAggregations(fx('scalars.txt'), ['byexec', 'bypid', 'total', 'money', 'calls']), 'scalar');

  it('reads one-key, two-key and unkeyed aggregations, naming them in print order', () => {
    expect(recs.filter((r) => r.agg === 'byexec').map((r) => [r.keys, r.value])).toEqual([
      [['zsched'], 3],
      [['node'], 118],
      [['java'], 2047],
    ]);
    expect(recs.find((r) => r.agg === 'total')).toEqual({ kind: 'scalar', agg: 'total', keys: [], value: 4242 });
  });

  it('keeps keys with spaces whole and numeric columns as numbers', () => {
    expect(recs.filter((r) => r.agg === 'bypid').map((r) => r.keys)).toEqual([
      [812, 'sh -c make all'],
      [90211, 'nginx: worker'],
      [7, 'init'],
    ]);
  });

  it('reads negative sums and counts wider than their column', () => {
    expect(recs.filter((r) => r.agg === 'money').map((r) => r.value)).toEqual([-1500, 98000]);
    const calls = recs.filter((r) => r.agg === 'calls');
    expect(calls.map((r) => r.keys[0])).toEqual(['ioctl', 'read']);
    expect(calls[0].value).toBeGreaterThan(1e17);
  });

  it('defaults the name to empty when no names are given', () => {
    expect(parseDtraceAggregations(fx('scalars.txt')).every((r) => r.kind === 'scalar' && r.agg === '')).toBe(true);
  });
});

describe('parseDtraceAggregations: histograms', () => {
  it('reads keyed quantize blocks and an unkeyed lquantize with < and >= rows', () => {
    const h = of(parseDtraceAggregations(fx('quantize-lquantize.txt'), ['lat', 'pct']), 'hist');
    expect(h.map((r) => [r.agg, r.keys])).toEqual([
      ['lat', ['postgres']],
      ['lat', ['redis-server']],
      ['pct', []],
    ]);
    expect(h[0].buckets.filter((b) => b.count > 0)).toEqual([
      { lo: 1024, hi: 2048, count: 31 },
      { lo: 2048, hi: 4096, count: 7 },
      { lo: 8192, hi: 16384, count: 2 },
    ]);
    expect(h[0].buckets.at(-1)).toEqual({ lo: 16384, hi: null, count: 0 });
    expect(h[2].buckets[0]).toEqual({ lo: null, hi: 10, count: 4 });
    expect(h[2].buckets.at(-1)).toEqual({ lo: 40, hi: null, count: 9 });
  });

  it('reads llquantize steps, quantize negative buckets and negative counts', () => {
    const [ll, neg, mixed] = of(parseDtraceAggregations(fx('llquantize-negative.txt')), 'hist');
    expect(ll.buckets.slice(0, 4)).toEqual([
      { lo: null, hi: 1, count: 2 },
      { lo: 1, hi: 2, count: 5 },
      { lo: 2, hi: 5, count: 0 },
      { lo: 5, hi: 10, count: 9 },
    ]);
    expect(ll.buckets.at(-1)).toEqual({ lo: 1000, hi: null, count: 3 });
    // quantize row -4 holds -7..-4
    expect(neg.buckets.find((b) => b.count === 6)).toEqual({ lo: -7, hi: -3, count: 6 });
    expect(mixed.buckets.map((b) => b.count)).toEqual([0, -5, 10, -3, 0]);
    expect(mixed.buckets[1]).toEqual({ lo: -1, hi: 0, count: -5 });
  });

  it('reads <= and >= llquantize bounds and counts that overflow the column', () => {
    const [h] = of(parseDtraceAggregations(fx('llquantize-signed.txt')), 'hist');
    expect(h.buckets[0]).toEqual({ lo: null, hi: -15, count: 1 });
    expect(h.buckets[2]).toEqual({ lo: 0, hi: 15, count: 123456789012 });
    expect(h.buckets.at(-1)).toEqual({ lo: 16, hi: null, count: 77 });
  });

  it('keys a stack-keyed quantize by its frames', () => {
    const h = of(parseDtraceAggregations(fx('stack-quantize.txt')), 'hist');
    expect(h).toHaveLength(2);
    expect(h[1].keys).toEqual(['libc.so.1`malloc\na.out`load+0x42\na.out`main+0x20']);
    expect(h[1].buckets.find((b) => b.count === 1)).toEqual({ lo: 4096, hi: 8192, count: 1 });
  });
});

describe('parseDtraceAggregations: stacks', () => {
  it('reads kernel stacks leaf first, every frame form, all frames kernel', () => {
    const s = of(parseDtraceAggregations(fx('stack-kernel.txt')), 'stack');
    expect(s.map((r) => r.value)).toEqual([27, 3, 5]);
    expect(s[1].stack).toEqual(['unix`mutex_enter', '0xfffffffffb85a3c0', 'genunix`cv_wait+0x70', 'unix`thread_start+0x8']);
    expect(s.map((r) => r.kernel)).toEqual([5, 4, 5]);
  });

  it('reads user stacks with dotted modules, bare addresses and helper frames as user land', () => {
    const s = of(parseDtraceAggregations(fx('stack-user.txt')), 'stack');
    expect(s[0].stack).toContain('.node.bin`node::StreamBase::WriteString<(node::encoding)1>(v8::FunctionCallbackInfo<v8::Value> const&)+0x92');
    expect(s[0].stack).toContain('StubRoutines (1)');
    expect(s[0].stack).toContain('a.out`0x401a2c');
    expect(s[0].stack).toContain('0x7fffef21b004');
    expect(s[0].stack).toHaveLength(9);
    expect(s.map((r) => r.kernel)).toEqual([0, 0]);
    expect(s[1].value).toBe(640);
  });

  it('joins a kernel and a user stack in one key, kernel frames first', () => {
    const s = of(parseDtraceAggregations(fx('stack-kernel-user-keys.txt'), ['ku', 'kthr', 'byexec', 'trail']), 'stack');
    expect(s[0].kernel).toBe(5);
    expect(s[0].stack[4]).toBe('unix`cmntrap+0xe9');
    expect(s[0].stack[5]).toBe('libc.so.1`memset+0x40');
    expect(s[0].value).toBe(19);
    // a kernel thread: stack(), then an empty ustack()
    expect(s[1]).toMatchObject({ stack: ['unix`idle+0x114', 'unix`thread_start+0x8'], kernel: 2, value: 400 });
  });

  it('keeps a user-only record of a stack(), ustack() key in its aggregation (the empty kernel stack is one more blank line)', () => {
    const sp = new DtraceIntervalSplitter();
    const [i1, i2] = [...sp.push(fx('stack-empty-kernel.txt')), ...sp.end()].map((t) => parseDtraceAggregations(t.text, ['samples', 'subsecond']));
    const s1 = of(i1, 'stack');
    expect(s1.map((r) => [r.agg, r.value, r.kernel])).toEqual([
      ['samples', 3, 3],
      ['samples', 17, 0],
      ['samples', 42, 0],
      ['samples', 60, 4],
      ['samples', 71, 4],
    ]);
    expect(s1[1].stack).toEqual(['libz.so.1`inflate_fast+0x212', 'imgd`decode_png+0x99', 'imgd`main+0x58', 'imgd`_start+0x83']);
    expect(of(i1, 'scalar').map((r) => [r.agg, r.keys, r.value])).toEqual([
      ['subsecond', [0], 40],
      ['subsecond', [20], 52],
      ['subsecond', [40], 81],
    ]);
    // an interval whose first record is already user-only (three blank lines before it)
    expect(i2.map((r) => [r.agg, r.kind === 'stack' ? r.stack[0] : r.keys[0], r.value])).toEqual([
      ['samples', 'imgd`resize_rows+0x40', 5],
      ['samples', 'unix`page_create_va+0x2c1', 9],
      ['samples', 'libz.so.1`inflate_fast+0x212', 26],
      ['subsecond', 60, 40],
    ]);
  });

  it('keeps other keys printed before or after the stack', () => {
    const s = of(parseDtraceAggregations(fx('stack-kernel-user-keys.txt')), 'stack');
    expect(s[2]).toMatchObject({ keys: ['mysqld'], kernel: 0, value: 8 });
    expect(s[2].stack).toEqual(['libc.so.1`__pollsys+0x15', 'mysqld`handle_connections+0x3a']);
    expect(s[3]).toMatchObject({ keys: ['mysqld', 204], value: 9 });
    expect(s[3].stack).toEqual(['libc.so.1`__read+0x15', 'mysqld`read_packet+0x11']);
  });

  it('tells kernel from user stacks by module', () => {
    expect(isKernelStack(['genunix`kmem_alloc+0x1', 'unix`thread_start+0x8'])).toBe(true);
    expect(isKernelStack(['cpu_ms.AuthenticAMD.15`ao_poll+0x3'])).toBe(true);
    expect(isKernelStack(['mysqld`main+0x3'])).toBe(false);
    expect(isKernelStack(['genunix`f', 'libc.so.1`g'])).toBe(false);
  });

  it('names the line of a stack key that the capture cuts off, keeping what came before', () => {
    const c = parseDtraceCapture('\n  read      5\n\n\n              genunix`read+0x1\n              unix`sys_syscall+0x1\n');
    expect(c.records).toEqual([{ kind: 'scalar', agg: '', keys: ['read'], value: 5 }]);
    expect(c.errors).toEqual([{ line: 5, text: '              genunix`read+0x1', message: 'a stack key with no count line after it' }]);
  });
});

describe('DtraceIntervalSplitter', () => {
  it('splits the runner output on interval markers however it is chunked', () => {
    const text = fx('intervals.txt');
    for (const size of [1, 7, 64, text.length]) {
      const sp = new DtraceIntervalSplitter();
      const got: IntervalText[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...sp.push(text.slice(i, i + size)));
      got.push(...sp.end());
      expect(got).toHaveLength(3);
      const per = got.map((t) => parseDtraceAggregations(t.text, ['sys', 'idle']));
      // each interval knows the line of the output it starts on
      expect(got.map((t) => t.line)).toEqual([2, 12, 22]);
      expect(per.map((rs) => rs.find((r) => r.kind === 'scalar' && r.keys[0] === 'read'))).toMatchObject([
        { value: 5 },
        { value: 8 },
        { value: 2 },
      ]);
      expect(per.map((rs) => rs.find((r) => r.kind === 'stack'))).toMatchObject([
        { agg: 'idle', value: 50 },
        { agg: 'idle', value: 80 },
        { agg: 'idle', value: 20 },
      ]);
    }
  });
});

type Hist = Extract<TraceRecord, { kind: 'hist' }>;
const capture = (name: string) => parseDtraceCapture(fx(name));

describe('parseDtraceCapture: what people paste', () => {
  const c = capture('capture-prose.txt');

  it('reads the aggregations between prompts, banners, probe lines, elisions and prose', () => {
    expect(c.records.map((r) => [r.kind, 'keys' in r ? r.keys : [], 'value' in r ? r.value : null])).toEqual([
      ['scalar', ['sshd'], 4],
      ['scalar', ['nginx'], 88],
      ['scalar', ['node'], 1203],
      ['scalar', [4021, 'node'], 900],
      ['scalar', [77, 'sshd'], 12],
      ['stack', [], 57],
    ]);
    expect(c.records[5]).toMatchObject({ stack: ['libc.so.1`__read+0xa', 'node`uv__read+0x1c4', 'node`uv__io_poll+0x3f2'], kernel: 0 });
    expect(c.errors).toEqual([]);
  });

  // every line that is not aggregation output, and why, by line number
  it.each([
    [1, 'prompt'], [2, 'banner'], [3, 'prompt'], [9, 'text'], [11, 'prompt'], [12, 'banner'], [13, 'prompt'], [17, 'elision'],
    [19, 'text'], [20, 'probe'], [21, 'probe'], [22, 'probe'], [23, 'prompt'], [30, 'elision'], [32, 'text'], [33, 'text'],
  ])('skips line %i as %s', (line, why) => {
    expect(c.skipped.find((s) => s.line === line)?.why).toBe(why);
  });

  it('skips nothing else', () => {
    expect(c.skipped).toHaveLength(16);
  });

  it('skips the stack a ustack() action prints under its probe line (it has no count)', () => {
    const t = parseDtraceCapture('CPU     ID                    FUNCTION:NAME\n  0     35                      write:entry\n              libc.so.1`_write+0x15\n              java`main+0x53d\n');
    expect(t.records).toEqual([]);
    expect(t.errors).toEqual([]);
    expect(t.skipped.map((s) => s.why)).toEqual(['probe', 'probe', 'probe', 'probe']);
  });
});

describe('parseDtraceCapture: printa() with a format string', () => {
  const c = capture('printa-formats.txt');

  it('reads value-first lines (%@8u %a) with the rest of the line as the key', () => {
    expect(c.records.slice(0, 3)).toEqual([
      { kind: 'scalar', agg: '', keys: ['genunix`kmem_cache_alloc+0x30'], value: 3 },
      { kind: 'scalar', agg: '', keys: ['unix`mutex_enter'], value: 12 },
      { kind: 'scalar', agg: '', keys: ['0xfffffffffb8001d6'], value: 1 },
    ]);
  });

  it('reads `@a = 42` lines as that aggregation, not as keys of the next histogram', () => {
    expect(c.records.slice(3, 5)).toEqual([
      { kind: 'scalar', agg: 'a', keys: [], value: 42 },
      { kind: 'scalar', agg: 'b', keys: [], value: -7 },
    ]);
    expect(c.records[5]).toMatchObject({ kind: 'hist', keys: [] });
    expect((c.records[5] as Hist).buckets).toEqual([
      { lo: -1, hi: 0, count: 0 },
      { lo: 0, hi: 1, count: 3 },
      { lo: 1, hi: 2, count: 5 },
      { lo: 2, hi: null, count: 0 },
    ]);
  });

  it('takes a label line printed before each histogram as its key, not as a record', () => {
    const hs = c.records.slice(6) as Hist[];
    expect(hs.map((h) => [h.kind, h.keys])).toEqual([
      ['hist', ['CMD: setiathome       PID: 2190']],
      ['hist', ['CMD: perl             PID: 11544']],
    ]);
    expect(hs[0].buckets[1]).toEqual({ lo: 0, hi: 5, count: 6629 });
    expect(hs[1].buckets.filter((b) => b.count !== 0)).toEqual([
      { lo: 15, hi: 20, count: 60 },
      { lo: 25, hi: 30, count: 120 },
    ]);
    expect(c.skipped).toEqual([]);
    expect(c.errors).toEqual([]);
  });

  it('goes on after a histogram printed inside a line (printa("%@d %@d\\n"))', () => {
    const t = parseDtraceCapture('  69\n           value  ------------- Distribution ------------- count\n               0 |@@@@                                     1\n               1 |                                         0\n  12\n');
    expect(t.records).toEqual([
      { kind: 'hist', agg: '', keys: [69], buckets: [{ lo: 0, hi: 1, count: 1 }, { lo: 1, hi: null, count: 0 }] },
      { kind: 'scalar', agg: '', keys: [], value: 12 },
    ]);
  });
});

describe('parseDtraceCapture: histogram bounds', () => {
  const [ll, abs] = capture('llquantize-dtrace-utils.txt').records as Hist[];

  // signed llquantize: a negative row is labelled with its value nearest zero
  it.each([
    ['<= -1000', 0, { lo: null, hi: -999, count: 2 }],
    ['-900 (after <= -1000)', 1, { lo: -999, hi: -899, count: 0 }],
    ['-100', 2, { lo: -899, hi: -99, count: 4 }],
    ['-10', 4, { lo: -89, hi: -9, count: 1 }],
    ['-1', 6, { lo: -8, hi: 0, count: 3 }],
    ['0', 7, { lo: 0, hi: 1, count: 8 }],
    ['9', 9, { lo: 9, hi: 10, count: 2 }],
    ['900', 11, { lo: 900, hi: 1000, count: 5 }],
    ['>= 1000', 12, { lo: 1000, hi: null, count: 1 }],
  ])('row %s', (_row, i, want) => {
    expect(ll.buckets[i]).toEqual(want);
  });

  it('reads an abs() < N row as everything strictly between -N and N', () => {
    expect(abs.buckets).toEqual([
      { lo: null, hi: -9, count: 0 },
      { lo: -9, hi: 10, count: 17 },
      { lo: 10, hi: 20, count: 4 },
      { lo: 20, hi: null, count: 0 },
    ]);
  });
});

describe('parseDtraceCapture: exact counts', () => {
  const [read, write, h, s] = capture('counts-huge.txt').records;

  it('keeps counts past 2^53 exact, as bigints', () => {
    expect(read).toMatchObject({ keys: ['read'], value: 18446744073709551615n });
    expect(write).toMatchObject({ keys: ['write'], value: 9007199254740993n });
    expect((h as Hist).buckets[1].count).toBe(9007199254740993n);
    expect(s).toMatchObject({ kind: 'stack', kernel: 2, value: 12345678901234567890n });
  });

  it('gives the agent numbers (the wire format) for the same records', () => {
    const wire = parseDtraceAggregations(fx('counts-huge.txt'));
    expect(wire[0]).toMatchObject({ value: 18446744073709552000 });
    expect(typeof (wire[2] as Hist).buckets[1].count).toBe('number');
  });
});

describe('parseDtraceCapture: a broken block', () => {
  const c = capture('broken.txt');

  it('names the bad line and keeps every record before and after it', () => {
    expect(c.errors).toEqual([
      { line: 9, text: '               2 |@@@@@@@@@@ garbage', message: 'not a histogram row' },
      { line: 17, text: '              unix`idle+0x114', message: 'a stack key with no count line after it' },
    ]);
    expect(c.records.map((r) => (r.kind === 'hist' ? r.buckets.map((b) => b.count) : 'value' in r ? r.value : null))).toEqual([5, [0, 5, 9, 0], 2]);
  });
});

describe('parseDtraceCapture: several aggregations printed on one line', () => {
  it('gives each value of a printa(@a, @b, @c) line to its aggregation, keyed or not', () => {
    const keyed = parseDtraceCapture('\n  bash                                                             69        0       12\n  sshd                                                              3        1        0\n', [['calls', 'errors', 'bytes']]);
    expect(keyed.records).toEqual([
      { kind: 'scalar', agg: 'calls', keys: ['bash'], value: 69 },
      { kind: 'scalar', agg: 'errors', keys: ['bash'], value: 0 },
      { kind: 'scalar', agg: 'bytes', keys: ['bash'], value: 12 },
      { kind: 'scalar', agg: 'calls', keys: ['sshd'], value: 3 },
      { kind: 'scalar', agg: 'errors', keys: ['sshd'], value: 1 },
      { kind: 'scalar', agg: 'bytes', keys: ['sshd'], value: 0 },
    ]);
    const unkeyed = parseDtraceCapture('\n               69                0               12\n', [['a', 'b', 'c']]);
    expect(unkeyed.records.map((r) => [r.kind === 'scalar' && r.agg, r.kind === 'scalar' && r.keys, r.kind === 'scalar' && r.value])).toEqual([
      ['a', [], 69],
      ['b', [], 0],
      ['c', [], 12],
    ]);
  });
});

describe('parseDtraceCapture: a histogram printed inside a line of several aggregations', () => {
  it('gives the values before and after an lquantize to their aggregations (printa(@a, @lq, @b))', () => {
    const text = [
      `  ${'read'.padEnd(50)} ${'69'.padStart(16)}`,
      '           value  ------------- Distribution ------------- count    ',
      '             < 0 |                                         0        ',
      '               0 |@@@@@@@@@@@@@@@@@@@@                     3        ',
      '              10 |@@@@@@@@@@@@@@@@@@@@                     3        ',
      '           >= 20 |                                         0        ',
      `${'0'.padStart(17)}`,
      '',
    ].join('\n');
    const c = parseDtraceCapture(text, [['a', 'lq', 'b']]);
    expect(c.records).toEqual([
      { kind: 'scalar', agg: 'a', keys: ['read'], value: 69 },
      { kind: 'hist', agg: 'lq', keys: ['read'], buckets: [{ lo: null, hi: 0, count: 0 }, { lo: 0, hi: 10, count: 3 }, { lo: 10, hi: 20, count: 3 }, { lo: 20, hi: null, count: 0 }] },
      { kind: 'scalar', agg: 'b', keys: ['read'], value: 0 },
    ]);
    expect(c.errors).toEqual([]);
  });
});
