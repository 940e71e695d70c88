// The processes of a SmartOS zone, from ps -z (resident and virtual size in KiB).
import type { Proc, Zone } from '../../protocol/messages.js';
import { run as runCommand } from '../exec.js';
import type { RunCommand } from '../platform/types.js';
import { parsePs } from '../parse/procs.js';
import { redactArgs } from '../../protocol/redact.js';

export async function illumosProcesses(zone: Zone, limit: number, run: RunCommand = runCommand): Promise<Proc[]> {
  const rows = parsePs(await run('ps', ['-z', zone.name, '-o', 'pid,rss,vsz,args'], 10_000));
  // viewers see this: credentials on command lines never leave the node
  return rows
    .sort((a, b) => b.rssBytes - a.rssBytes)
    .slice(0, limit)
    .map((p) => ({ ...p, args: redactArgs(p.args) }));
}
