// zpool(1M) of the simulated node: `zpool list [-H] [-p] [-o props] [POOL...]`. Quirks kept:
// pools marked legacy print fragmentation as `8%` even with -p; a FAULTED pool prints '-' in
// every numeric field.
import { humanSize, SimExit, table, type SimNode, type SimPool, type SimResult } from './node.js';

export function zpool(node: SimNode, args: string[]): SimResult {
  if (args[0] !== 'list') throw new SimExit('zpool', `subcommand '${args[0] ?? ''}' is not simulated (only list)`, 2);
  let scripted = false;
  let exact = false;
  let fields = ['name', 'size', 'allocated', 'free', 'expandsize', 'fragmentation', 'capacity', 'dedupratio', 'health', 'altroot'];
  const targets: string[] = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '-o') fields = (args[++i] ?? '').split(',');
    else if (/^-[Hp]+$/.test(a)) {
      if (a.includes('H')) scripted = true;
      if (a.includes('p')) exact = true;
    } else if (a.startsWith('-')) throw new SimExit('zpool', `invalid option '${a.slice(1)}'`, 2);
    else targets.push(a);
  }
  const pools = node.data.pools ?? [];
  for (const t of targets) if (!pools.some((p) => p.name === t)) throw new SimExit('zpool', `cannot open '${t}': no such pool`);
  const value = (p: SimPool, f: string): string => {
    const ok = p.size !== undefined;
    const size = (n: number) => (!ok ? '-' : exact ? String(n) : humanSize(n));
    const sz = p.size ?? 0;
    const alloc = p.allocated ?? 0;
    switch (f) {
      case 'name': return p.name;
      case 'size': return size(sz);
      case 'allocated': case 'alloc': return size(alloc);
      case 'free': return size(sz - alloc);
      case 'expandsize': return '-';
      case 'fragmentation': case 'frag': return ok ? (exact && !p.legacy ? String(p.fragmentation) : `${p.fragmentation}%`) : '-';
      case 'capacity': case 'cap': return ok ? `${Math.round((100 * alloc) / sz)}${exact && !p.legacy ? '' : '%'}` : '-';
      case 'dedupratio': case 'dedup': return ok ? (exact && !p.legacy ? '1.00' : '1.00x') : '-';
      case 'health': return p.health;
      case 'altroot': return '-';
      default: throw new SimExit('zpool', `bad property list: invalid property '${f}'`, 2);
    }
  };
  const rows = pools.filter((p) => !targets.length || targets.includes(p.name)).map((p) => fields.map((f) => value(p, f)));
  if (scripted) return { stdout: rows.map((r) => `${r.join('\t')}\n`).join(''), stderr: '', code: 0 };
  return { stdout: table(fields.map((f) => f.toUpperCase()), rows), stderr: '', code: 0 };
}
