// `zonescope parse dtrace FILE` as a user runs it on a pasted capture: the records on stdout,
// what was skipped summed up on stderr, exit 0; a block that cannot be read exits 1 naming
// its line, after printing every record it could read.
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { ROOT, zonescope } from '../helpers/cli.js';

const fixture = (name: string) => join(ROOT, 'test/fixtures/dtrace', name);
const records = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('zonescope parse dtrace FILE', () => {
  it('prints the records of a capture with prose around them and says what it skipped', async () => {
    const r = await zonescope(['parse', 'dtrace', fixture('capture-prose.txt')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rs = records(r.stdout);
    expect(rs.map((x) => [x.keys, x.value])).toEqual([
      [['sshd'], 4],
      [['nginx'], 88],
      [['node'], 1203],
      [[4021, 'node'], 900],
      [[77, 'sshd'], 12],
      [[], 57],
    ]);
    expect(r.stderr).toContain('skipped 16 lines that are not aggregation output');
    expect(r.stderr).toMatch(/5 shell prompts and \^C \(lines 1, 3, 11, 13, 23\)/);
    expect(r.stderr).toMatch(/4 other text \(printf output, prose\) \(lines 9, 19, 32, 33\)/);
  });

  it('exits 1 naming the line of a broken block, after printing every record around it', async () => {
    const r = await zonescope(['parse', 'dtrace', fixture('broken.txt')]);
    expect(r.exitCode).toBe(1);
    expect(records(r.stdout).map((x) => x.kind)).toEqual(['scalar', 'hist', 'scalar']);
    expect(r.stderr).toContain('line 9: not a histogram row: 2 |@@@@@@@@@@ garbage');
    expect(r.stderr).toContain('line 17: a stack key with no count line after it');
  });

  it('prints counts past 2^53 as strings of their exact digits', async () => {
    const r = await zonescope(['parse', 'dtrace', fixture('counts-huge.txt')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('"value":"18446744073709551615"');
    expect(r.stdout).toContain('"count":"9007199254740993"');
  });
});

describe('zonescope parse bpftrace FILE', () => {
  it('reads bpftrace text output (what people paste) and says what it skipped', async () => {
    const r = await zonescope(['parse', 'bpftrace', join(ROOT, 'test/fixtures/bpftrace/text-capture.txt')]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rs = records(r.stdout);
    expect(rs).toHaveLength(20);
    expect(rs.find((x) => x.agg === 'l').buckets.at(-1)).toEqual({ lo: 50, hi: null, count: 99 });
    expect(r.stderr).toMatch(/skipped 1 line .*\n.*line 1\)/);
  });

  it('reads -f json output as before', async () => {
    const r = await zonescope(['parse', 'bpftrace', join(ROOT, 'test/fixtures/bpftrace/maps-hists.ndjson')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout).filter((x) => x.agg === 'mk')[0]).toEqual({ kind: 'scalar', agg: 'mk', keys: ['a', 3], value: 1 });
  });
});

describe('zonescope parse dtrace --script', () => {
  it('names the aggregations from the script, values printed side by side going to each', async () => {
    const r = await zonescope(['parse', 'dtrace', '--script', fixture('side-by-side.d'), fixture('side-by-side.txt')]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(records(r.stdout)).toEqual([
      { kind: 'scalar', agg: 'calls', keys: ['bash'], value: 7 },
      { kind: 'scalar', agg: 'bytes', keys: ['bash'], value: 512 },
      { kind: 'scalar', agg: 'calls', keys: ['node'], value: 120 },
      { kind: 'scalar', agg: 'bytes', keys: ['node'], value: 40960 },
    ]);
  });

  it('says which script it cannot read', async () => {
    const r = await zonescope(['parse', 'dtrace', '--script', '/nonexistent.d', fixture('side-by-side.txt')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("cannot read --script '/nonexistent.d': ENOENT");
  });
});
