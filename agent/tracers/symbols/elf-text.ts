// What binutils prints about an ELF file → the symbolizer's tables. Pure: elf-tools.ts runs
// the commands. binutils does the ELF reading (.symtab and .dynsym) and c++filt the C++ and
// Rust demangling (demangle.ts), so no ELF parser lives here.

/** A loadable segment: file bytes [offset, offset + filesz) are mapped at vaddr. */
export interface LoadSegment {
  offset: number;
  vaddr: number;
  filesz: number;
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
      out.loads.push({ offset: parseInt(l[1], 16), vaddr: parseInt(l[2], 16), filesz: parseInt(l[3], 16) });
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
export function offsetToVaddr(h: ElfHeaders, off: number): number | undefined {
  for (const s of h.loads) if (off >= s.offset && off < s.offset + s.filesz) return off - s.offset + s.vaddr;
  return undefined;
}

/** Function symbols, sorted by address; a symbol without a size (end NaN) reaches to the next one. */
export interface SymbolTable {
  addrs: Float64Array;
  ends: Float64Array;
  names: string[];
}

// `nm -P -S --defined-only`: `NAME TYPE VALUE [SIZE]` (with -C a demangled NAME may hold spaces)
const NM = /^(.+) ([TtWwi]) ([0-9a-f]+)(?: ([0-9a-f]+))?$/;
// dynamic symbols carry their version: `malloc@@GLIBC_2.2.5`
const VERSION = /@@?[A-Za-z_][\w.]*$/;

/**
 * Merges outputs of nm (.symtab, .dynsym) into one table. Node's 100k symbols take a few
 * tens of milliseconds: one regex per line, numbers not BigInts, one sort of indices.
 */
export function parseNm(...texts: string[]): SymbolTable {
  const addr: number[] = [];
  const end: number[] = [];
  const name: string[] = [];
  for (const text of texts) {
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = text.length;
      const m = NM.exec(text.slice(pos, nl));
      pos = nl + 1;
      if (!m) continue;
      const a = parseInt(m[3], 16);
      if (a === 0) continue;
      const size = m[4] ? parseInt(m[4], 16) : 0;
      addr.push(a);
      end.push(size ? a + size : NaN);
      name.push(m[1].replace(VERSION, ''));
    }
  }
  // by address; of aliases (one address, several names) the first seen (.symtab's) names it
  const order = Array.from(addr.keys()).sort((i, j) => addr[i] - addr[j] || i - j);
  const out: SymbolTable = { addrs: new Float64Array(order.length), ends: new Float64Array(order.length), names: [] };
  let n = 0;
  for (const i of order) {
    if (n && out.addrs[n - 1] === addr[i]) {
      if (Number.isNaN(out.ends[n - 1])) out.ends[n - 1] = end[i];
      continue;
    }
    out.addrs[n] = addr[i];
    out.ends[n] = end[i];
    out.names.push(name[i]);
    n++;
  }
  return { addrs: out.addrs.subarray(0, n), ends: out.ends.subarray(0, n), names: out.names };
}

/** The function holding vaddr and the offset into it, if any. */
export function lookupSymbol(t: SymbolTable, vaddr: number): { name: string; offset: number } | undefined {
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
  if (!Number.isNaN(end) && vaddr >= end) return undefined;
  if (Number.isNaN(end) && best + 1 >= t.addrs.length) return undefined;
  return { name: t.names[best], offset: vaddr - t.addrs[best] };
}
