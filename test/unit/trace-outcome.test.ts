// How a trace's end is told: done only when complete, partial with reasons in words, failed
// with the tracer's own message; cleanup noise after the end is not loss.
import { describe, it, expect } from 'vitest';
import { cleanupNoise, traceOutcome, type RunFacts } from '../../agent/tracers/outcome.js';
import { TRACE_LIMITS } from '../../scripts/limits.js';

const facts = (f: Partial<RunFacts>): RunFacts => ({
  tracer: 'bpftrace',
  unit: 'samples',
  durationS: 10,
  intervals: 10,
  exitCode: 0,
  runErrors: new Map(),
  lostSamples: 0,
  countedSamples: 0,
  drops: {},
  gone: [],
  limits: TRACE_LIMITS,
  ...f,
});

describe('trace outcome', () => {
  it('is done only when every interval arrived and nothing was lost', () => {
    expect(traceOutcome(facts({}))).toEqual({ status: 'done', exitCode: 0 });
    expect(traceOutcome(facts({ intervals: 7 }))).toEqual({ status: 'partial', exitCode: 0, reasons: ['7 of 10 intervals arrived'] });
  });

  it('says how many samples were lost, as a share of what the script counted', () => {
    expect(traceOutcome(facts({ lostSamples: 120, countedSamples: 1980 })).reasons).toEqual(['120 samples lost (6.1% of the 1,980 the script counted)']);
    expect(traceOutcome(facts({ lostSamples: 5 })).reasons).toEqual(['5 samples lost']);
    expect(traceOutcome(facts({ unit: 'bytes', lostSamples: 4096, countedSamples: 409600 })).reasons).toEqual(['4,096 bytes lost (1.0% of the 409,600 the script counted)']);
    expect(traceOutcome(facts({ drops: { drops: 12, 'aggregation-drops': 0 } })).reasons).toEqual(['12 events dropped by the tracer (its buffer was full)']);
  });

  it('names what went away, and the intervals that are missing because of it', () => {
    const o = traceOutcome(facts({ intervals: 4, gone: ['process 4242 exited after 4 s'], ended: 'gone' }));
    expect(o).toEqual({ status: 'partial', exitCode: 0, reasons: ['4 of 10 intervals arrived', 'process 4242 exited after 4 s'] });
  });

  it('gives errors during the run in the tracer\'s words, most frequent first', () => {
    const runErrors = new Map([['ERROR: failed to read stack', 2], ['ERROR: map full', 40]]);
    expect(traceOutcome(facts({ runErrors })).reasons).toEqual(['bpftrace error (×40): ERROR: map full', 'bpftrace error (×2): ERROR: failed to read stack']);
  });

  it('fails with the tracer\'s own message when nothing arrived, never only an exit code', () => {
    const line = '/x/syscall-count.bt:1-5: ERROR: tracepoint not found: raw_syscalls:sys_enter';
    expect(traceOutcome(facts({ intervals: 0, exitCode: 1, firstError: line }))).toEqual({ status: 'failed', error: line, exitCode: 1 });
    // an error form nobody recognised still reaches the user: the last stderr line
    expect(traceOutcome(facts({ intervals: 0, exitCode: 1, lastStderr: line })).error).toBe(`bpftrace exited with code 1: ${line}`);
    expect(traceOutcome(facts({ intervals: 0, exitCode: 0, gone: ['process 7 exited after 0 s'] })).error).toBe('process 7 exited after 0 s');
  });

  it('a tracer that exits badly after some intervals is partial, with why', () => {
    expect(traceOutcome(facts({ intervals: 3, exitCode: 1, lastStderr: 'ERROR: out of memory' })).reasons).toEqual([
      '3 of 10 intervals arrived',
      'bpftrace exited with code 1: ERROR: out of memory',
    ]);
    expect(traceOutcome(facts({ intervals: 9, exitCode: null, signal: 'SIGKILL', killed: true, ended: 'limit' })).reasons).toEqual([
      '9 of 10 intervals arrived',
      'bpftrace did not exit within 5 s of SIGINT and was killed: its last interval is lost',
    ]);
  });

  it('uprobe detach failures at the end are warnings, not lost data; other errors stay errors', () => {
    const detach = { kind: 'error' as const, count: 1, message: 'ERROR: failed to detach probe: uprobe:/lib/x86_64-linux-gnu/libc.so.6:malloc' };
    expect(cleanupNoise(detach, false)).toEqual({ kind: 'warning', count: 1, message: `after the trace: ${detach.message}` });
    const map = { kind: 'error' as const, count: 3, message: 'ERROR: map full' };
    expect(cleanupNoise(map, false)).toBe(map);
    expect(cleanupNoise(map, true).kind).toBe('warning'); // printed once it was told to stop
  });

  it('a stopped trace stays stopped; overflow and start-up failures fail', () => {
    expect(traceOutcome(facts({ intervals: 3, ended: 'stop' }))).toEqual({ status: 'stopped', exitCode: 0 });
    expect(traceOutcome(facts({ intervals: 0, ended: 'startup', exitCode: null, signal: 'SIGINT' })).error).toBe('bpftrace printed nothing within 30 s of starting');
    expect(traceOutcome(facts({ ended: 'overflow' })).status).toBe('failed');
    expect(traceOutcome(facts({ spawnError: 'spawn bpftrace ENOENT', exitCode: null }))).toEqual({ status: 'failed', error: 'spawn bpftrace ENOENT', exitCode: null });
  });
});
