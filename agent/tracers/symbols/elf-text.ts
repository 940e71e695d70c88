// What binutils prints about an ELF file → the symbolizer's tables. Pure: elf-tools.ts runs
// the commands. binutils does the ELF reading (.symtab and .dynsym, C++ and Rust demangling
// with -C), so no ELF parser lives here.

/** A loadable segment: file bytes [offset, offset + filesz) are mapped at vaddr. */
export interface LoadSegment {
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

export interface ElfHeaders {
  loads: LoadSegment[];
  buildId?: string;
}

// `  LOAD           0x026000 0x0000000000026000 0x0000000000026000 0x1550fc 0x1550fc R E 0x1000`
const LOAD = /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x[0-9a-f]+/;
const BUILD_ID = /^\s*Build ID:\s*([0-9a-f]+)\s*$/;

/** `readelf -lnW FILE`: the PT_LOAD program headers and the GNU build-id note. */
export function parseReadelf(text: string): ElfHeaders {
  const out: ElfHeaders = { loads: [] };
  for (const line of text.split('\n')) {
    const l = LOAD.exec(line);
    if (l) {
      out.loads.push({ offset: BigInt(`0x${l[1]}`), vaddr: BigInt(`0x${l[2]}`), filesz: BigInt(`0x${l[3]}`) });
      continue;
    }
    const b = BUILD_ID.exec(line);
    if (b) out.buildId = b[1];
  }
  return out;
}

/**
 * The link-time address (what nm prints) of a file offset: the load bias of PIEs and shared
 * objects is gone once the runtime address is a file offset, and the segment's own
 * offset→vaddr shift is applied. Undefined when no segment holds the offset.
 */
export function offsetToVaddr(h: ElfHeaders, off: bigint): bigint | undefined {
  for (const s of h.loads) if (off >= s.offset && off < s.offset + s.filesz) return off - s.offset + s.vaddr;
  return undefined;
}

/** Function symbols, sorted by address; a symbol without a size reaches to the next one. */
export interface SymbolTable {
  addrs: bigint[];
  ends: (bigint | undefined)[];
  names: string[];
}

// `nm -P -S -C --defined-only`: `NAME TYPE VALUE [SIZE]`; a demangled NAME may hold spaces
const NM = /^(.+) ([TtWwi]) ([0-9a-f]+)(?: ([0-9a-f]+))?$/;
// dynamic symbols carry their version: `malloc@@GLIBC_2.2.5`
const VERSION = /@@?[A-Za-z_][\w.]*$/;

/** Merges the outputs of nm (.symtab, then nm -D: .dynsym) into one table. */
export function parseNm(...texts: string[]): SymbolTable {
  const rows = new Map<bigint, { end?: bigint; name: string }>();
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const m = NM.exec(line);
      if (!m) continue;
      const addr = BigInt(`0x${m[3]}`);
      if (addr === 0n) continue;
      const size = m[4] ? BigInt(`0x${m[4]}`) : 0n;
      const name = m[1].replace(VERSION, '');
      const had = rows.get(addr);
      // aliases (one address, several names): the first seen (.symtab's) names it
      if (had) {
        if (had.end === undefined && size) had.end = addr + size;
        continue;
      }
      rows.set(addr, { end: size ? addr + size : undefined, name });
    }
  }
  const addrs = [...rows.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { addrs, ends: addrs.map((a) => rows.get(a)!.end), names: addrs.map((a) => rows.get(a)!.name) };
}

/** `name+0xoff` for the function holding vaddr, if any. */
export function lookupSymbol(t: SymbolTable, vaddr: bigint): string | undefined {
  let lo = 0;
  let hi = t.addrs.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t.addrs[mid] <= vaddr) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (best < 0) return undefined;
  const end = t.ends[best];
  // past a sized symbol's end is padding or a stripped local function: not this symbol
  if (end !== undefined && vaddr >= end) return undefined;
  if (end === undefined && best + 1 >= t.addrs.length) return undefined;
  return `${t.names[best]}+0x${(vaddr - t.addrs[best]).toString(16)}`;
}
