// Pure parsers of Linux /proc files: text in, typed records out. A value that is not a
// decimal integer comes out as NaN so the sampler can count it as unparsed instead of
// exporting 0; a file whose structure is wrong throws, naming the file.

/** A /proc or cgroup counter: unsigned decimal integer, else NaN. */
export function num(s: string | undefined): number {
  if (s === undefined || !/^\d+$/.test(s)) return NaN;
  return Number(s);
}

/** The fixed column order of the aggregate `cpu` line of /proc/stat (proc(5)). */
export const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guest_nice'] as const;
export type CpuMode = (typeof CPU_MODES)[number];

/** /proc/stat: the aggregate `cpu` line (all CPUs summed), in USER_HZ ticks per mode. */
export function parseProcStat(text: string): Partial<Record<CpuMode, number>> {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('/proc/stat: no aggregate "cpu" line');
  const cols = line.trim().split(/\s+/).slice(1);
  const out: Partial<Record<CpuMode, number>> = {};
  // older kernels have fewer columns: only the modes that are there
  CPU_MODES.forEach((m, i) => {
    if (i < cols.length) out[m] = num(cols[i]);
  });
  return out;
}

/** /proc/meminfo: field → bytes (the file says kB and means KiB). */
export function parseMeminfo(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([^:\s]+):\s*(\S+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) continue;
    const v = num(m[2]);
    out.set(m[1], m[3] ? v * 1024 : v);
  }
  if (out.size === 0) throw new Error('/proc/meminfo: no "Name: value" lines');
  return out;
}

/** /proc/loadavg: the 1-minute load average. */
export function parseLoadavg(text: string): number {
  const first = text.trim().split(/\s+/)[0];
  if (first === undefined || !/^\d+(\.\d+)?$/.test(first)) return NaN;
  return Number(first);
}

export interface NetDev {
  iface: string;
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
}

/** /proc/net/dev: two header lines, then `iface: 8 receive columns, 8 transmit columns`. */
export function parseNetDev(text: string): NetDev[] {
  const out: NetDev[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const c = m[2].trim().split(/\s+/);
    if (c.length < 16) throw new Error(`/proc/net/dev: ${m[1]}: ${c.length} columns, expected 16`);
    out.push({
      iface: m[1],
      rxBytes: num(c[0]),
      rxPackets: num(c[1]),
      rxErrors: num(c[2]),
      txBytes: num(c[8]),
      txPackets: num(c[9]),
      txErrors: num(c[10]),
    });
  }
  return out;
}

export interface DiskStat {
  device: string;
  reads: number;
  readSectors: number;
  writes: number;
  writtenSectors: number;
}

/** /proc/diskstats: `major minor name` then the I/O columns (Documentation/admin-guide/iostats.rst). */
export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const c = line.trim().split(/\s+/);
    if (c.length < 3 || c[0] === '') continue;
    if (c.length < 14) throw new Error(`/proc/diskstats: ${c[2]}: ${c.length} columns, expected at least 14`);
    out.push({ device: c[2], reads: num(c[3]), readSectors: num(c[5]), writes: num(c[7]), writtenSectors: num(c[9]) });
  }
  return out;
}

/**
 * An SPL kstat file such as /proc/spl/kstat/zfs/arcstats: a kstat header line, a
 * `name type data` line, then one named value per line. Only numeric types are kept.
 */
export function parseSplKstat(text: string): Map<string, number> {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /^name\s+type\s+data\s*$/.test(l));
  if (head < 0) throw new Error('kstat: no "name type data" header');
  const out = new Map<string, number>();
  for (const line of lines.slice(head + 1)) {
    const c = line.trim().split(/\s+/);
    if (c.length !== 3) continue;
    // type 4 = KSTAT_DATA_UINT64, 3 = INT64; others (strings) are not metrics
    if (c[1] === '4') out.set(c[0], num(c[2]));
    else if (c[1] === '3') out.set(c[0], /^-?\d+$/.test(c[2]) ? Number(c[2]) : NaN);
  }
  return out;
}
