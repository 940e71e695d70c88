// Pure parser of illumos `kstat -p` output: `module:instance:name:statistic<TAB>value`, one
// statistic per line. Values stay strings (they may be text with spaces, empty, or fractional
// seconds such as crtime/snaptime); turning them into numbers is the sampler's business.
// kstat names are cut at 30 characters (KSTAT_STRLEN - 1), so a zone's kstat name is a
// truncated zonename: the `zonename` statistic, where the kstat has one, holds the full name.

export interface KstatRow {
  module: string;
  instance: number;
  name: string;
  statistic: string;
  value: string;
}

export interface KstatParse {
  rows: KstatRow[];
  /** lines that are not `module:instance:name:statistic<TAB>value`, as printed */
  bad: string[];
}

/** The longest kstat name the kernel keeps (KSTAT_STRLEN is 31 with the NUL). */
export const KSTAT_NAME_MAX = 30;

const LINE = /^([^:\t]+):(\d+):([^\t]*):([^:\t]+)\t(.*)$/;

/**
 * Parses `kstat -p` text. Lines that do not have the shape are returned in `bad` rather than
 * thrown, so one odd line costs one count, not the whole sample; the caller decides when
 * nothing but bad lines means the tool is broken.
 */
export function parseKstat(text: string): KstatParse {
  const rows: KstatRow[] = [];
  const bad: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const m = LINE.exec(line);
    if (!m) {
      bad.push(line);
      continue;
    }
    rows.push({ module: m[1], instance: Number(m[2]), name: m[3], statistic: m[4], value: m[5] });
  }
  return { rows, bad };
}

/** One kstat: the statistics that share module, instance and name. */
export interface Kstat {
  module: string;
  instance: number;
  name: string;
  stats: Map<string, string>;
}

/** Groups rows by (module, instance, name), in the order they first appear. */
export function groupKstats(rows: readonly KstatRow[]): Kstat[] {
  const byKey = new Map<string, Kstat>();
  for (const r of rows) {
    const key = `${r.module}\u0000${r.instance}\u0000${r.name}`;
    let k = byKey.get(key);
    if (!k) {
      k = { module: r.module, instance: r.instance, name: r.name, stats: new Map() };
      byKey.set(key, k);
    }
    k.stats.set(r.statistic, r.value);
  }
  return [...byKey.values()];
}

/** What a kstat needs to be matched to a zone: the zone list as discovery reported it. */
export interface ZoneRef {
  name: string;
  zoneid?: number | null;
}

/**
 * The full zonename a per-zone kstat belongs to. The `zonename` statistic wins (it is never
 * truncated); otherwise the kstat name, which is the zonename cut at 30 characters: matched
 * exactly, else as the unique prefix of a known zone's name; otherwise, when `byInstance` is
 * set (kstats whose instance is the zone id, such as tcp per IP stack), the running zone with
 * that zone id. Undefined when the kstat cannot be placed with certainty.
 */
export function kstatZoneName(k: Kstat, zones: readonly ZoneRef[], byInstance = false): string | undefined {
  const stat = k.stats.get('zonename');
  if (stat !== undefined && stat !== '') return stat;
  if (zones.some((z) => z.name === k.name)) return k.name;
  if (k.name.length === KSTAT_NAME_MAX) {
    const hits = zones.filter((z) => z.name.length > KSTAT_NAME_MAX && z.name.startsWith(k.name));
    if (hits.length === 1) return hits[0].name;
    if (hits.length > 1) return undefined; // two zones share the first 30 characters
  }
  if (byInstance) {
    const hits = zones.filter((z) => z.zoneid === k.instance);
    if (hits.length === 1) return hits[0].name;
  }
  return undefined;
}

/**
 * A kstat value as a number: decimal integers (possibly beyond 2^53, where a double is the
 * best we have) and decimal fractions. Anything else — text, empty — is NaN.
 */
export function kstatNumber(v: string | undefined): number {
  if (v === undefined || !/^-?\d+(\.\d+)?$/.test(v)) return NaN;
  return Number(v);
}

/** UINT64_MAX, which kstats print for "no limit" (e.g. swapcap of an uncapped zone). */
export const UINT64_MAX_TEXT = '18446744073709551615';
