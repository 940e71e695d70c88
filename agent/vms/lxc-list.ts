// LXC containers that exist but do not run have no cgroup, so cgroup discovery cannot see
// them; their directories under the LXC path can. Listing them as `stopped` zones is what lets
// an operator start one again.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

const NAME = /^[A-Za-z0-9_.:@-]{1,256}$/;

/** Names of the containers defined under `lxcPath` (a directory with a `config` file each). */
export async function definedLxcContainers(lxcPath: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(lxcPath);
  } catch {
    return []; // no LXC on this host
  }
  const out: string[] = [];
  for (const e of entries.sort()) {
    if (!NAME.test(e) || e === 'global') continue;
    try {
      if ((await stat(join(lxcPath, e, 'config'))).isFile()) out.push(e);
    } catch {
      // not a container directory
    }
  }
  return out;
}
