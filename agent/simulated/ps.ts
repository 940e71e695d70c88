// ps(1) of the simulated node, only as the agent asks it: `ps -z ZONE -o pid,rss,vsz,args` — a
// header, then one row per process, sizes in KiB. The zone's processes are made up from its
// brand and memory, the application holding most of it.
import { SimExit, type SimNode, type SimResult } from './node.js';

const APPS: Record<string, [string, number]> = {
  joyent: ['/opt/local/bin/node /opt/app/server.js --port 8080', 0.62],
  'joyent-minimal': ['/opt/local/bin/java -Xmx768m -jar /opt/billing/reconcile.jar', 0.81],
  lx: ['/usr/bin/python3 /srv/build/worker.py', 0.55],
};

export function ps(node: SimNode, args: string[]): SimResult {
  let zone: string | undefined;
  let format: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-z') zone = args[++i];
    else if (args[i] === '-o') format = args[++i];
    else throw new SimExit('ps', `illegal option -- ${args[i].replace(/^-/, '')} (this stand-in knows -z ZONE -o pid,rss,vsz,args)`);
  }
  if (format !== 'pid,rss,vsz,args' || !zone) throw new SimExit('ps', 'usage: ps -z ZONE -o pid,rss,vsz,args');
  const z = node.zones().find((x) => x.name === zone);
  if (!z) throw new SimExit('ps', `unknown zone: ${zone}`);
  const rows: [number, number, number, string][] = [];
  if (z.state === 'running') {
    const base = (z.zoneid ?? 1) * 1000;
    const rssKiB = Math.round((z.memory?.rss ?? 512 * 1048576) / 1024);
    const sys: [string, number][] = z.name === 'global'
      ? [['/sbin/init', 2100], ['/lib/svc/bin/svc.startd', 9800], ['/usr/sbin/nscd', 6200], ['/usr/vm/sbin/vmadmd', 41000]]
      : [['/sbin/init', 1900], ['/lib/svc/bin/svc.startd', 8400], ['/lib/svc/bin/svc.configd', 14500], ['/usr/lib/saf/ttymon', 1600]];
    const app = APPS[z.brand];
    let pid = base + 1;
    for (const [cmd, kib] of sys) rows.push([pid++, kib, kib * 3, cmd]);
    if (app) rows.push([pid++, Math.round(rssKiB * app[1]), Math.round(rssKiB * app[1] * 1.6), app[0]]);
  }
  const out = ['  PID   RSS   VSZ COMMAND', ...rows.map(([p, r, v, c]) => `${String(p).padStart(5)} ${String(r).padStart(5)} ${String(v).padStart(5)} ${c}`)];
  return { stdout: `${out.join('\n')}\n`, stderr: '', code: 0 };
}
