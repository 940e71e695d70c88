// Watches what a running trace depends on: the target process of a per-process script and the
// zone itself. When either goes, nothing more can arrive, so the trace is ended early and says
// why ("process 123 exited after 4 s", "zone web went away after 3 s") instead of "done".
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { detectLayout } from '../platform/cgroup.js';

export interface WatchOptions {
  /** the target process (its start time tells a reused pid from the same process) */
  pid?: number;
  zone: Zone;
  /** the zones the agent knows now (refreshed by its sampling loop): for zones without a cgroup */
  knownZones?: () => readonly Zone[];
  cgroupRoot?: string;
  /** when the trace began (ms), the base of "after N s" */
  since: () => number;
  onGone(reason: string): void;
  everyMs?: number;
}

/** The start time field of /proc/PID/stat, or undefined once the process is gone. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined; // exited, not yet reaped
    return rest[19];
  } catch {
    return undefined;
  }
}

export class TraceWatch {
  private timer?: NodeJS.Timeout;
  private readonly reported = new Set<string>();
  private readonly start?: string;
  private cgroupDir?: string;

  constructor(private readonly o: WatchOptions) {
    if (o.pid !== undefined) this.start = startTime(o.pid);
  }

  async begin(): Promise<void> {
    const z = this.o.zone;
    if (z.name !== 'global' && z.cgroup) {
      const layout = await detectLayout(this.o.cgroupRoot ?? process.env.ZONESCOPE_CGROUP_ROOT ?? '/sys/fs/cgroup').catch(() => undefined);
      const h = layout?.unified ?? layout?.hierarchies[0];
      if (h) this.cgroupDir = join(h.dir, z.cgroup);
    }
    this.timer = setInterval(() => this.check(), this.o.everyMs ?? 250);
  }

  /** Looks once (also called when the tracer exits, which may beat the next tick). */
  check(): void {
    const after = `${Math.max(0, Math.round((Date.now() - this.o.since()) / 1000))} s`;
    const { pid, zone } = this.o;
    if (pid !== undefined && this.start !== undefined && startTime(pid) !== this.start) this.gone('pid', `process ${pid} exited after ${after}`);
    if (zone.name === 'global') return;
    let present = true;
    if (this.cgroupDir) present = existsSync(this.cgroupDir);
    else if (this.o.knownZones) {
      const z = this.o.knownZones().find((k) => k.name === zone.name);
      present = !!z && z.state === 'running';
    }
    if (!present) this.gone('zone', `zone ${zone.name} went away after ${after}`);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private gone(what: string, reason: string): void {
    if (this.reported.has(what)) return;
    this.reported.add(what);
    this.o.onGone(reason);
  }
}
