// The simulated node's tools by name, answering as a process would end: the stand-in
// executables print this, and `zonescope simulate` reads it in-process (commands.ts). Kept
// free of process machinery so a stand-in starts fast.
import { kstat } from './kstat.js';
import { SimExit, type SimNode, type SimResult } from './node.js';
import { ps } from './ps.js';
import { vmadm } from './vmadm.js';
import { zfs } from './zfs.js';
import { zoneadm } from './zoneadm.js';
import { zpool } from './zpool.js';

export const TOOLS: Record<string, (node: SimNode, args: string[]) => SimResult> = { kstat, zoneadm, vmadm, zfs, zpool, ps };

/** One command as a process would end: output, or the tool's message on stderr and its code. */
export function runTool(node: SimNode, cmd: string, args: string[]): SimResult {
  const tool = TOOLS[cmd];
  if (!tool) return { stdout: '', stderr: `${cmd}: not found on the simulated node\n`, code: 127 };
  try {
    return tool(node, args);
  } catch (e) {
    if (e instanceof SimExit) return { stdout: '', stderr: `${e.message}\n`, code: e.code };
    throw e;
  }
}
