// What a curated script needs from the host before its tracer can run: the tracer binary,
// the privileges to load probes, tracefs (bpftrace reads tracepoint formats from it) and
// kernel uprobes. Checked when the agent starts (reported in its hello, so the server refuses
// a script that cannot run, with the reason) and again before each trace, because a host
// changes (tracefs unmounted, bpftrace removed). A missing tracefs is mounted when the agent
// is allowed to; otherwise the reason says what to do.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { execa } from 'execa';
import type { ScriptAvailability } from '../../protocol/messages.js';
import type { Need, ScriptMeta } from '../../scripts/catalog.js';
import type { Log } from '../log.js';
import { which } from '../exec.js';

/** Where bpftrace looks for tracefs, in its own order. */
export const TRACEFS_PATHS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

// capability numbers from linux/capability.h
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/** The effective capability set from /proc/PID/status text ("CapEff:\t000001ffffffffff"). */
export function effectiveCaps(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

const has = (caps: bigint, n: number) => (caps & (1n << BigInt(n))) !== 0n;

/** Why this process may not load BPF programs and attach probes, or undefined if it may. */
export function bpfPrivilegeProblem(uid: number, caps: bigint): string | undefined {
  if (uid === 0 || has(caps, CAP_SYS_ADMIN) || (has(caps, CAP_BPF) && has(caps, CAP_PERFMON))) return undefined;
  return `bpftrace needs root or CAP_BPF and CAP_PERFMON; the agent runs as uid ${uid} without them`;
}

/** Whether a tracefs is mounted at `path`, from /proc/self/mounts text. */
export function tracefsMounted(mounts: string, path: string): boolean {
  return mounts.split('\n').some((l) => {
    const [, dir, type] = l.split(' ');
    return type === 'tracefs' && dir?.replace(/\\040/g, ' ') === path;
  });
}

/** What the host offers, each undefined when present or the reason it is not. */
export interface HostFacts {
  tracer?: string;
  privileges?: string;
  tracefs?: string;
  uprobes?: string;
}

/** One script's availability from the host's facts: the first missing prerequisite wins. */
export function availability(meta: ScriptMeta, tracer: 'dtrace' | 'bpftrace', facts: HostFacts): ScriptAvailability {
  const needs: Need[] = meta.needs?.[tracer] ?? [];
  const reason = facts.tracer ?? facts.privileges ?? needs.map((n) => facts[n]).find((r) => r !== undefined);
  return reason ? { id: meta.id, available: false, reason: reason.slice(0, 1024) } : { id: meta.id, available: true };
}

export interface PrerequisiteOptions {
  tracer: 'dtrace' | 'bpftrace';
  log: Log;
  /** where to look for (and mount) tracefs; env ZONESCOPE_TRACEFS, else bpftrace's own paths */
  tracefs?: string;
  /** how long the tracer may take to print its version (default 5 s) */
  versionTimeoutMs?: number;
}

/** `path:inode:mtime` of the command found on PATH, or undefined when there is none. */
function binaryIdentity(cmd: string): string | undefined {
  const path = which(cmd);
  if (!path) return undefined;
  try {
    const st = statSync(path);
    return `${path}:${st.ino}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
}

export class Prerequisites {
  /** the tracer's version line once it answered */
  version?: string;
  /** the tracer binary (path, inode, mtime) whose answer `version` is: asked again only when
   * that changes, so a trace does not wait for `bpftrace --version` (loading LLVM) every time */
  private versionOf?: string;
  private readonly tracefsPaths: string[];

  constructor(private readonly o: PrerequisiteOptions) {
    const env = o.tracefs ?? process.env.ZONESCOPE_TRACEFS;
    this.tracefsPaths = env ? [env] : TRACEFS_PATHS;
  }

  /** Every script's availability now (mounting tracefs if it is missing and that is allowed). */
  async check(catalog: ScriptMeta[]): Promise<ScriptAvailability[]> {
    const facts = await this.facts(catalog.some((m) => m.needs?.[this.o.tracer]?.includes('tracefs')));
    return catalog.map((m) => availability(m, this.o.tracer, facts));
  }

  private async facts(wantTracefs: boolean): Promise<HostFacts> {
    const f: HostFacts = {};
    const cmd = this.o.tracer;
    const binary = binaryIdentity(cmd);
    if (!binary || binary !== this.versionOf || !this.version) {
      const flag = cmd === 'dtrace' ? '-V' : '--version';
      const timeoutMs = this.o.versionTimeoutMs ?? 5000;
      const r = await execa(cmd, [flag], { reject: false, timeout: timeoutMs });
      if (r.exitCode === 0) {
        this.version = String(r.stdout || r.stderr).trim().split('\n')[0].slice(0, 128);
        this.versionOf = binary;
      } else if (r.timedOut) {
        // a starved host, not a broken tracer: the scripts stay offered (a trace then meets
        // the tracer's own error if there is one); no version is noted, so the next check asks again
        this.o.log.warn(`${cmd} did not answer ${flag} within ${timeoutMs / 1000} s (is the host overloaded?); asking again at the next check`);
      } else {
        this.version = this.versionOf = undefined;
        f.tracer = r.failed && r.code === 'ENOENT' ? `${cmd} is not installed (not found on PATH)` : `${cmd} does not run: ${String(r.stderr || r.shortMessage).trim().split('\n')[0]}`;
      }
    }
    // DTrace's privileges and providers are illumos's business; the rest is Linux
    if (cmd === 'dtrace') return f;
    f.privileges = bpfPrivilegeProblem(process.geteuid?.() ?? -1, effectiveCaps(readFileSync('/proc/self/status', 'utf8')));
    if (wantTracefs) f.tracefs = await this.tracefs(!f.privileges);
    f.uprobes = this.uprobes();
    return f;
  }

  private async tracefs(mayMount: boolean): Promise<string | undefined> {
    const mounts = () => readFileSync('/proc/self/mounts', 'utf8');
    if (this.tracefsPaths.some((p) => tracefsMounted(mounts(), p))) return undefined;
    const at = this.tracefsPaths[0];
    if (!mayMount || process.geteuid?.() !== 0) return `tracefs is not mounted at ${at} (tracepoints need it): mount it with 'mount -t tracefs nodev ${at}' or run the agent as root`;
    const m = await execa('mount', ['-t', 'tracefs', 'nodev', at], { reject: false, timeout: 5000 });
    if (m.exitCode === 0 && tracefsMounted(mounts(), at)) {
      this.o.log.info(`mounted tracefs at ${at} (tracepoints need it)`);
      return undefined;
    }
    const why = String(m.stderr || m.shortMessage).trim().split('\n')[0];
    this.o.log.warn(`tracefs is not mounted at ${at} and mounting it failed: ${why}`);
    return `tracefs is not mounted at ${at} (tracepoints need it) and mounting it failed: ${why}`;
  }

  private uprobes(): string | undefined {
    // the perf uprobe PMU (Linux 4.17+) or the older tracefs interface
    if (existsSync('/sys/bus/event_source/devices/uprobe/type')) return undefined;
    if (this.tracefsPaths.some((p) => existsSync(`${p}/uprobe_events`))) return undefined;
    return 'this kernel offers no uprobes (CONFIG_UPROBE_EVENTS): user-level probes cannot attach';
  }
}
