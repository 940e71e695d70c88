// Parameter checks shared by server and agent, the catalog's consistency, and the CLI's
// answers to bad flags.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { loadCatalog, findScript, scriptFile } from '../../scripts/catalog.js';
import { checkParams, checkZoneName, checkDuration, ParamError } from '../../scripts/params.js';
import { printaNames } from '../../agent/tracers/dtrace.js';
import { TEST_ENV } from '../helpers/procs.js';

const ROOT = join(import.meta.dirname, '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...TEST_ENV } });

describe('trace parameters', () => {
  const cpu = findScript('cpu-profile')!;
  const malloc = findScript('malloc-sizes')!;

  it('fills defaults and accepts numbers given as digits', () => {
    expect(checkParams(cpu, {})).toEqual({ hz: 99 });
    expect(checkParams(cpu, { hz: '199' })).toEqual({ hz: 199 });
  });

  it.each([
    ['99;exit', /params\.hz: must be a whole number/],
    ['`id`', /params\.hz/],
    ['$(id)', /params\.hz/],
    ['99\n}', /params\.hz/],
    [1000, /params\.hz: 1000 is above the maximum 999/],
    [0, /params\.hz: 0 is below the minimum 1/],
    [2.5, /params\.hz: must be a whole number/],
  ])('refuses hz=%j naming the field', (v, msg) => {
    expect(() => checkParams(cpu, { hz: v })).toThrow(msg);
    try {
      checkParams(cpu, { hz: v });
    } catch (e) {
      expect((e as ParamError).field).toBe('params.hz');
    }
  });

  it('refuses unknown and missing parameters', () => {
    expect(() => checkParams(cpu, { pid: 1 })).toThrow(/params\.pid: cpu-profile has no such parameter/);
    expect(() => checkParams(malloc, {})).toThrow(/params\.pid: required/);
  });

  it.each(['x"); system("id', 'a b', 'z/../..', "it's", 'x*', '$zone', 'a\nb', '..'])('refuses zone %j', (z) => {
    expect(() => checkZoneName(z)).toThrow(/^zone: /);
  });

  it('bounds the duration by the script', () => {
    expect(checkDuration(cpu, undefined)).toBe(cpu.defaultDurationS);
    expect(() => checkDuration(cpu, cpu.maxDurationS + 1)).toThrow(/durationS: .*1 to 120/);
  });
});

describe('the catalog', () => {
  it('has every script for both tracers, parameters used as macro arguments, never pasted', () => {
    const ids = loadCatalog().map((s) => s.id);
    expect(ids).toEqual(['cpu-profile', 'io-latency', 'malloc-sizes', 'memleak', 'offcpu', 'syscall-count', 'syscall-latency']);
    for (const s of loadCatalog()) {
      for (const tracer of ['dtrace', 'bpftrace'] as const) {
        const src = readFileSync(scriptFile(s, tracer), 'utf8');
        const used = Math.max(...[...src.matchAll(/\$\$?(\d+)/g)].map((m) => Number(m[1])));
        // $1 zone, $2 duration, then one per declared parameter: DTrace refuses unused ones
        expect(used, `${s.id} ${tracer}`).toBe(2 + s.params.length);
        expect(src, `${s.id} ${tracer}`).toMatch(/=== zonescope interval %d ===/);
        // a whole interval goes out at once (memleak.d streams its events between the markers)
        if (!(s.id === 'memleak' && tracer === 'dtrace')) expect(src, `${s.id} ${tracer}`).toMatch(/=== zonescope interval %d end ===/);
      }
      const d = readFileSync(scriptFile(s, 'dtrace'), 'utf8');
      expect(d).toMatch(/zonename == \$\$1/);
      // aggregations, or (DTrace cannot carry a stack from malloc to free) events the agent joins
      if (s.join) expect(d).toMatch(/zs_alloc/);
      else expect(printaNames(d).length).toBeGreaterThan(0);
    }
  });
});

describe('CLI flags', () => {
  it.each([
    [['trace'], /trace: which script/],
    [['trace', 'cpu-profile'], /--zone Z is required/],
    [['trace', 'cpu-profile', '--zone', 'z', '--format', 'svg', '--server', 'http://x', '--token', 't'], /--format must be/],
    [['trace', 'cpu-profile', '--bogus'], /trace: Unknown option '--bogus'/],
    [['fold', '--from', 'perf'], /--from must be dtrace or bpftrace/],
    [['parse', 'strace'], /first argument must be dtrace or bpftrace/],
    [['fold', '/no/such/file'], /cannot read/],
  ])('%j exits 2 with one line', (args, msg) => {
    const r = cli(...args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(msg);
  });

  it('scripts lists every question and parameter', () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'scripts'], { encoding: 'utf8' });
    for (const s of loadCatalog()) expect(out).toContain(s.question);
    expect(out).toContain('--param hz=<int> (>= 1, <= 999) default 99');
  });

  it('fold folds a DTrace capture from stdin', () => {
    const input = '\n              libc.so.1`memset+0x40\n              a.out`main+0x11\n               7\n';
    const r = spawnSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'fold', '-'], { input, encoding: 'utf8' });
    expect(r.stdout).toBe('a.out`main;libc.so.1`memset 7\n');
  });
});
