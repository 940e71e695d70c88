// Lays a FrameTree out once into per-depth runs of frames sorted by x, so drawing and hit
// testing are a binary search per row instead of a walk of the whole tree.
import type { FrameTree } from './tree.js';

export interface Layout {
  tree: FrameTree;
  /** frames laid out (nodes with zero samples are left out) */
  n: number;
  /** start of the frame, in samples from the left edge */
  x: Float64Array;
  /** width of the frame = its total samples */
  w: Float64Array;
  self: Float64Array;
  /** baseline total for differential colouring (zeros when there is no baseline) */
  base: Float64Array | null;
  depth: Int32Array;
  name: Int32Array;
  /** parent frame (layout index), -1 for the root */
  parent: Int32Array;
  /** frames of depth d are [levelStart[d], levelStart[d+1]) */
  levelStart: Int32Array;
  maxDepth: number;
  total: number;
  baseTotal: number;
}

export function layout(tree: FrameTree): Layout {
  const { count, parent, self, names } = tree;
  const tname = tree.name;
  const total = new Float64Array(count);
  total.set(self.subarray(0, count));
  for (let i = count - 1; i > 0; i--) total[parent[i]] += total[i];
  let btotal: Float64Array | null = null;
  if (tree.base) {
    btotal = new Float64Array(count);
    btotal.set(tree.base.subarray(0, count));
    for (let i = count - 1; i > 0; i--) btotal[parent[i]] += btotal[i];
  }

  // children in CSR form
  const off = new Int32Array(count + 1);
  for (let i = 1; i < count; i++) off[parent[i] + 1]++;
  for (let i = 0; i < count; i++) off[i + 1] += off[i];
  const kids = new Int32Array(Math.max(0, count - 1));
  const fill = off.slice(0, count);
  for (let i = 1; i < count; i++) kids[fill[parent[i]]++] = i;

  // Siblings in name order, like FlameGraph: positions stay put as a live profile grows.
  const byName = (a: number, b: number): number => {
    const x = names[tname[a]];
    const y = names[tname[b]];
    return x < y ? -1 : x > y ? 1 : 0;
  };
  for (let i = 0; i < count; i++) {
    const s = off[i];
    const e = off[i + 1];
    if (e - s > 1) kids.subarray(s, e).sort(byName);
  }

  const x = new Float64Array(count);
  const w = new Float64Array(count);
  const ls = new Float64Array(count);
  const lb = btotal ? new Float64Array(count) : null;
  const depth = new Int32Array(count);
  const name = new Int32Array(count);
  const lp = new Int32Array(count);
  const node = new Int32Array(count);
  const levels: number[] = [0];

  // Breadth first: each depth comes out as one run, sorted by x.
  let n = 1;
  x[0] = 0;
  w[0] = total[0];
  ls[0] = self[0];
  if (lb && btotal) lb[0] = btotal[0];
  depth[0] = 0;
  name[0] = tname[0];
  lp[0] = -1;
  node[0] = 0;
  for (let h = 0; h < n; h++) {
    const t = node[h];
    let cx = x[h];
    const d = depth[h] + 1;
    for (let k = off[t]; k < off[t + 1]; k++) {
      const c = kids[k];
      const cw = total[c];
      if (cw <= 0) continue;
      if (d === levels.length) levels.push(n);
      x[n] = cx;
      w[n] = cw;
      ls[n] = self[c];
      if (lb && btotal) lb[n] = btotal[c];
      depth[n] = d;
      name[n] = tname[c];
      lp[n] = h;
      node[n] = c;
      cx += cw;
      n++;
    }
  }
  levels.push(n);
  return {
    tree,
    n,
    x,
    w,
    self: ls,
    base: lb,
    depth,
    name,
    parent: lp,
    levelStart: Int32Array.from(levels),
    maxDepth: levels.length - 2,
    total: total[0],
    baseTotal: btotal ? btotal[0] : 0,
  };
}

/** The frame at depth d covering sample position sx, or -1. */
export function frameAt(L: Layout, d: number, sx: number): number {
  if (d < 0 || d > L.maxDepth) return -1;
  let lo = L.levelStart[d];
  let hi = L.levelStart[d + 1] - 1;
  while (lo <= hi) {
    const m = (lo + hi) >> 1;
    if (L.x[m] + L.w[m] <= sx) lo = m + 1;
    else if (L.x[m] > sx) hi = m - 1;
    else return m;
  }
  return -1;
}

/** First frame at depth d whose right edge is past sx. */
export function firstFrom(L: Layout, d: number, sx: number): number {
  let lo = L.levelStart[d];
  let hi = L.levelStart[d + 1];
  while (lo < hi) {
    const m = (lo + hi) >> 1;
    if (L.x[m] + L.w[m] <= sx) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/** Names from the root's child down to frame i. */
export function pathOf(L: Layout, i: number): string[] {
  const out: string[] = [];
  for (let f = i; f > 0; f = L.parent[f]) out.push(L.tree.names[L.name[f]]);
  return out.reverse();
}

/** Finds a frame by its path of names (for keeping zoom across updates); the deepest match. */
export function findPath(L: Layout, path: readonly string[]): number {
  let f = 0;
  for (let d = 0; d < path.length; d++) {
    const lo = L.levelStart[d + 1];
    const hi = d + 1 <= L.maxDepth ? L.levelStart[d + 2] : lo;
    if (d + 1 > L.maxDepth) return f;
    // children of f at depth d+1 lie within f's x range
    let c = firstFrom(L, d + 1, L.x[f]);
    let found = -1;
    for (; c < hi && L.x[c] < L.x[f] + L.w[f]; c++) {
      if (c >= lo && L.tree.names[L.name[c]] === path[d]) {
        found = c;
        break;
      }
    }
    if (found < 0) return f;
    f = found;
  }
  return f;
}
