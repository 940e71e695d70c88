// C++ and Rust names demangled by one long-lived `c++filt` (binutils) fed a name per line:
// symbol tables are read mangled (nm without -C is several times faster on node's 100k
// symbols) and only the names that stacks actually hit are demangled, each once.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Itanium C++ (`_Z…`) and Rust v0 (`_R…`) manglings; legacy Rust is Itanium-shaped. */
const MANGLED = /^_{1,2}[ZR]/;

/** Pipes are sockets underneath: ref/unref decide whether they keep the process alive. */
function refs(stream: Readable | Writable, on: boolean): void {
  const s = stream as unknown as { ref?: () => void; unref?: () => void };
  if (on) s.ref?.();
  else s.unref?.();
}

export class Demangler {
  private proc?: ChildProcessByStdio<Writable, Readable, null>;
  private broken = false;
  private readonly waiting: ((s: string) => void)[] = [];
  private readonly cache = new Map<string, Promise<string>>();

  demangle(name: string): Promise<string> | string {
    if (!MANGLED.test(name) || this.broken) return name;
    let p = this.cache.get(name);
    if (!p) {
      p = this.ask(name);
      if (this.cache.size >= 500_000) this.cache.clear();
      this.cache.set(name, p);
    }
    return p;
  }

  private ask(name: string): Promise<string> {
    const proc = this.start();
    if (!proc) return Promise.resolve(name);
    return new Promise((resolve) => {
      this.waiting.push((out) => resolve(out || name));
      // held open only while an answer is awaited: an idle c++filt keeps no process alive
      if (this.waiting.length === 1) refs(proc.stdout, true);
      proc.stdin.write(`${name}\n`);
    });
  }

  private start(): ChildProcessByStdio<Writable, Readable, null> | undefined {
    if (this.proc || this.broken) return this.proc;
    const proc = spawn('c++filt', [], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, LC_ALL: 'C' } });
    const fail = () => {
      // no c++filt (or it died): names stay mangled from now on, and nobody waits forever
      this.broken = true;
      this.proc = undefined;
      for (const w of this.waiting.splice(0)) w('');
    };
    proc.on('error', fail);
    proc.on('exit', fail);
    proc.stdin.on('error', fail);
    createInterface({ input: proc.stdout }).on('line', (l) => {
      this.waiting.shift()?.(l);
      if (!this.waiting.length) refs(proc.stdout, false);
    });
    proc.unref();
    refs(proc.stdin, false);
    refs(proc.stdout, false);
    this.proc = proc;
    return proc;
  }

  close(): void {
    this.proc?.kill();
  }
}
