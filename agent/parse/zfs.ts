// Pure parsers of `zfs list -Hp` and `zpool list -Hp`: TAB-separated, one dataset or pool a
// line, fields in the order asked with -o. Quirks: '-' means "does not apply" (quota of a
// volume, every number of a faulted pool) → undefined; 18446744073709551615 means "no limit"
// → Infinity; older pools print `8%` and `1.83x` even with -p.

export const ZFS_LIST_FIELDS = ['name', 'used', 'available', 'referenced', 'quota', 'compressratio', 'usedbysnapshots'] as const;
export const ZPOOL_LIST_FIELDS = ['name', 'size', 'allocated', 'free', 'fragmentation', 'health'] as const;

/** A zfs/zpool number: undefined for '-', Infinity for UINT64_MAX, NaN when it does not parse. */
export function zfsNumber(s: string, suffix?: '%' | 'x'): number | undefined {
  if (s === '-' || s === '') return undefined;
  if (s === '18446744073709551615') return Infinity;
  const t = suffix && s.endsWith(suffix) ? s.slice(0, -1) : s;
  if (!/^\d+(\.\d+)?$/.test(t)) return NaN;
  return Number(t);
}

export interface ZfsDataset {
  name: string;
  used?: number;
  available?: number;
  referenced?: number;
  /** Infinity when unlimited; 0 means "none" to zfs, i.e. also unlimited */
  quota?: number;
  compressratio?: number;
  usedbysnapshots?: number;
}

export interface ZpoolRow {
  name: string;
  size?: number;
  allocated?: number;
  free?: number;
  /** percent, 0..100 */
  fragmentation?: number;
  health: string;
}

function rows(text: string, cmd: string, n: number): string[][] {
  const out: string[][] = [];
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const f = line.split('\t');
    if (f.length !== n) throw new Error(`${cmd} line ${i + 1}: expected ${n} TAB-separated fields, got ${f.length}: ${JSON.stringify(line.slice(0, 200))}`);
    out.push(f);
  });
  return out;
}

/** For `zfs list -Hp -o name,used,available,referenced,quota,compressratio,usedbysnapshots`. */
export function parseZfsList(text: string): ZfsDataset[] {
  return rows(text, 'zfs list -Hp', ZFS_LIST_FIELDS.length).map(([name, used, available, referenced, quota, ratio, snaps]) => ({
    name,
    used: zfsNumber(used),
    available: zfsNumber(available),
    referenced: zfsNumber(referenced),
    quota: zfsNumber(quota),
    compressratio: zfsNumber(ratio, 'x'),
    usedbysnapshots: zfsNumber(snaps),
  }));
}

/** For `zpool list -Hp -o name,size,allocated,free,fragmentation,health`. */
export function parseZpoolList(text: string): ZpoolRow[] {
  return rows(text, 'zpool list -Hp', ZPOOL_LIST_FIELDS.length).map(([name, size, allocated, free, frag, health]) => {
    if (!/^[A-Z_]+$/.test(health)) throw new Error(`zpool list -Hp: pool ${JSON.stringify(name)} health ${JSON.stringify(health)} is not a pool state`);
    return {
      name,
      size: zfsNumber(size),
      allocated: zfsNumber(allocated),
      free: zfsNumber(free),
      fragmentation: zfsNumber(frag, '%'),
      health,
    };
  });
}
