// zfs(1M) of the simulated node: `zfs list [-H] [-p] [-o props] [-r] [-t type] [DATASET...]`.
// Quirks kept: quota 0 = none and 18446744073709551615 = no limit, '-' where a property does
// not apply (quota of a volume), and pools marked legacy print compressratio as `1.83x` even with -p.
import { humanSize, SimExit, table, UINT64_MAX, type SimDataset, type SimNode, type SimResult } from './node.js';

export function zfs(node: SimNode, args: string[]): SimResult {
  if (args[0] !== 'list') throw new SimExit('zfs', `subcommand '${args[0] ?? ''}' is not simulated (only list)`, 2);
  let scripted = false;
  let exact = false;
  let recursive = false;
  let fields = ['name', 'used', 'available', 'referenced', 'mountpoint'];
  let types = ['filesystem', 'volume'];
  const targets: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '-o') fields = (args[++i] ?? '').split(',');
    else if (a === '-t') types = (args[++i] ?? '').split(',');
    else if (/^-[Hpr]+$/.test(a)) {
      if (a.includes('H')) scripted = true;
      if (a.includes('p')) exact = true;
      if (a.includes('r')) recursive = true;
    } else if (a.startsWith('-')) throw new SimExit('zfs', `invalid option '${a.slice(1)}'`, 2);
    else targets.push(a);
  }
  const data = node.data;
  const pools = new Map((data.pools ?? []).map((p) => [p.name, p]));
  const zones = node.zones();
  const all = data.datasets ?? [];
  let picked = all.filter((d) => types.includes(d.volume ? 'volume' : 'filesystem'));
  if (targets.length) {
    for (const t of targets) if (!all.some((d) => d.name === t)) throw new SimExit('zfs', `cannot open '${t}': dataset does not exist`);
    picked = picked.filter((d) => targets.some((t) => d.name === t || (recursive && d.name.startsWith(`${t}/`))));
  }
  const value = (d: SimDataset, f: string): string => {
    const legacy = pools.get(d.pool ?? d.name.split('/')[0])?.legacy;
    const owner = zones.find((z) => d.name.split('/')[1]?.startsWith(z.name));
    const grown = d.growth && owner ? node.counter(d.growth, owner.bootTime) % 1073741824 : 0;
    const size = (n: number) => (exact ? String(n) : humanSize(n));
    switch (f) {
      case 'name': return d.name;
      case 'used': return size(d.used + grown);
      case 'available': case 'avail': return size(Math.max(0, d.available - grown));
      case 'referenced': case 'refer': return size(d.referenced + grown);
      case 'usedbysnapshots': case 'usedsnap': return size(d.usedbysnapshots ?? 0);
      case 'quota': {
        if (d.volume) return '-';
        const q = d.quota ?? '0';
        if (!exact) return q === '0' || q === UINT64_MAX ? 'none' : humanSize(Number(q));
        return q;
      }
      case 'compressratio': case 'ratio': {
        const r = (d.compressratio ?? 1).toFixed(2);
        return exact && !legacy ? r : `${r}x`;
      }
      case 'type': return d.volume ? 'volume' : 'filesystem';
      case 'mountpoint': return d.volume ? '-' : `/${d.name}`;
      default: throw new SimExit('zfs', `bad property list: invalid property '${f}'`, 2);
    }
  };
  const rows = picked.map((d) => fields.map((f) => value(d, f)));
  if (scripted) return { stdout: rows.map((r) => `${r.join('\t')}\n`).join(''), stderr: '', code: 0 };
  return { stdout: table(fields.map((f) => f.toUpperCase()), rows), stderr: '', code: 0 };
}
