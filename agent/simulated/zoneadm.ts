// zoneadm(1M) of the simulated node: `zoneadm list [-c] [-i] [-p] [-v]`. Parsable lines:
// zoneid:zonename:state:zonepath:uuid:brand:ip-type:debugid, ':' and '\' in the zonepath
// escaped with '\'; zoneid is '-' for a zone that is not running.
import { SimExit, type SimNode, type SimResult } from './node.js';

export function zoneadm(node: SimNode, args: string[]): SimResult {
  if (args[0] !== 'list') throw new SimExit('zoneadm', `subcommand '${args[0] ?? ''}' is not simulated (only list)`);
  let all = false;
  let installed = false;
  let parsable = false;
  for (const a of args.slice(1)) {
    if (!/^-[cipv]+$/.test(a)) throw new SimExit('zoneadm', `list: illegal option -- ${a}`);
    if (a.includes('c')) all = true;
    if (a.includes('i')) installed = true;
    if (a.includes('p')) parsable = true;
  }
  const zones = node.zones().filter((z) => all || z.state === 'running' || (installed && z.state === 'installed'));
  const esc = (s: string) => s.replace(/[\\:]/g, '\\$&');
  const lines = zones.map((z) => {
    const id = z.state === 'running' && z.zoneid !== null ? String(z.zoneid) : '-';
    const path = z.zonepath ?? `/zones/${z.name}`;
    return parsable
      ? [id, z.name, z.state, esc(path), z.uuid ?? '', z.brand, z.iptype ?? 'excl', String(z.debugid ?? '')].join(':')
      : `${id.padStart(4)} ${z.name.padEnd(36)} ${z.state.padEnd(10)} ${path.padEnd(45)} ${z.brand.padEnd(15)} ${z.iptype ?? 'excl'}`;
  });
  return { stdout: lines.length ? `${lines.join('\n')}\n` : '', stderr: '', code: 0 };
}
