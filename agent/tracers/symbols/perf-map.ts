// Perf map files (/tmp/perf-PID.map): what JIT compilers write so profilers can name the code
// they generate (node --perf-basic-prof, perf-map-agent for the JVM). One line per symbol:
// `START SIZE name`, START and SIZE in hex without 0x; the name may hold spaces. Pure.

export interface PerfMap {
  /** sorted by start */
  starts: number[];
  ends: number[];
  names: string[];
}

const LINE = /^(?:0x)?([0-9a-fA-F]+) (?:0x)?([0-9a-fA-F]+) (.+)$/;

export function parsePerfMap(text: string): PerfMap {
  const rows: { start: number; end: number; name: string }[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trimEnd());
    if (!m) continue;
    const start = parseInt(m[1], 16);
    rows.push({ start, end: start + parseInt(m[2], 16), name: m[3] });
  }
  // a JIT may move code and write the new place later on: the last line for a start wins
  rows.sort((a, b) => a.start - b.start);
  const out: PerfMap = { starts: [], ends: [], names: [] };
  for (const r of rows) {
    const n = out.starts.length;
    if (n && out.starts[n - 1] === r.start) {
      out.ends[n - 1] = r.end;
      out.names[n - 1] = r.name;
      continue;
    }
    out.starts.push(r.start);
    out.ends.push(r.end);
    out.names.push(r.name);
  }
  return out;
}

/** The name of the JIT symbol holding addr, if any. */
export function lookupPerfMap(pm: PerfMap, addr: number): string | undefined {
  let lo = 0;
  let hi = pm.starts.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (pm.starts[mid] <= addr) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best >= 0 && addr < pm.ends[best] ? pm.names[best] : undefined;
}
