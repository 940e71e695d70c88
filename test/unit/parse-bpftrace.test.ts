import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parseBpftraceLine, parseBpftraceText, splitKey } from '../../agent/parse/bpftrace.js';
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
