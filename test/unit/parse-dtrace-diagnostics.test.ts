import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parseDtraceDiagnostic, parseDtraceDiagnostics } from '../../agent/parse/dtrace-diagnostics.js';

const lines = readFileSync(new URL('../fixtures/dtrace/diagnostics.txt', import.meta.url), 'utf8').split('\n');
const ev = (needle: string) => parseDtraceDiagnostic(lines.find((l) => l.includes(needle))!);

describe('parseDtraceDiagnostic', () => {
  it('reads drops of every kind, singular and plural, with the CPU', () => {
    expect(ev('37 drops')).toMatchObject({ kind: 'drops', count: 37, cpu: 3 });
    expect(ev('1 drop on')).toMatchObject({ kind: 'drops', count: 1, cpu: 0 });
    expect(ev('12 aggregation')).toMatchObject({ kind: 'aggregation-drops', count: 12, cpu: 1 });
    expect(ev('1 aggregation drop on')).toMatchObject({ kind: 'aggregation-drops', count: 1, cpu: 7 });
    expect(ev('4 dynamic')).toMatchObject({ kind: 'dynvar-drops', count: 4 });
    expect(ev('dirty list')).toMatchObject({ kind: 'dynvar-drops', count: 1 });
    expect(ev('rinsing')).toMatchObject({ kind: 'dynvar-drops', count: 9 });
    expect(ev('6 failed')).toMatchObject({ kind: 'speculation-drops', count: 6 });
    expect(ev('1 failed speculation ')).toMatchObject({ kind: 'speculation-drops', count: 1 });
    expect(ev('speculative drops')).toMatchObject({ kind: 'speculation-drops', count: 21 });
  });

  it('reads errors on enabled probes and error totals', () => {
    const e = ev('error on enabled probe');
    expect(e).toMatchObject({ kind: 'error', count: 1 });
    expect(e!.message).toContain('syscall::openat:entry');
    expect(ev('58 errors')).toMatchObject({ kind: 'error', count: 58 });
    expect(ev('1 error on CPU')).toMatchObject({ kind: 'error', count: 1, cpu: 5 });
  });

  it('tells compile failures, zero matches and banners apart', () => {
    expect(ev('failed to compile')!.kind).toBe('compile-error');
    expect(ev('invalid probe specifier')!.kind).toBe('compile-error');
    expect(ev('matched 0 probes')).toMatchObject({ kind: 'no-probes', count: 0 });
    expect(ev("script 'cpu-profile.d' matched 3")).toMatchObject({ kind: 'info', count: 3 });
    expect(ev('matched 1 probe')).toMatchObject({ kind: 'info', count: 1 });
  });

  it('keeps unknown dtrace lines as warnings and ignores blank and foreign lines', () => {
    expect(ev('buffer size lowered')).toMatchObject({ kind: 'warning', count: 1, message: 'dtrace: buffer size lowered to 64m' });
    expect(parseDtraceDiagnostic('')).toBeNull();
    expect(parseDtraceDiagnostic('   ')).toBeNull();
    expect(parseDtraceDiagnostic('java version "21"')).toBeNull();
  });
});

// every error, drop and droptag form libdtrace prints (dt_handle.c, dtrace.c), one row each
const FORMS: [string, string, Record<string, unknown>][] = [
  ['compile error with a line', 'dtrace: failed to compile script x.d: line 3: syntax error near ")"', { kind: 'compile-error', count: 1 }],
  ['bad probe description', 'dtrace: invalid probe specifier fbt::nosuch:entry: probe description fbt::nosuch:entry does not match any probes', { kind: 'compile-error' }],
  ['failed to enable', "dtrace: failed to enable 'syscall': destructive actions not allowed", { kind: 'compile-error' }],
  ['bad option', 'dtrace: failed to set option -x wombats: Invalid option name', { kind: 'compile-error' }],
  ['no buffer space', 'dtrace: could not enable tracing: Not enough space', { kind: 'compile-error' }],
  ['END too big', 'dtrace: END enablings exceed size of principal buffer', { kind: 'compile-error' }],
  ['no privileges', 'dtrace: failed to initialize dtrace: DTrace requires additional privileges', { kind: 'compile-error' }],
  ['error on an enabled probe', 'dtrace: error on enabled probe ID 1 (ID 1: dtrace:::BEGIN): invalid address (0x0) in action #1 at DIF offset 12', { kind: 'error', count: 1 }],
  ['error total', 'dtrace: 57 errors', { kind: 'error', count: 57 }],
  ['one error on a CPU', 'dtrace: 1 error on CPU 2', { kind: 'error', count: 1, cpu: 2 }],
  ['errors in the ERROR probe', 'dtrace: 3 errors in ERROR probe enabling', { kind: 'error', count: 3 }],
  ['processing aborted', 'dtrace: processing aborted: Abort due to systemic unresponsiveness', { kind: 'error' }],
  ['drops', 'dtrace: 11 drops on CPU 0', { kind: 'drops', count: 11, cpu: 0 }],
  ['stack string table overflow', 'dtrace: 2 jstack()/ustack() string table overflows', { kind: 'warning', count: 2 }],
  ['buffer resize', 'dtrace: buffer size lowered to 128m', { kind: 'warning', count: 1 }],
  ['aggregation buffer resize', 'dtrace: aggregation size lowered to 128m', { kind: 'warning', count: 1 }],
  ['tag: principal', 'dtrace: [DTRACEDROP_PRINCIPAL] 11 drops on CPU 0', { kind: 'drops', count: 11, cpu: 0 }],
  ['tag: aggregation', 'dtrace: [DTRACEDROP_AGGREGATION] 1 aggregation drop on CPU 3', { kind: 'aggregation-drops', count: 1, cpu: 3 }],
  ['tag: dynamic', 'dtrace: [DTRACEDROP_DYNAMIC] 40 dynamic variable drops', { kind: 'dynvar-drops', count: 40 }],
  ['tag: rinsing', 'dtrace: [DTRACEDROP_DYNRINSE] 2 dynamic variable drops with non-empty rinsing list', { kind: 'dynvar-drops', count: 2 }],
  ['tag: dirty', 'dtrace: [DTRACEDROP_DYNDIRTY] 1 dynamic variable drop with non-empty dirty list', { kind: 'dynvar-drops', count: 1 }],
  ['tag: speculative', 'dtrace: [DTRACEDROP_SPEC] 38 speculative drops', { kind: 'speculation-drops', count: 38 }],
  ['tag: busy', 'dtrace: [DTRACEDROP_SPECBUSY] 905 failed speculations (available buffer(s) still busy)', { kind: 'speculation-drops', count: 905 }],
  ['tag: unavailable', 'dtrace: [DTRACEDROP_SPECUNAVAIL] 1 failed speculation (no speculative buffer available)', { kind: 'speculation-drops', count: 1 }],
  ['tag: double error', 'dtrace: [DTRACEDROP_DBLERROR] 2 errors in ERROR probe enabling', { kind: 'error', count: 2 }],
  ['tag: string table', 'dtrace: [DTRACEDROP_STKSTROVERFLOW] 7 jstack()/ustack() string table overflows', { kind: 'warning', count: 7 }],
];

describe('parseDtraceDiagnostic: each form', () => {
  it.each(FORMS)('%s', (_what, line, want) => {
    expect(parseDtraceDiagnostic(line)).toMatchObject({ ...want, message: line });
  });
});

describe('parseDtraceDiagnostics: wrapped messages', () => {
  const evs = parseDtraceDiagnostics(readFileSync(new URL('../fixtures/dtrace/diagnostics-wrapped.txt', import.meta.url), 'utf8'));

  it('keeps the wrapped lines of a message in it', () => {
    expect(evs.map((e) => [e.kind, e.count])).toEqual([
      ['info', 4],
      ['error', 1],
      ['error', 1],
      ['error', 2],
      ['drops', 311],
      ['compile-error', 1],
      ['drops', 4],
    ]);
    expect(evs[1].message).toBe('dtrace: error on enabled probe ID 3 (ID 812: syscall::read:entry): invalid address (0x1f00a000) in action #1');
    expect(evs[2].message).toBe('dtrace: error on enabled probe ID 5 (ID 61: syscall::stat:entry): invalid address (0x8e21c) in action #2 at DIF offset 40');
    expect(evs[5].message).toBe('dtrace: invalid probe specifier pid$target::malloc:entry: failed to create probe in process 8813: Not enough space');
  });

  it('takes no foreign line into a complete message', () => {
    const two = parseDtraceDiagnostics('dtrace: 2 errors\njava version "21"\n');
    expect(two).toEqual([{ kind: 'error', count: 2, message: 'dtrace: 2 errors' }]);
  });
});
