// What each script needs from the host, and how a missing prerequisite reads.
import { describe, it, expect } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Prerequisites, availability, bpfPrivilegeProblem, effectiveCaps, tracefsMounted } from '../../agent/tracers/prerequisites.js';
import { loadCatalog, scriptFile, scriptsDir } from '../../scripts/catalog.js';

describe('tracer prerequisites', () => {
  it('reads the effective capabilities and needs root, CAP_SYS_ADMIN or CAP_BPF with CAP_PERFMON', () => {
    const caps = (hex: string) => effectiveCaps(`Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${hex}\nCapBnd:\t000001ffffffffff\n`);
    expect(bpfPrivilegeProblem(0, 0n)).toBeUndefined();
    expect(bpfPrivilegeProblem(1000, caps('000000c000000000'))).toBeUndefined(); // CAP_BPF + CAP_PERFMON
    expect(bpfPrivilegeProblem(1000, caps('0000000000200000'))).toBeUndefined(); // CAP_SYS_ADMIN
    expect(bpfPrivilegeProblem(1000, caps('0000008000000000'))).toMatch(/needs root or CAP_BPF and CAP_PERFMON; the agent runs as uid 1000/); // CAP_BPF alone
    expect(bpfPrivilegeProblem(1000, effectiveCaps('no caps line'))).toBeDefined();
  });

  it('finds a tracefs mount by path and type only', () => {
    const mounts = 'sysfs /sys sysfs rw 0 0\ntracefs /sys/kernel/debug/tracing tracefs rw 0 0\nnone /sys/kernel/tracing tmpfs rw 0 0\n';
    expect(tracefsMounted(mounts, '/sys/kernel/debug/tracing')).toBe(true);
    expect(tracefsMounted(mounts, '/sys/kernel/tracing')).toBe(false);
  });

  it('gives the first missing prerequisite a script needs, and only those it needs', () => {
    const cat = loadCatalog();
    const get = (id: string) => cat.find((s) => s.id === id)!;
    const noTracefs = { tracefs: 'tracefs is not mounted at /sys/kernel/tracing' };
    expect(availability(get('syscall-latency'), 'bpftrace', noTracefs)).toEqual({ id: 'syscall-latency', available: false, reason: noTracefs.tracefs });
    expect(availability(get('cpu-profile'), 'bpftrace', noTracefs)).toEqual({ id: 'cpu-profile', available: true });
    expect(availability(get('memleak'), 'bpftrace', { uprobes: 'no uprobes' }).reason).toBe('no uprobes');
    // the tracer and its privileges come before what the script needs
    expect(availability(get('syscall-latency'), 'bpftrace', { tracer: 'bpftrace is not installed', ...noTracefs }).reason).toBe('bpftrace is not installed');
    expect(availability(get('syscall-latency'), 'dtrace', noTracefs).available).toBe(true);
  });

  it('every .bt script declares what its probes need', () => {
    for (const meta of loadCatalog()) {
      const src = readFileSync(scriptFile(meta, 'bpftrace', scriptsDir()), 'utf8');
      const needs = new Set(meta.needs?.bpftrace ?? []);
      expect(needs.has('tracefs'), `${meta.id}: tracepoints need tracefs`).toBe(/^\s*tracepoint:/m.test(src));
      expect(needs.has('uprobes'), `${meta.id}: uprobes`).toBe(/^\s*u(ret)?probe:/m.test(src));
    }
  });

  it('a tracer too slow to print its version leaves the scripts offered and is asked again; one that fails does not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zs-prereq-'));
    const path = process.env.PATH;
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (m: string) => void warnings.push(m), error: () => undefined, debug: () => undefined };
    const dtrace = (body: string) => {
      writeFileSync(join(dir, 'dtrace'), `#!/bin/sh\n${body}\n`);
      chmodSync(join(dir, 'dtrace'), 0o755);
    };
    try {
      process.env.PATH = `${dir}:${path}`;
      const pre = new Prerequisites({ tracer: 'dtrace', log: log as never, versionTimeoutMs: 300 });
      const cat = loadCatalog();
      dtrace('exec sleep 5');
      expect((await pre.check(cat)).every((a) => a.available)).toBe(true);
      expect(warnings.join('\n')).toMatch(/dtrace did not answer -V within 0.3 s/);
      dtrace("echo 'dtrace: Sun D 1.13'");
      expect((await pre.check(cat)).every((a) => a.available)).toBe(true);
      expect(pre.version).toBe('dtrace: Sun D 1.13');
      dtrace("echo 'ld.so.1: dtrace: fatal: libdtrace.so.1: open failed' >&2; exit 1");
      // a new binary (another mtime) is asked again; its failure is the reason every script reports
      const failed = await pre.check(cat);
      expect(failed.every((a) => !a.available && /dtrace does not run: ld.so.1/.test(a.reason ?? ''))).toBe(true);
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
