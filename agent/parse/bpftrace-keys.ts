// What each key field of a .bt script's maps is, read from the script: bpftrace's JSON does
// not say, and a sample with empty kernel and user stacks (",,83,kdamond.0") cannot be told
// from plain keys by its text. A key expression `kstack`/`ustack` (with or without arguments),
// or a lookup in a map named zs_kstack/zs_ustack (where a script parks a stack), is a stack.
import type { FieldKind } from './bpftrace.js';

function kindOf(expr: string): FieldKind {
  const e = expr.trim();
  if (/^kstack\b/.test(e) || /^@zs_kstack\[/.test(e)) return 'kstack';
  if (/^ustack\b/.test(e) || /^@zs_ustack\[/.test(e)) return 'ustack';
  return 'key';
}

/** Splits `a, f(b, c), @m[d, e]` on its top-level commas. */
function topLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** `{ '@name': kinds }` for every map assigned with a key holding a stack. */
export function stackFieldHints(source: string): Record<string, FieldKind[]> {
  const hints: Record<string, FieldKind[]> = {};
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  for (const m of text.matchAll(/@([A-Za-z_][A-Za-z0-9_]*)\[/g)) {
    let depth = 1;
    let i = m.index! + m[0].length;
    const from = i;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === '[') depth++;
      else if (text[i] === ']') depth--;
    }
    const kinds = topLevel(text.slice(from, i - 1)).map(kindOf);
    // only an assignment defines the map's keys (a lookup such as @zs_start[tid] may differ)
    if (!/^\s*=[^=]/.test(text.slice(i)) || !kinds.some((k) => k !== 'key')) continue;
    hints[`@${m[1]}`] = kinds;
  }
  return hints;
}
