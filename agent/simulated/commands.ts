// The simulated node's tools by name, and a command runner that answers from them in-process:
// the same text the stand-in executables print, without a process per command, so one
// `zonescope simulate` process can play a thousand nodes.
import { CommandError } from '../exec.js';
import type { RunCommand } from '../platform/types.js';
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

/** A runner for the illumos platform that asks the simulated node instead of spawning. It
 * fails the way agent/exec.ts does for a real command, so errors read the same. */
export function simulatedRunner(node: SimNode): RunCommand {
  return async (cmd, args) => {
    const r = runTool(node, cmd, args);
    if (r.code !== 0) {
      const err = r.stderr.trim().split('\n')[0] ?? '';
      throw new CommandError(`${[cmd, ...args].join(' ')}: exit ${r.code}${err ? `: ${err}` : ''}`);
    }
    return r.stdout;
  };
}
