// User-stack symbolization in the agent. bpftrace runs with BPFTRACE_NO_USER_SYMBOLS=1 and
// prints raw addresses keyed by pid; this names them. bpftrace 0.17 would instead re-read
// every module's symbol table on each print of a stack map (no cache with ASLR), which stalls
// the trace for seconds when a large binary such as node is in the stacks.
//
//   address → /proc/PID/maps (cached per pid, re-read when an address falls outside it)
//           → module and file offset → link-time address (readelf's program headers)
//           → function symbol (nm's .symtab/.dynsym, read once per module identity)
//   anonymous executable memory → the JIT's perf map (/tmp/perf-PID.map)
//
// A module is known by device + inode + mtime + size of the mapped file (so an upgraded
// binary is read again) and, once read, by its build-id, so the same libc seen through two
// containers' roots is read once. Everything here is best effort: a frame that cannot be
// named keeps what is known (`module+0xoffset`, else the address).
import { readFile, stat } from 'node:fs/promises';
import { cleanPath, fileOffset, findMapping, isFileMapping, moduleName, parseMaps, type Mapping } from './maps.js';
import { lookupPerfMap, parsePerfMap, type PerfMap } from './perf-map.js';
import { lookupSymbol, offsetToVaddr, type ElfHeaders, type SymbolTable } from './elf-text.js';
import { readHeaders, readSymbols } from './elf-tools.js';
import { Demangler } from './demangle.js';

interface Module {
  headers: ElfHeaders;
  table: SymbolTable;
}

interface Proc {
  maps: Mapping[];
  /** module per mapping start, once looked up (null: not readable) */
  modules: Map<number, Promise<Module | null>>;
  perf?: { map: PerfMap; size: number };
  /** where its perf map would be (null: the process could not be read) */
  perfPath?: string | null;
  /** names already given to this process's addresses */
  names: Map<number, string>;
  /** exited (or never readable): what was read stays, nothing is read again */
  gone: boolean;
  /** when the maps were last read: a burst of misses reads them once */
  readAt: number;
}

export interface SymbolizerOptions {
  procRoot?: string;
  /** processes whose mappings are remembered (oldest dropped first) */
  maxProcs?: number;
  /** modules whose symbol tables are kept */
  maxModules?: number;
}

export interface SymbolizerStats {
  /** symbol tables read (nm runs), for the benchmark and tests */
  modulesRead: number;
  mapsRead: number;
  perfMapsRead: number;
}

const HEX = /^0x([0-9a-f]{1,13})$/;
/** a process's maps are read again on a miss at most this often */
const REREAD_MS = 200;

export class Symbolizer {
  private readonly procs = new Map<number, Promise<Proc>>();
  private readonly byIdentity = new Map<string, Promise<Module | null>>();
  private readonly byBuildId = new Map<string, Module>();
  readonly stats: SymbolizerStats = { modulesRead: 0, mapsRead: 0, perfMapsRead: 0 };
  private readonly root: string;
  private readonly maxProcs: number;
  private readonly maxModules: number;
  private readonly demangler = new Demangler();

  constructor(o: SymbolizerOptions = {}) {
    this.root = o.procRoot ?? '/proc';
    this.maxProcs = o.maxProcs ?? 4096;
    this.maxModules = o.maxModules ?? 1024;
  }

  /** Names user frames of one process, leaf first; frames that are not `0xADDR` (user space) are kept as they are. */
  async frames(pid: number, frames: readonly string[]): Promise<string[]> {
    const p = await this.proc(pid);
    // one frame after the other: a module or map read once serves the frames after it
    const out: string[] = [];
    for (const f of frames) {
      const a = HEX.exec(f);
      if (!a) {
        out.push(f);
        continue;
      }
      const addr = parseInt(a[1], 16);
      out.push(p.names.get(addr) ?? (await this.name(pid, p, addr)));
    }
    return out;
  }

  /**
   * Reads the mappings and symbol tables of these processes ahead of their first stacks
   * (the agent calls it while the tracer starts), so the first interval does not wait on them.
   */
  async prefetch(pids: readonly number[]): Promise<void> {
    for (const pid of pids) {
      const p = await this.proc(pid);
      for (const m of p.maps) if (m.exec && isFileMapping(m)) await this.module(pid, p, m);
    }
  }

  private async name(pid: number, p: Proc, addr: number): Promise<string> {
    const hex = `0x${addr.toString(16)}`;
    let m = findMapping(p.maps, addr);
    if ((!m || !isFileMapping(m)) && !p.gone) {
      // new code since the maps were read (dlopen, a JIT's new region): read them again once
      const jit = m && this.perfName(p, addr);
      if (jit) return this.remember(p, addr, jit);
      await this.refresh(pid, p);
      m = findMapping(p.maps, addr);
    }
    let out: string;
    if (!m) out = hex;
    else if (!isFileMapping(m)) out = (await this.perfLookup(pid, p, addr)) ?? (m.path ? `${m.path}+0x${(addr - m.start).toString(16)}` : hex);
    else {
      const off = fileOffset(m, addr);
      const mod = await this.module(pid, p, m);
      const vaddr = mod ? offsetToVaddr(mod.headers, off) : undefined;
      const sym = mod && vaddr !== undefined ? lookupSymbol(mod.table, vaddr) : undefined;
      out = sym ? `${await this.demangler.demangle(sym.name)}+0x${sym.offset.toString(16)}` : `${moduleName(m)}+0x${off.toString(16)}`;
    }
    return this.remember(p, addr, out);
  }

  /** Ends the demangler process (the agent's exit ends it too). */
  close(): void {
    this.demangler.close();
  }

  private remember(p: Proc, addr: number, name: string): string {
    if (p.names.size >= 200_000) p.names.clear();
    p.names.set(addr, name);
    return name;
  }

  private proc(pid: number): Promise<Proc> {
    let p = this.procs.get(pid);
    if (!p) {
      p = (async () => {
        const fresh: Proc = { maps: [], modules: new Map(), names: new Map(), gone: false, readAt: 0 };
        await this.refresh(pid, fresh);
        return fresh;
      })();
      this.procs.set(pid, p);
      if (this.procs.size > this.maxProcs) this.procs.delete(this.procs.keys().next().value!);
    }
    return p;
  }

  private async refresh(pid: number, p: Proc): Promise<void> {
    if (p.gone || Date.now() - p.readAt < REREAD_MS) return;
    p.readAt = Date.now();
    let text: string;
    try {
      text = await readFile(`${this.root}/${pid}/maps`, 'utf8');
    } catch {
      // exited: what was read before stays usable, and nothing is tried again
      p.gone = true;
      return;
    }
    this.stats.mapsRead++;
    p.maps = parseMaps(text);
    p.modules.clear();
  }

  private module(pid: number, p: Proc, m: Mapping): Promise<Module | null> {
    let mod = p.modules.get(m.start);
    if (!mod) {
      mod = this.load(pid, m);
      p.modules.set(m.start, mod);
    }
    return mod;
  }

  /** The module's symbols through the cache; the file is read through the process's view of it. */
  private async load(pid: number, m: Mapping): Promise<Module | null> {
    // map_files reaches the very file mapped, also inside a container's root or once deleted
    const candidates = [`${this.root}/${pid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, `${this.root}/${pid}/root${cleanPath(m.path)}`, cleanPath(m.path)];
    for (const path of candidates) {
      let st;
      try {
        st = await stat(path, { bigint: true });
      } catch {
        continue;
      }
      const identity = `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
      let mod = this.byIdentity.get(identity);
      if (!mod) {
        mod = this.read(path);
        this.byIdentity.set(identity, mod);
        if (this.byIdentity.size > this.maxModules) this.byIdentity.delete(this.byIdentity.keys().next().value!);
      }
      return mod;
    }
    return null;
  }

  private async read(path: string): Promise<Module | null> {
    try {
      const headers = await readHeaders(path);
      const same = headers.buildId && this.byBuildId.get(headers.buildId);
      if (same) return same;
      this.stats.modulesRead++;
      const mod = { headers, table: await readSymbols(path) };
      if (headers.buildId) this.byBuildId.set(headers.buildId, mod);
      return mod;
    } catch {
      return null;
    }
  }

  private perfName(p: Proc, addr: number): string | undefined {
    return p.perf && lookupPerfMap(p.perf.map, addr);
  }

  /** A JIT frame's name from the process's perf map, re-read when it has grown. */
  private async perfLookup(pid: number, p: Proc, addr: number): Promise<string | undefined> {
    const hit = this.perfName(p, addr);
    if (hit || p.gone) return hit;
    if (p.perfPath === undefined) p.perfPath = (await this.perfMapPath(pid)) ?? null;
    const path = p.perfPath;
    if (!path) return undefined;
    try {
      const st = await stat(path);
      if (p.perf && p.perf.size === st.size) return undefined;
      p.perf = { map: parsePerfMap(await readFile(path, 'utf8')), size: st.size };
      this.stats.perfMapsRead++;
    } catch {
      return undefined;
    }
    return this.perfName(p, addr);
  }

  /** The perf map is named by the pid the process has in its own namespace, under its root. */
  private async perfMapPath(pid: number): Promise<string | undefined> {
    try {
      const status = await readFile(`${this.root}/${pid}/status`, 'utf8');
      const ns = /^NSpid:\s*(.*)$/m.exec(status)?.[1].trim().split(/\s+/).pop() ?? String(pid);
      return `${this.root}/${pid}/root/tmp/perf-${ns}.map`;
    } catch {
      return undefined;
    }
  }
}
