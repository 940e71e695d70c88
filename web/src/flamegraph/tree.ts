// The frame tree: a flat, parent-before-child node list with a shared name table.
// Flat typed arrays (not objects per node) so that a profile with hundreds of thousands of
// distinct frames costs a few megabytes and a single pass to lay out.

export interface FrameTree {
  /** function names; node i is named names[name[i]] */
  names: string[];
  /** number of nodes; node 0 is the root ("all") */
  count: number;
  name: Int32Array;
  /** parent node index, always lower than the node's own index; -1 for the root */
  parent: Int32Array;
  /** samples whose leaf frame is this node */
  self: Float64Array;
  /** differential baseline: the same, for the profile compared against (optional) */
  base?: Float64Array;
}

/** A profile given as folded text (`a;b;c 12` per line) or as a map from folded stack to count. */
export type FoldedInput = string | Map<string, number> | Record<string, number>;

const KEY = 4194304; // 2^22: room for that many names while parent*KEY+name stays an exact double

/** Builds a FrameTree by merging stacks (root first) into a trie. */
export class TreeBuilder {
  names: string[] = ['all'];
  private nameIds = new Map<string, number>([['all', 0]]);
  private children = new Map<number, number>();
  count = 1;
  name = new Int32Array(1024);
  parent = new Int32Array(1024);
  self = new Float64Array(1024);
  base: Float64Array | null = null;

  constructor() {
    this.parent[0] = -1;
  }

  nameId(s: string): number {
    let id = this.nameIds.get(s);
    if (id === undefined) {
      id = this.names.length;
      if (id >= KEY) throw new Error(`profile has more than ${KEY} distinct function names`);
      this.names.push(s);
      this.nameIds.set(s, id);
    }
    return id;
  }

  private grow(): void {
    const n = this.name.length * 2;
    const g = <T extends Int32Array | Float64Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(n);
      b.set(a);
      return b;
    };
    this.name = g(this.name, Int32Array);
    this.parent = g(this.parent, Int32Array);
    this.self = g(this.self, Float64Array);
    if (this.base) this.base = g(this.base, Float64Array);
  }

  child(parent: number, nameId: number): number {
    const key = parent * KEY + nameId;
    let id = this.children.get(key);
    if (id === undefined) {
      if (this.count === this.name.length) this.grow();
      id = this.count++;
      this.name[id] = nameId;
      this.parent[id] = parent;
      this.children.set(key, id);
    }
    return id;
  }

  /** Adds `value` samples for a stack given root first; `baseline` adds to the comparison profile. */
  add(frames: readonly string[], value: number, baseline = false): void {
    let node = 0;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i];
      if (f !== '') node = this.child(node, this.nameId(f));
    }
    if (baseline) {
      if (!this.base) this.base = new Float64Array(this.name.length);
      this.base[node] += value;
    } else this.self[node] += value;
  }

  /** Adds every line of folded text. Returns the number of lines that were not `stack count`. */
  addFolded(text: string, baseline = false): number {
    let bad = 0;
    let start = 0;
    const len = text.length;
    while (start < len) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = len;
      let line = text.slice(start, end);
      start = end + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line === '') continue;
      const sp = line.lastIndexOf(' ');
      const value = sp > 0 ? Number(line.slice(sp + 1)) : NaN;
      if (!Number.isFinite(value) || value < 0) {
        bad++;
        continue;
      }
      this.addPath(line, sp, value, baseline);
    }
    return bad;
  }

  // Walks `line[0..end)` split on ';' without allocating an array per line.
  private addPath(line: string, end: number, value: number, baseline: boolean): void {
    let node = 0;
    let s = 0;
    while (s <= end) {
      let e = line.indexOf(';', s);
      if (e < 0 || e > end) e = end;
      if (e > s) node = this.child(node, this.nameId(line.slice(s, e)));
      s = e + 1;
    }
    if (baseline) {
      if (!this.base) this.base = new Float64Array(this.name.length);
      this.base[node] += value;
    } else this.self[node] += value;
  }

  addMap(m: Map<string, number> | Record<string, number>, baseline = false): void {
    const entries = m instanceof Map ? m.entries() : Object.entries(m);
    for (const [stack, value] of entries) {
      if (!Number.isFinite(value) || value < 0) continue;
      this.addPath(stack, stack.length, value, baseline);
    }
  }

  build(): FrameTree {
    const n = this.count;
    return {
      names: this.names,
      count: n,
      name: this.name.subarray(0, n),
      parent: this.parent.subarray(0, n),
      self: this.self.subarray(0, n),
      base: this.base ? this.base.subarray(0, n) : undefined,
    };
  }
}

function addInput(b: TreeBuilder, input: FoldedInput, baseline: boolean): void {
  if (typeof input === 'string') b.addFolded(input, baseline);
  else b.addMap(input, baseline);
}

/** Builds a tree from folded stacks; with `baseline`, the tree carries both for differential colouring. */
export function treeFromFolded(input: FoldedInput, baseline?: FoldedInput): FrameTree {
  const b = new TreeBuilder();
  addInput(b, input, false);
  if (baseline !== undefined) {
    addInput(b, baseline, true);
    if (!b.base) b.base = new Float64Array(b.name.length);
  }
  return b.build();
}

/** Checks a caller-supplied tree, so a malformed one fails with a clear message, not a garbled picture. */
export function checkTree(t: FrameTree): void {
  const { count, name, parent, self } = t;
  if (!(count >= 1)) throw new Error('frame tree: count must be at least 1 (the root)');
  for (const [k, a] of [['name', name], ['parent', parent], ['self', self]] as const)
    if (a.length < count) throw new Error(`frame tree: ${k} has ${a.length} entries, count is ${count}`);
  if (parent[0] !== -1) throw new Error('frame tree: parent[0] must be -1 (node 0 is the root)');
  for (let i = 1; i < count; i++) {
    const p = parent[i];
    if (!(p >= 0 && p < i)) throw new Error(`frame tree: parent[${i}] = ${p} must be an earlier node`);
    const nm = name[i];
    if (!(nm >= 0 && nm < t.names.length)) throw new Error(`frame tree: name[${i}] = ${nm} is not in names`);
  }
}
