// Pure parser of `vmadm list -p -o uuid,owner_uuid`: which tenant owns each VM. Asked apart from
// the main listing because that one's alias is free text holding ':' (see vmadm.ts); here both
// fields are UUIDs, so a line is exactly two of them.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const VMADM_OWNER_FIELDS = ['uuid', 'owner_uuid'] as const;

/** VM uuid → owner_uuid (VMs without an owner are left out). Throws naming the line. */
export function parseVmadmOwners(text: string): Map<string, string> {
  const owners = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const where = `vmadm list -p -o uuid,owner_uuid line ${i + 1}`;
    const f = line.split(':');
    if (f.length !== 2) throw new Error(`${where}: expected 2 ':'-separated fields (uuid,owner_uuid), got ${f.length}: ${JSON.stringify(line.slice(0, 200))}`);
    const [uuid, owner] = f;
    if (!UUID.test(uuid)) throw new Error(`${where}: ${JSON.stringify(uuid)} is not a VM uuid`);
    if (owner === '' || owner === '-') return;
    if (!UUID.test(owner)) throw new Error(`${where}: owner ${JSON.stringify(owner.slice(0, 100))} is not a uuid`);
    owners.set(uuid, owner.toLowerCase());
  });
  return owners;
}
