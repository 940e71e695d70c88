import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { parseDtraceDiagnostic } from '../../agent/parse/dtrace-diagnostics.js';

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
