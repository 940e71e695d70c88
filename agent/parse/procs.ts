// Process lists, for "which process of the zone holds the memory": Linux /proc/PID/status and
// cgroup files, illumos `ps -o pid,rss,vsz,args` (sizes in KiB on both).

/** Name, VmRSS and VmSize from /proc/PID/status; undefined for a kernel thread (no VmRSS). */
export function parseProcStatus(text: string): { name: string; rssBytes: number; vszBytes?: number } | undefined {
  let name = '';
  let rss: number | undefined;
  let vsz: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('Name:')) name = line.slice(5).trim();
    else if (line.startsWith('VmRSS:')) rss = Number.parseInt(line.slice(6), 10) * 1024;
    else if (line.startsWith('VmSize:')) vsz = Number.parseInt(line.slice(7), 10) * 1024;
  }
  if (rss === undefined || !Number.isFinite(rss)) return undefined;
  return { name, rssBytes: rss, ...(vsz !== undefined && Number.isFinite(vsz) ? { vszBytes: vsz } : {}) };
}

/** Is a process whose /proc/PID/cgroup reads `text` inside the cgroup `path` (or below it)? */
export function inCgroup(text: string, path: string): boolean {
  const want = `/${path.replace(/^\/+|\/+$/g, '')}`;
  for (const line of text.split('\n')) {
    const p = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (p === want || p.startsWith(`${want}/`)) return true;
  }
  return false;
}

export interface PsRow {
  pid: number;
  comm: string;
  args: string;
  rssBytes: number;
  vszBytes: number;
}

/** `ps -o pid,rss,vsz,args` (illumos): a header, then rows; args may hold spaces. */
export function parsePs(text: string): PsRow[] {
  const rows: PsRow[] = [];
  const lines = text.split('\n').filter((l) => l.trim());
  if (!lines.length) return rows;
  if (!/^\s*PID\s+RSS\s+VSZ\s+(COMMAND|ARGS)/i.test(lines[0])) throw new Error(`ps: unexpected header ${JSON.stringify(lines[0].slice(0, 80))}`);
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`ps: cannot read ${JSON.stringify(line.slice(0, 80))}`);
    const args = m[4].trim();
    rows.push({ pid: Number(m[1]), rssBytes: Number(m[2]) * 1024, vszBytes: Number(m[3]) * 1024, args, comm: (args.split(/\s+/)[0] ?? '').split('/').pop() ?? '' });
  }
  return rows;
}
