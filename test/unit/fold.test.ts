import { readFileSync } from 'node:fs';
import { describe, it, expect } from 'vitest';
import { foldStacks, formatFolded, normalizeFrame } from '../../protocol/folded.js';
import { foldStream, foldInput } from '../../agent/parse/fold.js';
import { parseDtraceAggregations } from '../../agent/parse/dtrace.js';
import { parseBpftraceLine } from '../../agent/parse/bpftrace.js';

const dfx = (name: string) => readFileSync(new URL(`../fixtures/dtrace/${name}`, import.meta.url), 'utf8');
const bfx = (name: string) => readFileSync(new URL(`../fixtures/bpftrace/${name}`, import.meta.url), 'utf8');
async function* chunks(text: string, size: number) {
  for (let i = 0; i < text.length; i += size) yield Buffer.from(text.slice(i, i + size));
}
async function collect(gen: AsyncIterable<string>) {
  let s = '';
  for await (const c of gen) s += c;
  return s;
}

// What FlameGraph's stackcollapse.pl prints for collapse-capture.txt, worked out from its
// rules: skip the 3-line header, frames root first joined by ';', offsets cut from the last
// '+', C++ arguments cut at the last '(' or '<' after the first '::', merged, sorted.
// The one deliberate difference: a ';' inside a frame becomes ':' (stackcollapse.pl keeps it,
// which would split the frame).
const EXPECTED = [
  'libc.so.1`_lwp_start;java/lang/Thread.run;StubRoutines (1);0x7fffef21b004;a.out`0x401a2c;a.out`main;' +
    '.node.bin`node::StreamBase::WriteString<(node::encoding)1>(v8::FunctionCallbackInfo;libuv.so.1.0.0`uv__write;libc.so.1`_write 11',
  'unix`sys_syscall;genunix`read;genunix`fop_read;zfs`dbuf_read;zfs`arc_read 32',
  'unix`thread_start;genunix:weird`f 2',
].join('\n') + '\n';

describe('normalizeFrame', () => {
  it('follows stackcollapse.pl frame rules', () => {
    expect(normalizeFrame('   genunix`read+0x2a7')).toBe('genunix`read');
    expect(normalizeFrame('genunix`read+0x2a7', true)).toBe('genunix`read+0x2a7');
    expect(normalizeFrame('libstdc++.so.6`operator new(unsigned long)+0x18')).toBe('libstdc++.so.6`operator new(unsigned long)');
    expect(normalizeFrame('a.out`ns::Foo::bar(int)+0x1')).toBe('a.out`ns::Foo::bar');
    expect(normalizeFrame('+0x10')).toBe('-');
  });
});

describe('foldStream --from dtrace', () => {
  it('gives the lines stackcollapse.pl gives, however the input is chunked', async () => {
    const text = dfx('collapse-capture.txt');
    for (const size of [1, 13, 4096]) {
      expect(await collect(foldStream(chunks(text, size), 'dtrace'))).toBe(EXPECTED);
    }
  });

  it('keeps offsets on request and skips only header lines when there is no header', async () => {
    const text = dfx('stack-kernel.txt');
    const out = await collect(foldStream(chunks(text, 100), 'dtrace', { keepOffsets: true }));
    expect(out).toBe(
      'unix`sys_syscall+0x1a8;genunix`read+0x2a7;genunix`fop_read+0x8b;zfs`dbuf_read+0x1a2;zfs`arc_read+0x4f1 32\n' +
        'unix`thread_start+0x8;genunix`cv_wait+0x70;0xfffffffffb85a3c0;unix`mutex_enter 3\n',
    );
    const fixed = await collect(foldStream(chunks(text, 100), 'dtrace', { headerLines: 3 }));
    // stackcollapse.pl's fixed 3-line skip eats the first leaf frame of a capture without header
    expect(fixed.split('\n')[0]).toBe('unix`sys_syscall;genunix`read;genunix`fop_read;zfs`dbuf_read 27');
  });

  it('marks kernel frames with _[k] when asked, using the blank line between kernel and user stacks', async () => {
    const out = await collect(foldStream(chunks(dfx('stack-kernel-user-keys.txt').split('\n').slice(0, 20).join('\n'), 64), 'dtrace', { annotateKernel: true }));
    expect(out).toContain('a.out`_start;a.out`main;a.out`fill;libc.so.1`memset;unix`cmntrap_[k];unix`trap_[k];genunix`segvn_faultpage_[k];genunix`anon_zero_[k];unix`page_create_va_[k] 19\n');
    expect(out).toContain('unix`thread_start_[k];unix`idle_[k] 400\n');
  });

  it('keeps heap use flat on a large input (200k records of a few stacks)', async () => {
    const recs = [dfx('stack-kernel.txt'), dfx('stack-user.txt')].join('\n');
    const repeats = 200_000 / 5;
    let produced = 0;
    async function* big() {
      for (let i = 0; i < repeats; i++) {
        produced += recs.length;
        yield recs;
      }
    }
    const before = process.memoryUsage().heapUsed;
    const m = await foldInput(big(), 'dtrace');
    const growth = process.memoryUsage().heapUsed - before;
    expect(m.size).toBe(4);
    expect(m.get('unix`sys_syscall;genunix`read;genunix`fop_read;zfs`dbuf_read;zfs`arc_read')).toBe(32 * repeats);
    expect(produced).toBeGreaterThan(40_000_000);
    // the input is never held: heap growth stays far below its size (no gc() to call here,
    // so leave room for garbage not yet collected)
    expect(growth).toBeLessThan(produced / 5);
  });
});

describe('foldInput --from dtrace, bad input', () => {
  it('stops with a clear error on a line no DTrace output has (not stack text)', async () => {
    async function* noNewline() {
      for (let i = 0; i < 3; i++) yield Buffer.alloc(512 * 1024, 0x41);
    }
    await expect(foldInput(noNewline(), 'dtrace')).rejects.toThrow(/line longer than 1 MiB; is this DTrace stack output/);
  });
});

describe('foldStacks', () => {
  it('folds DTrace records the same way as the streaming folder', async () => {
    const text = dfx('collapse-capture.txt');
    const m = foldStacks(parseDtraceAggregations(text));
    expect(formatFolded(m)).toBe(EXPECTED);
  });

  it('merges identical stacks across intervals and ignores non-stack records', () => {
    const recs = [...parseDtraceAggregations(dfx('stack-kernel.txt')), ...parseDtraceAggregations(dfx('scalars.txt'))];
    const m = foldStacks([...recs, ...recs]);
    expect(m.size).toBe(2);
    expect(m.get('unix`thread_start;genunix`cv_wait;0xfffffffffb85a3c0;unix`mutex_enter')).toBe(6);
  });

  it('annotates kernel frames of combined bpftrace stacks', () => {
    const recs = bfx('stacks.ndjson').split('\n').flatMap((l) => parseBpftraceLine(l).records);
    const m = foldStacks(recs, { annotateKernel: true });
    expect(m.get('__GI___write;entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k];ksys_write_[k];vfs_write_[k]')).toBe(1);
  });
});

describe('foldStream --from bpftrace', () => {
  it('folds the stacks of JSON lines, summing identical ones', async () => {
    const text = bfx('stacks.ndjson');
    const out = await collect(foldStream(chunks(text + text, 333), 'bpftrace'));
    expect(out).toContain('__libc_read;entry_SYSCALL_64_after_hwframe;do_syscall_64;ksys_read;vfs_read;read_zero 2\n');
    expect(out).toContain('libc.so.6`__sigjmp_save 2\n');
    const lines = out.trimEnd().split('\n');
    expect(lines).toEqual([...lines].sort());
  });

  it('names the line of a broken input', async () => {
    await expect(collect(foldStream(chunks('{"type":"map"}\n{oops\n', 5), 'bpftrace'))).rejects.toThrow(/line 1/);
  });
});

describe('foldStream --from dtrace: pasted captures (deliberate differences from stackcollapse.pl)', () => {
  const pasted = dfx('fold-pasted.txt');

  it('skips prompts, dtrace: messages, ^C and elisions wherever they are, keeps a PC of digits as a frame, splits inlined JVM frames', async () => {
    for (const size of [1, 17, 4096]) {
      expect(await collect(foldStream(chunks(pasted, size), 'dtrace'))).toBe(
        'java/lang/Thread.run;8394670;com/acme/Worker.poll;com/acme/Queue.take_[i];java/lang/Thread.sleep;libjvm.so`JVM_Sleep 10\n' +
          'java/lang/Thread.run;java/lang/Object:.wait;libc.so.1`__pollsys 120\n',
      );
    }
  });

  it('folds the parsed records of the same capture the same way', () => {
    expect(formatFolded(foldStacks(parseDtraceAggregations(pasted)))).toBe(
      'java/lang/Thread.run;8394670;com/acme/Worker.poll;com/acme/Queue.take_[i];java/lang/Thread.sleep;libjvm.so`JVM_Sleep 10\n' +
        'java/lang/Thread.run;java/lang/Object:.wait;libc.so.1`__pollsys 120\n',
    );
  });

  it.each([
    ['a count right-aligned where counts go', '              a`f\n              123\n', 'a`f 123\n'],
    ['a count indented differently from the frames', '              a`f\n                 7\n', 'a`f 7\n'],
    ['digits at the frames\' indentation ending elsewhere: a PC', '              a`f\n              8051234\n              b`g\n               5\n', 'b`g;8051234;a`f 5\n'],
  ])('a line of digits: %s', async (_what, text, want) => {
    expect(await collect(foldStream(chunks(text, 5), 'dtrace'))).toBe(want);
  });

  it('keeps a frame that merely starts with L, and one that looks like a prompt but is not', async () => {
    const text = '              LLVM`run+0x1\n              #pragma_frame\n              .node.bin`main\n               2\n';
    expect(await collect(foldStream(chunks(text, 7), 'dtrace'))).toBe('.node.bin`main;#pragma_frame;LLVM`run 2\n');
  });
});

describe('foldStream --from dtrace: counts past 2^53', () => {
  it('sums them exactly', async () => {
    const rec = (n: string) => `              unix\`idle+0x114\n              unix\`thread_start+0x8\n   ${n}\n\n`;
    const text = rec('18446744073709551615') + rec('1') + rec('9007199254740993');
    expect(await collect(foldStream(chunks(text, 9), 'dtrace'))).toBe('unix`thread_start;unix`idle 18455751272964292609\n');
  });
});
