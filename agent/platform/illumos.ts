// illumos (SmartOS): zones from `zoneadm list -cp`, joined with `vmadm list` where vmadm
// exists (SmartOS: aliases, VM type, RAM); kstat and ZFS samplers; DTrace. On Linux the same
// code runs against the stand-ins in test/fakes/illumos/bin (simulated: true).
import { illumosProcesses } from '../procs/illumos.js';
import { vmadmAction } from '../vms/vmadm.js';
import type { Zone } from '../../protocol/messages.js';
import { run as runCommand, which } from '../exec.js';
import { parseVmadmList, VMADM_LIST_FIELDS } from '../parse/vmadm.js';
import { parseVmadmOwners, VMADM_OWNER_FIELDS } from '../parse/vmadm-owners.js';
import { parseZoneadmList } from '../parse/zoneadm.js';
import { illumosArcstatsSampler } from '../samplers/arcstats-illumos.js';
import { kstatCapsSampler } from '../samplers/kstat-caps.js';
import { kstatCpuSampler } from '../samplers/kstat-cpu.js';
import { kstatLinkSampler } from '../samplers/kstat-link.js';
import { kstatMemoryCapSampler } from '../samplers/kstat-memory-cap.js';
import { kstatTcpSampler } from '../samplers/kstat-tcp.js';
import { kstatZoneVfsSampler } from '../samplers/kstat-zone-vfs.js';
import { kstatZoneZfsSampler } from '../samplers/kstat-zone-zfs.js';
import { kstatZonesSampler } from '../samplers/kstat-zones.js';
import { zfsDatasetsSampler } from '../samplers/zfs-datasets.js';
import { zpoolSampler } from '../samplers/zpool.js';
import type { Platform, RunCommand } from './types.js';

const DISCOVERY_TIMEOUT_MS = 10_000;

/** Whether `cmd` is an executable on PATH (vmadm exists on SmartOS only, not on OmniOS & co). */
export function onPath(cmd: string, path = process.env.PATH ?? ''): boolean {
  return which(cmd, path) !== undefined;
}

async function parsed<T>(run: RunCommand, cmd: string, args: string[], parse: (text: string) => T): Promise<T> {
  const text = await run(cmd, args, DISCOVERY_TIMEOUT_MS);
  try {
    return parse(text);
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')}: ${(e as Error).message}`);
  }
}

/** The node's zones, keyed by name (UUID on SmartOS), never by zone id. */
export async function illumosZones(run: RunCommand = runCommand, hasVmadm = onPath('vmadm')): Promise<Zone[]> {
  const listed = await parsed(run, 'zoneadm', ['list', '-cp'], parseZoneadmList);
  const vms = hasVmadm
    ? await parsed(run, 'vmadm', ['list', '-p', '-o', VMADM_LIST_FIELDS.join(',')], parseVmadmList)
    : [];
  // who owns each VM (the tenant): scoped tokens see only their owner's zones
  const owners = hasVmadm ? await parsed(run, 'vmadm', ['list', '-p', '-o', VMADM_OWNER_FIELDS.join(',')], parseVmadmOwners) : new Map<string, string>();
  const byUuid = new Map(vms.map((v) => [v.uuid, v]));
  return listed.map(({ zonepath: _p, ipType: _i, ...z }) => {
    const vm = byUuid.get(z.uuid ?? z.name);
    if (!vm) return z;
    const zone: Zone = { ...z, type: vm.type };
    if (vm.alias !== undefined) zone.alias = vm.alias;
    if (vm.ram !== undefined) zone.ramBytes = vm.ram * 1024 * 1024;
    const owner = owners.get(vm.uuid);
    if (owner !== undefined) zone.owner = owner;
    // vmadm's state is what operators act on (stopped, provisioning, failed), zoneadm's
    // (installed, ready) only says where the zone machinery is
    zone.state = vm.state;
    return zone;
  });
}

/** `run` answers the node's commands: spawned for real by default, or a simulated node's
 * in-process runner (agent/simulated/), which has vmadm. */
export function illumosPlatform(opts: { simulated: boolean; run?: RunCommand }): Platform {
  const run = opts.run ?? runCommand;
  return {
    name: 'illumos',
    simulated: opts.simulated,
    tracer: 'dtrace',
    run,
    zones: () => illumosZones(run, opts.run ? true : onPath('vmadm')),
    vmAction: (zone, action) => vmadmAction(zone, action, run),
    processes: (zone, limit) => illumosProcesses(zone, limit, run),
    samplers: [
      kstatZonesSampler(),
      kstatMemoryCapSampler(),
      kstatCapsSampler(),
      kstatZoneVfsSampler(),
      kstatZoneZfsSampler(),
      kstatLinkSampler(),
      kstatTcpSampler(),
      kstatCpuSampler(),
      illumosArcstatsSampler(),
      zfsDatasetsSampler(),
      zpoolSampler(),
    ],
  };
}
