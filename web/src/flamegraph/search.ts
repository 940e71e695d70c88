// Search: the pattern is tested once per distinct name, then one pass over the layout marks
// matching frames and sums the samples under a match (a match nested under another match is
// counted once), which is FlameGraph's "% matched".
import type { Layout } from './layout.js';

export interface SearchResult {
  /** per layout frame: 1 if its name matches */
  hit: Uint8Array;
  /** samples in stacks that contain a match */
  matched: number;
  frames: number;
}

/** Compiles a user's pattern: a regular expression, ignoring case. Throws a readable error. */
export function compilePattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'i');
  } catch (e) {
    throw new Error(`invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
  }
}

export function search(L: Layout, re: RegExp): SearchResult {
  const names = L.tree.names;
  const byName = new Uint8Array(names.length);
  for (let i = 0; i < names.length; i++) byName[i] = re.test(names[i]) ? 1 : 0;
  const hit = new Uint8Array(L.n);
  const under = new Uint8Array(L.n); // a match at this frame or above it
  let matched = 0;
  let frames = 0;
  for (let i = 1; i < L.n; i++) {
    const h = byName[L.name[i]];
    const up = under[L.parent[i]];
    hit[i] = h;
    under[i] = h | up;
    if (h) {
      frames++;
      if (!up) matched += L.w[i];
    }
  }
  return { hit, matched, frames };
}
