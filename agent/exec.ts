// Running a node command for a sampler or discovery: bounded in time and output, and
// failing with a message that names the command, so a sampler error is actionable.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

export class CommandError extends Error {}
/** the command did not finish within its timeout (and was killed) */
export class CommandTimeout extends CommandError {}

// Commands still running when the agent exits are killed with it, so a slow or hung
// stand-in never outlives the agent that started it.
const inflight = new Set<{ kill(signal?: NodeJS.Signals): boolean }>();
process.once('exit', () => {
  for (const c of inflight) c.kill('SIGKILL');
});

export async function run(cmd: string, args: string[], timeoutMs = 5000): Promise<string> {
  const line = [cmd, ...args].join(' ');
  try {
    const child = execa(cmd, args, {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
      maxBuffer: 64 * 1024 * 1024,
      stdin: 'ignore',
      reject: false,
    });
    inflight.add(child);
    const r = await child.finally(() => inflight.delete(child));
    if (r.timedOut) throw new CommandTimeout(`${line}: timed out after ${timeoutMs} ms`);
    if (r.failed) {
      const why = r.exitCode !== undefined ? `exit ${r.exitCode}` : r.shortMessage;
      const err = String(r.stderr ?? '').trim().split('\n')[0] ?? '';
      throw new CommandError(`${line}: ${why}${err ? `: ${err}` : ''}`);
    }
    return String(r.stdout);
  } catch (e) {
    if (e instanceof CommandError) throw e;
    throw new CommandError(`${line}: ${(e as Error).message}`);
  }
}

/** Where `cmd` is on PATH (an executable), or undefined. */
export function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, cmd), constants.X_OK);
      return join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}
