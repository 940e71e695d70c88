// VM lifecycle on SmartOS: vmadm acts on zones and bhyve/KVM VMs alike, by UUID.
import type { Zone } from '../../protocol/messages.js';
import { run as runCommand } from '../exec.js';
import type { RunCommand, VmActionName } from '../platform/types.js';

export async function vmadmAction(zone: Zone, action: VmActionName, run: RunCommand = runCommand): Promise<string> {
  if (zone.name === 'global') throw new Error('the global zone cannot be started, stopped or rebooted from here');
  const uuid = zone.uuid || zone.name;
  // vmadm stop waits for the zone to halt; a VM that ignores ACPI can take a while
  const out = await run('vmadm', [action, uuid], 120_000);
  return out.trim() || `vmadm ${action} ${uuid}: done`;
}
