// The folded-stack format (`root;...;leaf count`): the input of flamegraph.pl, of the UI's
// flame graph and of every folded export. Frame clean-up follows FlameGraph's
// stackcollapse.pl: leading whitespace dropped, the offset removed from the last `+` on
// (unless offsets are kept), C++ argument lists cut after the first `::`, an empty frame
// shown as `-`, identical stacks merged, lines sorted bytewise.
import type { StackRecord, TraceRecord } from './records.js';

export interface FoldOptions {
  /** keep `+0x1a` / `+26` offsets (stackcollapse.pl strips them) */
  keepOffsets?: boolean;
  /** suffix kernel frames with `_[k]`, FlameGraph's convention for coloring them */
  annotateKernel?: boolean;
  /**
   * root each stack at its process's program name when the record says which process it is
   * (default true), as FlameGraph's perf and bpftrace collapsers do
   */
  processRoot?: boolean;
}

/**
 * The process a stack record belongs to: stack maps keyed `[..stacks, pid, comm]` (the
 * curated bpftrace scripts) leave `keys` = [pid, comm].
 */
export function processOf(r: TraceRecord): { pid: number; comm: string } | undefined {
  if (r.kind !== 'stack' || r.keys.length !== 2) return undefined;
  const [pid, comm] = r.keys;
  return typeof pid === 'number' && typeof comm === 'string' ? { pid, comm } : undefined;
}

/** One frame as stackcollapse.pl cleans it; `;` would split the frame, so it becomes `:`. */
export function normalizeFrame(raw: string, keepOffsets = false): string {
  let f = raw.trim();
  if (!keepOffsets) {
    const plus = f.lastIndexOf('+');
    if (plus >= 0) f = f.slice(0, plus);
  }
  const colons = f.indexOf('::');
  if (colons >= 0) {
    const cut = Math.max(f.lastIndexOf('('), f.lastIndexOf('<'));
    if (cut >= colons + 2) f = f.slice(0, cut);
  }
  if (f === '') return '-';
  return f.includes(';') ? f.replaceAll(';', ':') : f;
}

/**
 * A cleaned frame as the folded frames it stands for, root first: a JVM frame naming the
 * methods inlined into it (`caller->callee`, perf-map-agent's unfolded form) is the caller
 * then each callee marked `_[i]`, as stackcollapse.pl splits it. A JVM type descriptor's
 * leading `L` (`Ljava/lang/Thread;`) is dropped; stackcollapse.pl drops a leading `L` from
 * every frame, which would turn `LLVM` into `LVM`.
 */
export function inlined(frame: string): string[] {
  if (!frame.includes('->')) return [/^L[A-Za-z_$][\w$]*\//.test(frame) ? frame.slice(1) : frame];
  return frame.split('->').map((f, i) => {
    const g = /^L[A-Za-z_$][\w$]*\//.test(f) ? f.slice(1) : f;
    return i > 0 && !g.endsWith('_[i]') ? `${g}_[i]` : g;
  });
}

function foldOne(stack: readonly string[], kernel: number, opts: FoldOptions, root?: string): string {
  const parts: string[] = [];
  const keep = opts.keepOffsets ?? false;
  // leaf first in the record, root first in the folded line
  for (let i = stack.length - 1; i >= 0; i--) {
    for (const f of inlined(normalizeFrame(stack[i], keep))) parts.push(opts.annotateKernel && i < kernel ? `${f}_[k]` : f);
  }
  // the program name is not a frame: no offset to strip, only `;` to keep out
  if (root !== undefined) parts.unshift(root.trim().replaceAll(';', ':') || '-');
  return parts.join(';');
}

/** One stack record's folded stack (`root;...;leaf`, no count), as foldStacks folds it. */
export function foldedStack(r: StackRecord, opts: FoldOptions = {}): string {
  return foldOne(r.stack, r.kernel, opts, opts.processRoot === false ? undefined : processOf(r)?.comm);
}

/** Sums stack records into folded stacks; other record kinds are ignored. */
export function foldStacks(records: Iterable<TraceRecord>, opts: FoldOptions = {}): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    if (r.kind !== 'stack') continue;
    const k = foldedStack(r, opts);
    m.set(k, (m.get(k) ?? 0) + r.value);
  }
  return m;
}

export const bytewise = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The folded text, sorted like stackcollapse.pl's output. */
export function formatFolded(m: Map<string, number>): string {
  let out = '';
  // a flame graph has no room for nothing or less: a stack whose allocations were all freed
  // (a sum of + and -) would otherwise print as a zero- or negative-width frame
  for (const k of [...m.keys()].sort(bytewise)) if (m.get(k)! > 0) out += `${k} ${m.get(k)}\n`;
  return out;
}
