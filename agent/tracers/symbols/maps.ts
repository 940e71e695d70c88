// /proc/PID/maps text → mappings, and the address arithmetic on them. Pure: the symbolizer
// (symbolizer.ts) reads the files. Addresses are plain numbers: user space ends below 2^47
// on x86-64 and aarch64, well inside a double's exact integers (2^53).
//
//   7f1c2a400000-7f1c2a428000 r--p 00000000 08:01 1835 /usr/lib/x86_64-linux-gnu/libc.so.6
//   start-end perms offset dev inode [path]; path may hold spaces, end with " (deleted)",
//   or be a pseudo name ([heap], [stack], [vdso], [anon:...]) or absent (anonymous memory).

export interface Mapping {
  start: number;
  end: number;
  /** whether the mapping may hold code (r-xp) */
  exec: boolean;
  /** offset of `start` in the mapped file */
  offset: number;
  dev: string;
  inode: number;
  /** '' for anonymous memory; pseudo names keep their brackets */
  path: string;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S{4})\s+([0-9a-f]+)\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s*(.*)$/;

/** Parses /proc/PID/maps; lines that are not mappings are skipped. Sorted by start. */
export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    out.push({
      start: parseInt(m[1], 16),
      end: parseInt(m[2], 16),
      exec: m[3][2] === 'x',
      offset: parseInt(m[4], 16),
      dev: m[5],
      inode: Number(m[6]),
      path: m[7].trim(),
    });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The mapping holding addr (binary search over sorted mappings), if any. */
export function findMapping(maps: readonly Mapping[], addr: number): Mapping | undefined {
  let lo = 0;
  let hi = maps.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = maps[mid];
    if (addr < m.start) hi = mid - 1;
    else if (addr >= m.end) lo = mid + 1;
    else return m;
  }
  return undefined;
}

/** Whether the mapping is a file on disk (not anonymous memory nor a [pseudo] region). */
export function isFileMapping(m: Mapping): boolean {
  return m.inode !== 0 && m.path.startsWith('/');
}

/** The mapped file's offset of addr (addr must lie in m). */
export function fileOffset(m: Mapping, addr: number): number {
  return addr - m.start + m.offset;
}

/** The path without the kernel's " (deleted)" suffix. */
export function cleanPath(path: string): string {
  return path.endsWith(' (deleted)') ? path.slice(0, -' (deleted)'.length) : path;
}

/** The name a frame shows for a module: the file's base name, or the [pseudo] name. */
export function moduleName(m: Mapping): string {
  if (!m.path) return '[anon]';
  const p = cleanPath(m.path);
  return p.startsWith('/') ? p.slice(p.lastIndexOf('/') + 1) : p;
}
