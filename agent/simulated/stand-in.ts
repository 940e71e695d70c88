// The entry point of the stand-in executables (test/fakes/illumos/bin/kstat, …): the simulated
// node described by $ZONESCOPE_FAKE_DATA (default smartos-node.json), its zone changes kept in a
// file under $ZONESCOPE_FAKE_STATE (default: the temp dir), so successive commands see one node.
// Failure injection for tests: ZONESCOPE_FAKE_FAIL / _GARBAGE / _HANG hold comma lists of
// command names.
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runTool } from './tools.js';
import { defaultNodeFile, FileStates, readNodeData, SimNode } from './node.js';

const listEnv = (name: string) => (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function die(cmd: string, msg: string, code = 1): never {
  process.stderr.write(`${cmd}: ${msg}\n`);
  process.exit(code);
}

/** Call first thing in every stand-in: hangs, fails or prints garbage when a test asks. */
export function inject(cmd: string): Promise<never> | null {
  if (listEnv('ZONESCOPE_FAKE_HANG').includes(cmd)) {
    // a wedged tool: never prints, never exits, until killed
    setInterval(() => {}, 1 << 30);
    return new Promise(() => {});
  }
  if (listEnv('ZONESCOPE_FAKE_FAIL').includes(cmd)) die(cmd, `simulated failure (ZONESCOPE_FAKE_FAIL=${cmd}): I/O error`, cmd === 'kstat' ? 3 : 1);
  if (listEnv('ZONESCOPE_FAKE_GARBAGE').includes(cmd)) {
    process.stdout.write('\u0000\u0007Segmentation Fault - core dumped\n<html><body>502 Bad Gateway</body></html>\n%%%% ~~~~\n');
    process.exit(0);
  }
  return null;
}

export function standInNode(): SimNode {
  const dataPath = resolve(process.env.ZONESCOPE_FAKE_DATA || defaultNodeFile());
  let data;
  try {
    data = readNodeData(dataPath);
  } catch (e) {
    die('zonescope-fake', (e as Error).message, 3);
  }
  const key = createHash('sha1').update(dataPath).digest('hex').slice(0, 12);
  return new SimNode(data, new FileStates(join(process.env.ZONESCOPE_FAKE_STATE || tmpdir(), `zonescope-fake-illumos-${key}.json`)));
}

export async function standIn(cmd: string): Promise<void> {
  await inject(cmd);
  const r = runTool(standInNode(), cmd, process.argv.slice(2));
  if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stderr.write(r.stderr);
  process.exitCode = r.code;
}
