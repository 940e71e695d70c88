// SmartOS vmadm(1M) of the simulated node:
//   vmadm list [-p] [-H] [-o field,...]     (fields: uuid alias state type ram brand zonename zoneid owner_uuid)
//   vmadm start|stop|reboot UUID            (changes the simulated node)
import { SimExit, type LiveZone, type SimNode, type SimResult } from './node.js';

const vmState = (z: LiveZone) => (z.state === 'running' ? 'running' : z.state === 'installed' ? 'stopped' : z.state);

function value(z: LiveZone, f: string): string | number | null | undefined {
  switch (f) {
    case 'uuid': return z.uuid;
    case 'alias': return z.alias;
    case 'state': return vmState(z);
    case 'type': return z.type;
    case 'ram': return z.ram;
    case 'brand': return z.brand;
    case 'zonename': return z.name;
    case 'zoneid': return z.state === 'running' ? z.zoneid : undefined;
    case 'owner_uuid': return z.owner_uuid;
    default: throw new SimExit('vmadm', `invalid field: ${f}`);
  }
}

export function vmadm(node: SimNode, args: string[]): SimResult {
  const sub = args[0];
  // vmadm knows only the zones it made: those with a UUID
  const vms = node.zones().filter((z) => z.name !== 'global' && z.uuid);
  if (sub === 'list') {
    let parsable = false;
    let header = true;
    let fields = ['uuid', 'type', 'ram', 'state', 'alias'];
    for (let i = 1; i < args.length; i++) {
      if (args[i] === '-p') (parsable = true), (header = false);
      else if (args[i] === '-H') header = false;
      else if (args[i] === '-o') fields = (args[++i] ?? '').split(',');
      else throw new SimExit('vmadm', `unsupported list option: ${args[i]}`);
    }
    const rows = vms.map((z) => fields.map((f) => value(z, f)));
    if (parsable) return { stdout: rows.map((r) => r.map((v) => (v === undefined || v === null ? '' : String(v))).join(':') + '\n').join(''), stderr: '', code: 0 };
    const cells = rows.map((r) => r.map((v) => (v === undefined || v === null ? '-' : String(v))));
    const head = fields.map((f) => f.toUpperCase());
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)) + 2);
    const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]))).join('');
    return { stdout: [...(header ? [fmt(head)] : []), ...cells.map(fmt)].join('\n') + '\n', stderr: '', code: 0 };
  }
  if (sub === 'start' || sub === 'stop' || sub === 'reboot') {
    const uuid = args[1];
    if (!uuid) throw new SimExit('vmadm', `Usage: vmadm ${sub} <uuid>`, 2);
    const z = vms.find((v) => v.uuid === uuid);
    if (!z) throw new SimExit('vmadm', `Unable to ${sub} VM ${uuid}: No such zone configured`);
    const next = () => Math.max(0, ...node.zones().map((x) => x.zoneid ?? 0), ...node.data.zones.map((x) => Number(x.debugid) || 0)) + 1;
    const done = (msg: string) => ({ stdout: '', stderr: `${msg}\n`, code: 0 });
    if (sub === 'start') {
      if (z.state === 'running') throw new SimExit('vmadm', `Unable to start VM ${uuid}: VM is already running`);
      node.saveZone({ ...z, state: 'running', zoneid: next(), bootTime: node.now() });
      return done(`Successfully started VM ${uuid}`);
    }
    if (sub === 'stop') {
      if (z.state !== 'running') throw new SimExit('vmadm', `Unable to stop VM ${uuid}: VM is not running`);
      node.saveZone({ ...z, state: 'installed', zoneid: null });
      return done(`Successfully completed stop for VM ${uuid}`);
    }
    if (z.state !== 'running') throw new SimExit('vmadm', `Unable to reboot VM ${uuid}: VM is not running`);
    // a reboot gives the zone a new zone id and resets its counters, as on the real thing
    node.saveZone({ ...z, state: 'running', zoneid: next(), bootTime: node.now() });
    return done(`Successfully completed reboot for VM ${uuid}`);
  }
  throw new SimExit('vmadm', `subcommand '${sub ?? ''}' is not simulated (list, start, stop, reboot)`, 2);
}
