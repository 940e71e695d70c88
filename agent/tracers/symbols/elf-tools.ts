// Reads one ELF file's symbols with binutils, run once per module (the symbolizer caches the
// result for the agent's life). binutils is on every host that has a compiler, and reads
// .symtab and .dynsym alike. Names stay mangled here: demangle.ts names only those hit.
import { execa } from 'execa';
import { parseNm, parseReadelf, type ElfHeaders, type SymbolTable } from './elf-text.js';

const OPTS = { reject: false, maxBuffer: 512 * 1024 * 1024, env: { LC_ALL: 'C' }, stdin: 'ignore' } as const;

/**
 * Run ahead of the workload when the agent may (root), like the tracer: an interval waits on
 * these reads the first time a binary shows up, and a loaded host stretched them to seconds.
 */
function run(cmd: string, args: string[]) {
  return process.getuid?.() === 0 ? execa('nice', ['-n', '-10', cmd, ...args], OPTS) : execa(cmd, args, OPTS);
}

/** Program headers and build-id (`readelf -lnW`): cheap, read before deciding to run nm. */
export async function readHeaders(path: string): Promise<ElfHeaders> {
  const r = await run('readelf', ['-lnW', path]);
  if (r.exitCode !== 0 && !r.stdout) throw new Error(`readelf ${path}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
  return parseReadelf(String(r.stdout));
}

/** Function symbols of .symtab (else .dynsym), mangled. */
export async function readSymbols(path: string): Promise<SymbolTable> {
  // unsorted (-p): nm sorting node's 100k symbols costs 4x its reading, and parseNm sorts anyway;
  // .symtab holds the dynamic symbols too, a stripped binary has only .dynsym
  const full = await run('nm', ['-p', '-P', '-S', '--defined-only', path]);
  const t = parseNm(String(full.stdout));
  if (t.addrs.length) return t;
  const dyn = await run('nm', ['-D', '-p', '-P', '-S', '--defined-only', path]);
  return parseNm(String(dyn.stdout));
}
