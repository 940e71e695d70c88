// The Linux platform: the host is zone `global`, each container cgroup another zone; host
// samplers read /proc, zone samplers the cgroup controllers (v1, v2 or both).
import { linuxProcesses } from '../procs/linux.js';
import { lxcAction } from '../vms/lxc.js';
import { definedLxcContainers } from '../vms/lxc-list.js';
import type { Zone } from '../../protocol/messages.js';
import { CgroupTree, DEFAULT_ZONE_ROOTS, populated } from './cgroup.js';
import type { Platform } from './types.js';
import { OwnerRules, ownerOf, type OwnerRule } from './zone-owners.js';
import { procStatSampler } from '../samplers/proc-stat.js';
import { procMeminfoSampler } from '../samplers/proc-meminfo.js';
import { procLoadavgSampler } from '../samplers/proc-loadavg.js';
import { procNetDevSampler } from '../samplers/proc-net-dev.js';
import { procDiskstatsSampler } from '../samplers/proc-diskstats.js';
import { linuxArcstatsSampler } from '../samplers/linux-arcstats.js';
import { cgroupCpuSampler } from '../samplers/cgroup-cpu.js';
import { cgroupMemorySampler } from '../samplers/cgroup-memory.js';
import { cgroupIoSampler } from '../samplers/cgroup-io.js';
import { cgroupPidsSampler } from '../samplers/cgroup-pids.js';
import { run as runCommand } from '../exec.js';

export interface LinuxOptions {
  /** where the cgroup hierarchies are mounted (default /sys/fs/cgroup) */
  cgroupRoot?: string;
  /** default /proc */
  procRoot?: string;
  /** where LXC keeps its containers, to list the stopped ones (default $ZONESCOPE_LXC_PATH or /var/lib/lxc) */
  lxcPath?: string;
  /**
   * where containers live, `[brand=]path/{name}` (see DEFAULT_ZONE_ROOTS); replaces the
   * defaults. Without it: the defaults plus those in $ZONESCOPE_ZONE_ROOTS (comma-separated).
   */
  zoneRoots?: string[];
  /** which tenant owns which zones (default: $ZONESCOPE_ZONE_OWNERS_FILE and $ZONESCOPE_ZONE_OWNERS) */
  owners?: OwnerRule[];
}

function rootsFromEnv(): string[] {
  const extra = (process.env.ZONESCOPE_ZONE_ROOTS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return [...DEFAULT_ZONE_ROOTS, ...extra];
}

/** The owner rules zone discovery applies: a given list as it is, else the environment's (re-read as their file changes). */
function ownerRules(given: OwnerRule[] | undefined): () => readonly OwnerRule[] {
  if (given) return () => given;
  const env = new OwnerRules();
  return () => env.current();
}

export const GLOBAL_ZONE: Zone = { name: 'global', brand: 'linux-host', state: 'running' };

export function linuxPlatform(opts: LinuxOptions = {}): Platform & { readonly cgroups: CgroupTree } {
  const procRoot = opts.procRoot ?? '/proc';
  const lxcPath = opts.lxcPath ?? process.env.ZONESCOPE_LXC_PATH ?? '/var/lib/lxc';
  // a malformed zone root throws here, at startup, naming the root
  const cgroups = new CgroupTree(opts.cgroupRoot ?? process.env.ZONESCOPE_CGROUP_ROOT ?? '/sys/fs/cgroup', opts.zoneRoots ?? rootsFromEnv());
  // a malformed owner mapping throws here too, naming the entry or line
  const rules = ownerRules(opts.owners);
  return {
    name: 'linux',
    simulated: false,
    tracer: 'bpftrace',
    run: runCommand,
    vmAction: lxcAction,
    processes: (zone, limit) => linuxProcesses(zone, limit, procRoot),
    cgroups,
    async zones() {
      // first: a broken owners file fails the listing before the cgroup walk
      const owners = rules();
      const found = await cgroups.discover();
      const layout = await cgroups.layout();
      const zones: Zone[] = [{ ...GLOBAL_ZONE }];
      for (const f of found) {
        zones.push({
          name: f.name,
          brand: f.brand,
          state: (await populated(layout, f)) ? 'running' : 'empty',
          cgroup: CgroupTree.primaryPath(layout, f),
        });
      }
      for (const name of await definedLxcContainers(lxcPath)) {
        if (!zones.some((z) => z.name === name)) zones.push({ name, brand: 'lxc', state: 'stopped' });
      }
      return zones.map((z) => {
        const owner = ownerOf(owners, z.name);
        return owner === undefined ? z : { ...z, owner };
      });
    },
    samplers: [
      procStatSampler({ procRoot }),
      procMeminfoSampler({ procRoot }),
      procLoadavgSampler({ procRoot }),
      procNetDevSampler({ procRoot }),
      procDiskstatsSampler({ procRoot }),
      linuxArcstatsSampler({ procRoot }),
      cgroupCpuSampler(cgroups),
      cgroupMemorySampler(cgroups),
      cgroupIoSampler(cgroups),
      cgroupPidsSampler(cgroups),
    ],
  };
}
