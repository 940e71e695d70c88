import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { classifyBpftraceDiagnostic, parseBpftraceDiagnostics } from '../../agent/parse/bpftrace-diagnostics.js';
import { parseBpftraceLine } from '../../agent/parse/bpftrace.js';

const fx = (name: string) => readFileSync(new URL(`../fixtures/bpftrace/${name}`, import.meta.url), 'utf8');

// every form bpftrace's logger prints (src/log.cpp; 0.17 seen here), one row each
const FORMS: [string, string, string, number][] = [
  ['line range, no column (0.17, a probe spanning lines)', '/opt/zs/syscall-count.bt:1-5: ERROR: tracepoint not found: raw_syscalls:sys_enter', 'compile-error', 1],
  ['line, column range', 'syscall-count.bt:3:5-20: ERROR: Unknown function: foo', 'compile-error', 1],
  ['line, one column', 'syscall-count.bt:3:5: ERROR: syntax error, unexpected }', 'compile-error', 1],
  ['line alone', 'syscall-count.bt:3: ERROR: syntax error', 'compile-error', 1],
  ['stdin (-e program)', 'stdin:1:24-25: ERROR: syntax error, unexpected )', 'compile-error', 1],
  ['stdin with a line range', 'stdin:2-4: ERROR: Argument mismatch for @a', 'compile-error', 1],
  ['no file name', '1:10-20: ERROR: Invalid probe', 'compile-error', 1],
  ['a path with colons and spaces', '/tmp/my dir/a:b.bt:7:1-9: ERROR: Unknown identifier', 'compile-error', 1],
  ['plain ERROR', "ERROR: Error attaching probe: 'kprobe:vfs_read_x'", 'error', 1],
  ['FATAL', 'FATAL: failed to open perf buffer', 'error', 1],
  ['BUG', 'BUG: [codegen_llvm.cpp:123] unexpected type', 'error', 1],
  ['coloured ERROR (a terminal capture)', '\x1b[31mERROR:\x1b[0m Could not resolve symbol: /bin/sh:foo', 'error', 1],
  ['RLIMIT_MEMLOCK notice (0.17, every start)', "ERROR: Unknown error -1: couldn't set RLIMIT_MEMLOCK for bpftrace.", 'warning', 1],
  ['located WARNING', '/x.bt:1:1-20: WARNING: tracepoint not found: nosuch:a', 'warning', 1],
  ['WARNING with a line range', '/x.bt:1-2: WARNING: tracepoint not found: nosuch:b', 'warning', 1],
  ['plain WARNING', 'WARNING: Addrspace is not set', 'warning', 1],
  ['HINT', 'HINT: did you mean kprobe:vfs_read?', 'info', 1],
  ['attached probes', 'Attaching 3 probes...', 'info', 3],
  ['lost events', 'Lost 416 events', 'drops', 416],
  ['a libbpf line', 'open(/sys/kernel/debug/tracing/kprobe_events): No such file or directory', 'warning', 1],
];

describe('bpftrace stderr: each form', () => {
  it.each(FORMS)('%s', (_what, line, kind, count) => {
    expect(classifyBpftraceDiagnostic(line)!.event).toMatchObject({ kind, count });
    // the line-at-a-time parser agrees
    expect(parseBpftraceLine(line).events[0]).toMatchObject({ kind, count });
  });

  it('ignores blank lines', () => {
    expect(classifyBpftraceDiagnostic('   ')).toBeNull();
  });
});

describe('bpftrace stderr: a whole capture', () => {
  const evs = parseBpftraceDiagnostics(fx('stderr-compile.txt'));

  it('keeps the script line and the marker with a single-line located error, and nothing else', () => {
    expect(evs.map((e) => e.kind)).toEqual(['warning', 'compile-error', 'warning', 'compile-error', 'warning', 'error']);
    expect(evs[1].message).toBe(
      "/opt/zonescope/scripts/io-latency.bt:3:14-26: ERROR: Unknown identifier: 'args->dev_t'\n/ $1 == 0 || args->dev_t == 7 /\n             ~~~~~~~~~~~~",
    );
    expect(evs[2].message).toMatch(/block_rq_issue_x\ntracepoint:block:block_rq_issue_x\n~+$/);
  });

  it('takes nothing after a line-range error (bpftrace prints no source for it)', () => {
    expect(evs[3].message).toBe('/opt/zonescope/scripts/syscall-count.bt:1-5: ERROR: tracepoint not found: raw_syscalls:sys_enter');
    expect(evs[4].message).toMatch(/^open\(/);
  });

  it('does not take a following bpftrace message as the script line', () => {
    const two = parseBpftraceDiagnostics('a.bt:1:1-3: ERROR: first\nERROR: second\n');
    expect(two.map((e) => e.message)).toEqual(['a.bt:1:1-3: ERROR: first', 'ERROR: second']);
  });
});
