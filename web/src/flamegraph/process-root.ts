// Stacks rooted at their process (`node;main;...`, as the server's folded stacks are when the
// trace says which process each stack belongs to) with that root level taken off, for the
// flame graph's "By process" box when it is unticked. Pure.
import type { FoldedInput } from './tree.js';

/** The same stacks without their first frame; stacks that then coincide are merged. */
export function withoutRoot(input: FoldedInput): Map<string, number> {
  const out = new Map<string, number>();
  const add = (stack: string, v: number) => {
    const semi = stack.indexOf(';');
    // a stack that is only its process (no frame at all) stays as it is
    const rest = semi < 0 ? stack : stack.slice(semi + 1);
    out.set(rest, (out.get(rest) ?? 0) + v);
  };
  if (typeof input === 'string') {
    for (const line of input.split('\n')) {
      const t = line.trimEnd();
      const sp = t.lastIndexOf(' ');
      if (sp <= 0) continue;
      const v = Number(t.slice(sp + 1));
      if (Number.isFinite(v)) add(t.slice(0, sp), v);
    }
  } else {
    for (const [k, v] of input instanceof Map ? input : Object.entries(input)) add(k, v);
  }
  return out;
}
