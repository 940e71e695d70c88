// What a platform answers for the agent: which zones, which samplers, which tracer.
import type { Platform as PlatformName, Point, Proc, Zone } from '../../protocol/messages.js';

/** One collector: reads one source and turns it into points. Shaped alike, one per file. */
export interface Sampler {
  /** short, stable name: the `sampler` label of zonescope_agent_sampler_errors_total */
  readonly name: string;
  /**
   * Read the source once. Throw (with a message naming the command or file) when the whole
   * source failed; values that do not parse are skipped and reported via `unparsed`.
   */
  sample(zones: readonly Zone[], ctx: SampleContext): Promise<Point[]>;
}

/** Runs a node command: stdout, or a CommandError naming the command (agent/exec.ts's run,
 * or a simulated node answering in-process). */
export type RunCommand = (cmd: string, args: string[], timeoutMs: number) => Promise<string>;

export interface SampleContext {
  /** count one value that could not be parsed (never exported as 0) */
  unparsed(what: string): void;
  /** per-command timeout for anything the sampler runs */
  timeoutMs: number;
  /** how the sampler runs a command (the platform's runner) */
  run: RunCommand;
}

export interface Platform {
  readonly name: PlatformName;
  /** true when illumos commands are stand-ins (test/fakes), so the UI can say so */
  readonly simulated: boolean;
  readonly tracer: 'dtrace' | 'bpftrace';
  zones(): Promise<Zone[]>;
  readonly samplers: readonly Sampler[];
  /** how its samplers run commands */
  readonly run: RunCommand;
  /** start, stop or reboot a zone; resolves to the command's message, throws naming what failed */
  vmAction(zone: Zone, action: VmActionName): Promise<string>;
  /** the zone's processes, largest resident memory first */
  processes(zone: Zone, limit: number): Promise<Proc[]>;
}

export type VmActionName = 'start' | 'stop' | 'reboot';
