import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parseBpftraceLine, splitKey } from '../../agent/parse/bpftrace.js';
import { parseBpftraceCapture, parseBpftraceText } from '../../agent/parse/bpftrace-text.js';
import type { TraceEvent, TraceRecord } from '../../protocol/records.js';

// maps-hists.ndjson and stacks.ndjson are real bpftrace 0.17 output captured on this machine
const fx = (name: string) => readFileSync(new URL(`../fixtures/bpftrace/${name}`, import.meta.url), 'utf8');
function parseAll(text: string) {
  const records: TraceRecord[] = [];
  const events: TraceEvent[] = [];
  let intervals = 0;
  for (const line of text.split('\n')) {
    const r = parseBpftraceLine(line);
    records.push(...r.records);
    events.push(...r.events);
    if (r.interval) intervals++;
  }
  return { records, events, intervals };
}
const find = (rs: TraceRecord[], agg: string) => rs.filter((r) => 'agg' in r && r.agg === agg);

describe('parseBpftraceLine: maps, hists, stats, printf', () => {
  const { records, events, intervals } = parseAll(fx('maps-hists.ndjson'));

  it('splits multi-key map keys and keeps numeric keys as numbers', () => {
    expect(find(records, 'mk').slice(0, 2)).toEqual([
      { kind: 'scalar', agg: 'mk', keys: ['a', 3], value: 1 },
      { kind: 'scalar', agg: 'mk', keys: ['b c', 4], value: 1 },
    ]);
    expect(find(records, 'cnt').map((r) => (r as { keys: unknown }).keys)).toEqual([[1, 'x'], [22, 'y']]);
    expect(find(records, 'neg')).toEqual([{ kind: 'scalar', agg: 'neg', keys: [], value: -5 }]);
  });

  it('turns hist and lhist buckets (inclusive min/max) into lo/hi with open ends', () => {
    const [h] = find(records, 'h') as Extract<TraceRecord, { kind: 'hist' }>[];
    expect(h.buckets[0]).toEqual({ lo: null, hi: 0, count: 1 });
    expect(h.buckets[1]).toEqual({ lo: 0, hi: 1, count: 1 });
    expect(h.buckets[3]).toEqual({ lo: 2, hi: 4, count: 1 });
    expect(h.buckets.at(-1)).toEqual({ lo: 512, hi: 1024, count: 1 });
    const [lh] = find(records, 'lh') as Extract<TraceRecord, { kind: 'hist' }>[];
    expect(lh.buckets.at(-1)).toEqual({ lo: 100, hi: null, count: 1 });
    expect(lh.buckets.find((b) => b.lo === 50)).toEqual({ lo: 50, hi: 60, count: 1 });
    const hk = find(records, 'hk') as Extract<TraceRecord, { kind: 'hist' }>[];
    expect(hk.map((r) => [r.keys, r.buckets])).toEqual([
      [['x', 1], [{ lo: 4, hi: 8, count: 1 }]],
      [['y', 2], [{ lo: 256, hi: 512, count: 1 }]],
    ]);
  });

  it('reads stats objects and avg values, keyed or not', () => {
    expect(find(records, 'st')).toEqual([{ kind: 'stats', agg: 'st', keys: [], count: 2, avg: 15, total: 30 }]);
    expect(find(records, 'av')).toEqual([{ kind: 'scalar', agg: 'av', keys: [], value: 15 }]);
    expect(find(records, 'lat').map((r) => (r as { keys: unknown[] }).keys[0])).toEqual(['k2', 'k1']);
    expect(find(records, 'sz')[1]).toEqual({ kind: 'stats', agg: 'sz', keys: ['b'], count: 4, avg: 7, total: 28 });
  });

  it('keeps printf text, marks the interval line, and counts probes, lost events and skipped values', () => {
    expect(records.filter((r) => r.kind === 'printf')).toEqual([
      { kind: 'printf', text: 'hello 5\n' },
      { kind: 'printf', text: 'no newline' },
    ]);
    expect(intervals).toBe(1);
    expect(events).toContainEqual(expect.objectContaining({ kind: 'info', count: 1 }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'drops', count: 416 }));
    expect(events).toContainEqual(expect.objectContaining({ kind: 'warning', message: expect.stringContaining('@last') }));
  });

  it('says what is wrong with a broken line', () => {
    expect(() => parseBpftraceLine('{"type": "map", "data": {')).toThrow(/not a JSON line/);
    expect(() => parseBpftraceLine('{"data": 1}')).toThrow(/without a "type"/);
    expect(() => parseBpftraceLine('{"type": "hist", "data": {"@h": [{"min": 1}]}}')).toThrow(/@h bucket 0 has no numeric count/);
  });
});

describe('parseBpftraceLine: stacks', () => {
  const { records } = parseAll(fx('stacks.ndjson'));
  const stacks = records.filter((r): r is Extract<TraceRecord, { kind: 'stack' }> => r.kind === 'stack');

  it('joins kstack and ustack leaf first, counting kernel frames', () => {
    expect(stacks[0]).toEqual({
      kind: 'stack',
      agg: '',
      keys: ['dd'],
      stack: ['vfs_write+709', 'ksys_write+111', 'do_syscall_64+113', 'entry_SYSCALL_64_after_hwframe+118', '__GI___write+16'],
      kernel: 4,
      value: 1,
    });
  });

  it('handles an empty kstack (user-mode sample) and an empty ustack (kernel thread)', () => {
    expect(stacks[2]).toMatchObject({ keys: ['dd'], stack: ['0x55de6c379900', '0x7fbe70ecbc6c'], kernel: 0 });
    const idle = stacks.find((s) => s.keys[0] === 'swapper/0')!;
    expect(idle.kernel).toBe(idle.stack.length);
    expect(idle.stack[0]).toBe('pv_native_safe_halt+11');
  });

  it('reads ustack(perf) frames as module`symbol and a lone user stack as user land', () => {
    const perf = stacks.filter((s) => s.agg === 'u');
    expect(perf[0]).toMatchObject({ keys: [6793], stack: ['libc.so.6`__sigjmp_save+4'], kernel: 0 });
    expect(perf[1].stack).toContain('0x564a43d82e77');
  });

  it('uses field hints when given', () => {
    const line = JSON.stringify({ type: 'map', data: { '@k': { '\n    foo+1\n    bar+2\n,7': 3 } } });
    expect(parseBpftraceLine(line).records[0]).toMatchObject({ kernel: 0, keys: [7] });
    expect(parseBpftraceLine(line, { fields: { '@k': ['kstack', 'key'] } }).records[0]).toMatchObject({ kernel: 2 });
  });

  it('splits keys around stacks', () => {
    expect(splitKey('a,\n    f+1\n    g+2\n,,b')).toEqual(['a', '\n    f+1\n    g+2\n', '', 'b']);
    expect(splitKey('x,')).toEqual(['x', '']);
  });
});

describe('parseBpftraceLine: stderr text', () => {
  it('classifies errors, compile errors, warnings and lost events', () => {
    const evs = fx('stderr.txt').split('\n').filter(Boolean).map((l) => parseBpftraceLine(l).events[0]);
    expect(evs.map((e) => e.kind)).toEqual(['warning', 'compile-error', 'error', 'warning', 'info', 'drops']);
    expect(evs[4].count).toBe(3);
    expect(evs[5].count).toBe(12);
    expect(parseBpftraceLine('')).toEqual({ records: [], events: [] });
  });
});

describe('parseBpftraceText', () => {
  it('reads [lo, hi) rows with K/M suffixes, open ends, and scalar and stats lines', () => {
    const rs = parseBpftraceText(fx('hist.txt'));
    const [usecs, bytes] = rs.filter((r): r is Extract<TraceRecord, { kind: 'hist' }> => r.kind === 'hist');
    expect(usecs.buckets[0]).toEqual({ lo: null, hi: 0, count: 3 });
    expect(usecs.buckets[2]).toEqual({ lo: 1, hi: 2, count: 7 });
    expect(usecs.buckets.at(-2)).toEqual({ lo: 512 * 1024, hi: 1024 * 1024, count: 2 });
    expect(bytes).toMatchObject({ agg: 'bytes', keys: ['nginx'] });
    expect(bytes.buckets.at(-1)).toEqual({ lo: 1000, hi: null, count: 2 });
    expect(rs.filter((r) => r.kind !== 'hist')).toEqual([
      { kind: 'scalar', agg: 'calls', keys: ['sshd', 22], value: 14 },
      { kind: 'scalar', agg: 'total', keys: [], value: 905 },
      { kind: 'stats', agg: 's', keys: [], count: 4, avg: 25, total: 100 },
    ]);
  });
});

describe('parseBpftraceCapture: bpftrace text output', () => {
  // text-capture.txt is real bpftrace 0.17 text output captured on this machine
  const c = parseBpftraceCapture(fx('text-capture.txt'));
  const of = (agg: string) => c.records.filter((r) => 'agg' in r && r.agg === agg);
  type Hist = Extract<TraceRecord, { kind: 'hist' }>;

  it('reads a count keyed by a kernel stack and a name, frames leaf first', () => {
    expect(of('')[0]).toEqual({
      kind: 'stack',
      agg: '',
      keys: ['node'],
      stack: ['__alloc_frozen_pages_noprof+421', 'alloc_pages_mpol+134', 'vma_alloc_folio_noprof+106'],
      kernel: 0,
      value: 1,
    });
    expect(of('').slice(2)).toEqual([
      { kind: 'scalar', agg: '', keys: ['', 'cc1'], value: 55 },
      { kind: 'scalar', agg: '', keys: ['', 'node'], value: 129 },
    ]);
  });

  it.each([
    ['a hist keyed by a stack', 'h', 0, ['___slab_alloc+1213\n__kmem_cache_alloc_bulk+221'], [{ lo: 256, hi: 512, count: 1 }]],
    ['a hist keyed by a name and a stack', 'x', 0, ['generic_write_checks+41\next4_generic_write_checks+35', 'node'], [{ lo: 2 * 1024 ** 2, hi: 4 * 1024 ** 2, count: 1 }]],
    ['an lhist keyed by two keys', 'k', 0, [0, 'swapper/0'], [{ lo: 0, hi: 500, count: 1 }]],
    ['an lhist with an open upper bucket', 'l', 0, [], [{ lo: 0, hi: 10, count: 18 }, { lo: 10, hi: 20, count: 18 }, { lo: 20, hi: 30, count: 21 }, { lo: 30, hi: 40, count: 19 }, { lo: 40, hi: 50, count: 23 }, { lo: 50, hi: null, count: 99 }]],
    ['a hist with an open lower bucket', 'neg', 0, [], [{ lo: null, hi: 0, count: 198 }]],
  ])('%s', (_what, agg, i, keys, buckets) => {
    const h = of(agg)[i] as Hist;
    expect(h.kind).toBe('hist');
    expect(h.keys).toEqual(keys);
    expect(h.buckets).toEqual(buckets);
  });

  it('reads single-value rows and K suffixes (powers of 1024) of a hist keyed by an empty stack', () => {
    const h = of('h')[1] as Hist;
    expect(h.keys).toEqual(['']);
    expect(h.buckets.slice(0, 3)).toEqual([
      { lo: 0, hi: 1, count: 1 },
      { lo: 1, hi: 2, count: 1 },
      { lo: 2, hi: 4, count: 0 },
    ]);
    expect(h.buckets.at(-1)).toEqual({ lo: 512, hi: 1024, count: 88 });
  });

  it('reads scalars, multi-key maps, stats keyed or not, and user stacks', () => {
    expect(of('big')).toEqual([{ kind: 'scalar', agg: 'big', keys: [], value: 990000000000 }]);
    expect(of('m').map((r) => [(r as { keys: unknown }).keys, (r as { value: number }).value])).toEqual([
      [['node', 30708], 1],
      [['kdamond.0', 83], 2],
    ]);
    expect(of('s')).toEqual([{ kind: 'stats', agg: 's', keys: [], count: 198, avg: 5, total: 990 }]);
    expect(of('st')[1]).toEqual({ kind: 'stats', agg: 'st', keys: ['node'], count: 139, avg: 47, total: 6668 });
    expect(of('us').map((r) => (r as { stack: string[] }).stack)).toEqual([
      ['Builtins_FindOrderedHashSetEntry+1028', 'Builtins_SetPrototypeHas+55'],
      ['ix86_function_arg_regno_p(int)+117'],
      ['0x117f732', '0x7faf6a82d5e8'],
    ]);
  });

  it('skips the banner and reports nothing unreadable', () => {
    expect(c.skipped).toEqual([{ line: 1, text: 'Attaching 2 probes...' }]);
    expect(c.errors).toEqual([]);
  });

  it('reads -f json lines, one per line or pretty-printed, in the same capture', () => {
    const j = parseBpftraceCapture('{"type": "map", "data": {"@a": {"x": 1}}}\n{\n  "type": "hist",\n  "data": {"@h": [{"min": 0, "max": 0, "count": 4}]}\n}\n@c: 3\n');
    expect(j.records).toEqual([
      { kind: 'scalar', agg: 'a', keys: ['x'], value: 1 },
      { kind: 'hist', agg: 'h', keys: [], buckets: [{ lo: 0, hi: 1, count: 4 }] },
      { kind: 'scalar', agg: 'c', keys: [], value: 3 },
    ]);
  });

  it('names a garbled histogram row and keeps the rows around it', () => {
    const g = parseBpftraceCapture('@h:\n[0, 1)   3 |@@@|\n[1, 2)  x |@|\n[2, 4)   5 |@@@@@|\n');
    expect(g.errors).toEqual([{ line: 3, text: '[1, 2)  x |@|', message: 'not a histogram row' }]);
    expect((g.records[0] as Hist).buckets).toEqual([{ lo: 0, hi: 1, count: 3 }, { lo: 2, hi: 4, count: 5 }]);
  });
});
