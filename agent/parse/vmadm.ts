// Pure parser of `vmadm list -p -o uuid,alias,state,type,ram`: colon-separated, no header,
// unset values empty (or '-' in the human format). vmadm does not escape ':' in values, so an
// alias holding ':' spills into extra fields; the alias is the one free-text field, so it
// takes whatever lies between the fields around it.

export interface VmadmVm {
  uuid: string;
  alias?: string;
  state: string;
  type: string;
  /** MiB, as vmadm reports it */
  ram?: number;
}

export const VMADM_LIST_FIELDS = ['uuid', 'alias', 'state', 'type', 'ram'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Throws, naming the line, on anything that is not a `vmadm list -p` line of these fields. */
export function parseVmadmList(text: string): VmadmVm[] {
  const vms: VmadmVm[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '') return;
    const where = `vmadm list -p line ${i + 1}`;
    const f = line.split(':');
    if (f.length < 5) throw new Error(`${where}: expected 5 ':'-separated fields (uuid,alias,state,type,ram), got ${f.length}: ${JSON.stringify(line.slice(0, 200))}`);
    const uuid = f[0];
    const [state, type, ram] = f.slice(-3);
    const alias = f.slice(1, -3).join(':');
    if (!UUID.test(uuid)) throw new Error(`${where}: ${JSON.stringify(uuid)} is not a VM uuid`);
    if (!/^[a-z_]+$/.test(state)) throw new Error(`${where}: state ${JSON.stringify(state)} is not a VM state`);
    if (ram !== '' && ram !== '-' && !/^\d+$/.test(ram)) throw new Error(`${where}: ram ${JSON.stringify(ram)} is not a number of MiB`);
    const vm: VmadmVm = { uuid, state, type };
    if (alias !== '' && alias !== '-') vm.alias = alias;
    if (/^\d+$/.test(ram)) vm.ram = Number(ram);
    vms.push(vm);
  });
  return vms;
}
