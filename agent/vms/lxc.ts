// VM lifecycle on Linux, for LXC containers (the one container kind whose lifecycle belongs
// to the host's operator); other kinds are refused with a reason rather than guessed at.
import type { Zone } from '../../protocol/messages.js';
import { run } from '../exec.js';
import type { VmActionName } from '../platform/types.js';

const ARGS: Record<VmActionName, (n: string) => [string, string[]]> = {
  start: (n) => ['lxc-start', ['-n', n]],
  stop: (n) => ['lxc-stop', ['-n', n]],
  reboot: (n) => ['lxc-stop', ['-n', n, '-r']],
};

export async function lxcAction(zone: Zone, action: VmActionName): Promise<string> {
  if (zone.name === 'global') throw new Error('the global zone is the host: it cannot be started, stopped or rebooted from here');
  if (zone.brand !== 'lxc') throw new Error(`zone '${zone.name}' is a ${zone.brand} container: only LXC containers can be started, stopped or rebooted`);
  const [cmd, args] = ARGS[action](zone.name);
  const out = await run(cmd, args, 120_000);
  return out.trim() || `${cmd} ${args.join(' ')}: done`;
}
