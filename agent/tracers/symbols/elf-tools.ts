// Reads one ELF file's symbols with binutils, run once per module (the symbolizer caches the
// result for the agent's life). binutils is on every host that has bpftrace's dependencies
// or a compiler, reads .symtab and .dynsym alike, and demangles C++ and Rust (-C).
import { execa } from 'execa';
import { parseNm, parseReadelf, type ElfHeaders, type SymbolTable } from './elf-text.js';

const OPTS = { reject: false, maxBuffer: 512 * 1024 * 1024, env: { LC_ALL: 'C' }, stdin: 'ignore' } as const;

/** Program headers and build-id (`readelf -lnW`): cheap, read before deciding to run nm. */
export async function readHeaders(path: string): Promise<ElfHeaders> {
  const r = await execa('readelf', ['-lnW', path], OPTS);
  if (r.exitCode !== 0 && !r.stdout) throw new Error(`readelf ${path}: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`);
  return parseReadelf(String(r.stdout));
}

/** Function symbols of .symtab and .dynsym, demangled. */
export async function readSymbols(path: string): Promise<SymbolTable> {
  // both at once: a stripped binary has only .dynsym, a static one only .symtab
  const [full, dyn] = await Promise.all([
    execa('nm', ['-P', '-S', '-C', '--defined-only', path], OPTS),
    execa('nm', ['-D', '-P', '-S', '-C', '--defined-only', path], OPTS),
  ]);
  return parseNm(String(full.stdout), String(dyn.stdout));
}
