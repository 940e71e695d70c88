// A command runner for the illumos platform that asks a simulated node instead of spawning:
// the same text the stand-in executables print, without a process per command, so one
// `zonescope simulate` process can play a thousand nodes.
import { CommandError } from '../exec.js';
import type { RunCommand } from '../platform/types.js';
import type { SimNode } from './node.js';
import { runTool } from './tools.js';

/** Fails the way agent/exec.ts does for a real command, so errors read the same. */
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
