// A simulated SmartOS compute node: what its illumos tools would print, derived from a
// description (smartos-node.json, or another file) and wall time. Counters grow from each
// zone's boot time, so rates are real and never 0. What changes at run time (zones started,
// stopped, rebooted by `vmadm`) lives in a ZoneStates store: a file for the stand-in
// executables (each a new process), memory for `zonescope simulate` (one process, N nodes).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const UINT64_MAX = '18446744073709551615';

export interface SimZone {
  name: string;
  zoneid: number | null;
  debugid?: number | string;
  uuid?: string;
  /** the tenant (SmartOS owner_uuid) */
  owner_uuid?: string;
  alias?: string;
  brand: string;
  type?: string;
  ram?: number;
  iptype?: string;
  zonepath?: string;
  state: string;
  cpu?: { user?: number; sys?: number; waitrq?: number };
  load1?: number;
  cpucap?: { value: number; baseline: number; burstLimit: number; usage: number };
  memory?: { rss?: number; rssGrowth?: number; physcap?: string; swap?: number; swapcap?: string; pgpgin?: number; anonpgin?: number; nover?: number; pagedout?: number; anonAllocFail?: number };
  vfs?: { reads?: number; writes?: number; readBytes?: number; writeBytes?: number; slow?: number };
  links?: { name: string; rxBytes?: number; txBytes?: number; rxPackets?: number; txPackets?: number }[];
  tcp?: { retrans: number; listenDrop?: number; attemptFails?: number; established: number };
}

export interface SimPool { name: string; size?: number; allocated?: number; fragmentation?: number; health: string; legacy?: boolean }
export interface SimDataset { name: string; pool?: string; volume?: boolean; used: number; available: number; referenced: number; quota?: string; compressratio?: number; usedbysnapshots?: number; growth?: number }

export interface NodeData {
  hostname: string;
  rebootEveryS?: number;
  bootOffsetS?: number;
  cpus?: number;
  cpuBrand?: string;
  zones: SimZone[];
  pools?: SimPool[];
  datasets?: SimDataset[];
  arcstats?: { gauges?: Record<string, number>; counters?: Record<string, number> };
}

/** A zone as it is now: the description overlaid with what vmadm changed. */
export interface LiveZone extends SimZone {
  bootTime: number;
}

export interface ZoneState {
  state: string;
  zoneid: number | null;
  bootTime: number;
}

export interface ZoneStates {
  load(): Record<string, ZoneState>;
  save(name: string, s: ZoneState): void;
}

export class MemoryStates implements ZoneStates {
  private readonly states: Record<string, ZoneState> = {};
  load() {
    return this.states;
  }
  save(name: string, s: ZoneState) {
    this.states[name] = s;
  }
}

/** One JSON file shared by the stand-in processes of one simulated node. */
export class FileStates implements ZoneStates {
  constructor(readonly path: string) {}
  load(): Record<string, ZoneState> {
    try {
      return JSON.parse(readFileSync(this.path, 'utf8'));
    } catch {
      return {}; // no change yet: the node is as described
    }
  }
  save(name: string, s: ZoneState) {
    const all = this.load();
    all[name] = s;
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(all, null, 1));
    renameSync(tmp, this.path);
  }
}

const here = dirname(fileURLToPath(import.meta.url));

/** smartos-node.json next to this file (sources) or in the sources above dist/. */
export function defaultNodeFile(): string {
  for (const p of [join(here, 'smartos-node.json'), join(here, '..', '..', '..', 'agent', 'simulated', 'smartos-node.json')]) if (existsSync(p)) return p;
  throw new Error(`the simulated node description (agent/simulated/smartos-node.json) was not found from ${here}`);
}

export function readNodeData(path = defaultNodeFile()): NodeData {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NodeData;
  } catch (e) {
    throw new Error(`cannot read simulated node ${path}: ${(e as Error).message}`);
  }
}

export class SimNode {
  readonly bootTime: number;
  /** seconds added to the clock: nodes of one simulated fleet are not in lockstep */
  constructor(readonly data: NodeData, readonly states: ZoneStates = new MemoryStates(), private readonly skewS = 0) {
    // The node "reboots" every rebootEveryS seconds of wall time (default 30 days), so uptime
    // stays plausible and nanosecond counters stay below 2^53 (exact in a double).
    const every = data.rebootEveryS ?? 30 * 86400;
    const now = this.now();
    let boot = Math.floor(now / every) * every - (data.bootOffsetS ?? 3 * 86400 + 1234.5);
    if (now - boot > every) boot += every;
    this.bootTime = boot;
  }

  now(): number {
    return Date.now() / 1000 + this.skewS;
  }

  zones(): LiveZone[] {
    const state = this.states.load();
    return this.data.zones.map((z) => {
      const s = state[z.name];
      return {
        ...z,
        state: s?.state ?? z.state,
        zoneid: s ? s.zoneid : z.zoneid,
        bootTime: s?.bootTime ?? this.bootTime + (z.zoneid ? 61.2637943 + z.zoneid * 37.0051 : 0),
      };
    });
  }

  saveZone(z: LiveZone): void {
    this.states.save(z.name, { state: z.state, zoneid: z.zoneid, bootTime: z.bootTime });
  }

  /** A counter that has grown at `rate` per second since `since` (epoch seconds). */
  counter(rate: number | undefined, since: number, scale = 1): number {
    return Math.floor((rate ?? 0) * scale * Math.max(0, this.now() - since));
  }

  /** A gauge that wanders ±pct around base, slowly, so charts move. */
  wander(base: number, pct = 0.03, periodS = 300): number {
    return Math.round(base * (1 + pct * Math.sin((2 * Math.PI * this.now()) / periodS)));
  }
}

/** What a simulated command did: its output and exit code, as a process would show them. */
export interface SimResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** A command that ends with a message on stderr (the tools' own `die`). */
export class SimExit extends Error {
  constructor(readonly cmd: string, message: string, readonly code = 1) {
    super(`${cmd}: ${message}`);
  }
}

/** zfs/zpool size columns without -p */
export function humanSize(n: number): string {
  const u = ['', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return i ? `${n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n)}${u[i]}` : String(n);
}

/** A table the way zfs/zpool/vmadm print one without -H: upper-case head, padded columns. */
export function table(head: string[], rows: string[][], lastUnpadded = false): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)) + 2);
  return [head, ...rows].map((r) => r.map((c, i) => (lastUnpadded && i === r.length - 1 ? c : c.padEnd(w[i]))).join('').trimEnd()).join('\n') + '\n';
}
