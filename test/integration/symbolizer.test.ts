// The agent's symbolizer on real processes: a PIE with a shared object (load bias on both),
// C++ and Rust mangled names, a JIT region named by a perf map, a process that exits before
// its frames are named, and a binary's symbols read once however many processes run it.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Symbolizer } from '../../agent/tracers/symbols/symbolizer.js';
import { TEST_ENV } from '../helpers/procs.js';
import { killAll } from '../helpers/burner.js';

const LIB = `
void cxx_draw(int n) __asm__("_ZN2ns6Widget4drawEi");
void cxx_draw(int n) { volatile int x = n; (void)x; }
void rust_write(void) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");
void rust_write(void) { volatile int x = 1; (void)x; }
`;
const MAIN = `
#include <stdio.h>
#include <unistd.h>
#include <sys/mman.h>
void cxx_draw(int n) __asm__("_ZN2ns6Widget4drawEi");
void rust_write(void) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");
__attribute__((noinline)) void zs_sym_hot(void) { volatile int x = 0; (void)x; }
int main(void) {
  void *jit = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char path[64];
  snprintf(path, sizeof path, "/tmp/perf-%d.map", getpid());
  FILE *f = fopen(path, "w");
  fprintf(f, "%lx 100 LazyCompile:*zsHot /srv/app.js:3:13\\n", (unsigned long)jit + 0x40);
  fclose(f);
  printf("%p %p %p %p\\n", (void *)zs_sym_hot, (void *)cxx_draw, (void *)rust_write, jit);
  fflush(stdout);
  for (;;) pause();
}
`;

const hex = (n: number) => `0x${n.toString(16)}`;

async function start(bin: string): Promise<{ c: ChildProcess; addrs: number[] }> {
  const c = spawn(bin, [], { env: { ...process.env, ...TEST_ENV }, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    c.once('exit', (code) => reject(new Error(`test program exited (${code})`)));
    c.stdout!.once('data', (d) => resolve(String(d)));
  });
  return { c, addrs: line.trim().split(' ').map((a) => Number(a)) };
}

describe('agent-side symbolization', () => {
  let dir: string;
  let bin: string;
  const kids: ChildProcess[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'zs-sym-'));
    writeFileSync(join(dir, 'lib.c'), LIB);
    writeFileSync(join(dir, 'main.c'), MAIN);
    execFileSync('gcc', ['-O1', '-shared', '-fPIC', '-o', join(dir, 'libzsw.so'), join(dir, 'lib.c')]);
    bin = join(dir, 'zs-sym-prog');
    execFileSync('gcc', ['-O1', '-fPIE', '-pie', '-o', bin, join(dir, 'main.c'), `-L${dir}`, '-lzsw', `-Wl,-rpath,${dir}`]);
  });

  afterAll(() => {
    killAll(kids);
    for (const k of kids) rmSync(`/tmp/perf-${k.pid}.map`, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('names functions of a PIE and a shared object, demangled, and JIT code from the perf map', async () => {
    const { c, addrs } = await start(bin);
    kids.push(c);
    const [hot, draw, rust, jit] = addrs;
    const s = new Symbolizer();
    const names = await s.frames(c.pid!, [hex(hot + 2), hex(draw), hex(rust + 1), hex(jit + 0x48), 'already_named+4']);
    expect(names[0]).toBe('zs_sym_hot+0x2');
    expect(names[1]).toBe('ns::Widget::draw(int)+0x0');
    expect(names[2]).toMatch(/^core::fmt::write.*\+0x1$/);
    expect(names[3]).toBe('LazyCompile:*zsHot /srv/app.js:3:13');
    expect(names[4]).toBe('already_named+4');
  });

  it('prints what it knows when it cannot name a frame: module+offset, else the address', async () => {
    const { c, addrs } = await start(bin);
    kids.push(c);
    const s = new Symbolizer();
    // the ELF header page of the program (its first mapping): no function symbol covers it
    const base = parseInt(`${readFileSync(`/proc/${c.pid}/maps`, 'utf8').split('\n').find((l) => l.endsWith('/zs-sym-prog'))!.split('-')[0]}`, 16);
    const [far, jitMiss, nowhere] = await s.frames(c.pid!, [hex(base + 0x10), hex(addrs[3] + 0x800), '0x10']);
    expect(far).toBe('zs-sym-prog+0x10');
    expect(jitMiss).toBe(hex(addrs[3] + 0x800));
    expect(nowhere).toBe('0x10');
  });

  it('reads a binary once for every process running it, and names frames of a process after it exits', async () => {
    const a = await start(bin);
    const b = await start(bin);
    kids.push(a.c, b.c);
    const s = new Symbolizer();
    await s.frames(a.c.pid!, [hex(a.addrs[0]), hex(a.addrs[1])]);
    const read = s.stats.modulesRead;
    expect(read).toBe(2); // the program and libzsw.so
    expect(await s.frames(b.c.pid!, [hex(b.addrs[0] + 1), hex(b.addrs[1] + 1)])).toEqual(['zs_sym_hot+0x1', 'ns::Widget::draw(int)+0x1']);
    expect(s.stats.modulesRead).toBe(read);
    killAll([a.c]);
    await new Promise((r) => a.c.once('exit', r));
    expect(await s.frames(a.c.pid!, [hex(a.addrs[0] + 3)])).toEqual(['zs_sym_hot+0x3']);
  });
});
