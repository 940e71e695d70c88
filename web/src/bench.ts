// Benchmark page (bench.html): a synthetic profile of 100k distinct frames and 1M samples,
// timed inside Chromium by test/bench/flamegraph.bench.mjs through window.__bench.
import { FlameGraph, layout, treeFromFolded, toFolded, type FrameTree, type Layout } from './flamegraph/index.js';
import { Heatmap } from './heatmap/heatmap.js';
import { latencyHeatmap, subsecondHeatmap } from './heatmap/build.js';
import { unitFormatter, fmtNs } from './units.js';
import { drawCharts } from './charts.js';

/** Deterministic PRNG so every run measures the same profile. */
function mulberry32(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random recursive tree (depth ~ e·ln n, like real call trees), one name per frame. */
export function syntheticTree(frames: number, samples: number, seed = 1): FrameTree {
  const rnd = mulberry32(seed);
  const names = ['all'];
  const name = new Int32Array(frames);
  const parent = new Int32Array(frames);
  const self = new Float64Array(frames);
  parent[0] = -1;
  const weight = new Float64Array(frames);
  let sum = 0;
  for (let i = 1; i < frames; i++) {
    parent[i] = Math.floor(rnd() * i);
    const kernel = rnd() < 0.15;
    names.push(kernel ? `k_func_${i}_[k]` : `lib${i % 97}::module::function_${i}`);
    name[i] = i;
    // heavy-tailed: a few hot functions, many cold ones
    weight[i] = Math.pow(rnd(), 6);
    sum += weight[i];
  }
  // every frame gets at least one sample so all of them are laid out
  let given = 0;
  const spread = samples - (frames - 1);
  for (let i = 1; i < frames; i++) {
    self[i] = 1 + Math.floor((weight[i] / sum) * spread);
    given += self[i];
  }
  self[1] += samples - given;
  return { names, count: frames, name, parent, self };
}

interface Bench {
  tree: FrameTree;
  folded: string;
  fg: FlameGraph;
  L: Layout | null;
}
let B: Bench | null = null;

const flush = (fg: FlameGraph): void => {
  // read one pixel so the time includes rasterising, not only recording the draw commands
  const c = fg.root.querySelector('canvas')!;
  c.getContext('2d')!.getImageData(0, 0, 1, 1);
};

const api = {
  prepare(frames = 100_000, samples = 1_000_000) {
    const tree = syntheticTree(frames, samples);
    const host = document.getElementById('fg')!;
    host.replaceChildren();
    const fg = new FlameGraph(host, { maxHeight: 640, title: 'bench' });
    B = { tree, folded: '', fg, L: null };
    B.folded = toFolded(layout(tree));
    return { frames: tree.count, samples, foldedLines: B.folded.split('\n').length - 1, foldedBytes: B.folded.length };
  },
  /** layout + first draw from a prebuilt frame tree */
  firstDraw() {
    const b = B!;
    b.fg.setSearch('');
    b.fg.zoomTo(0);
    const t0 = performance.now();
    const L = layout(b.tree);
    const t1 = performance.now();
    b.fg.setLayout(L);
    flush(b.fg);
    const t2 = performance.now();
    b.L = L;
    return { layoutMs: t1 - t0, drawMs: t2 - t1, totalMs: t2 - t0, drawn: b.fg.lastDraw.drawn, hidden: b.fg.lastDraw.hidden };
  },
  /** folded text → tree (the path a live update from /folded takes) */
  parse() {
    const b = B!;
    const t0 = performance.now();
    const t = treeFromFolded(b.folded);
    return { parseMs: performance.now() - t0, nodes: t.count };
  },
  frames() {
    return B!.L!.n - 1;
  },
  /** zoom into a frame with ~1-5% of the samples, then back out */
  zoom() {
    const b = B!;
    const L = b.L!;
    let f = 1;
    for (let i = 1; i < L.n; i++) {
      const r = L.w[i] / L.total;
      if (L.depth[i] >= 2 && r > 0.01 && r < 0.05) {
        f = i;
        break;
      }
    }
    const t0 = performance.now();
    b.fg.zoomTo(f);
    flush(b.fg);
    const t1 = performance.now();
    b.fg.zoomTo(0);
    flush(b.fg);
    const t2 = performance.now();
    return { zoomInMs: t1 - t0, zoomOutMs: t2 - t1, zoomDrawn: b.fg.lastDraw.drawn };
  },
  search(pattern = 'function_1234\\d') {
    const b = B!;
    const t0 = performance.now();
    b.fg.setSearch(pattern);
    flush(b.fg);
    const t1 = performance.now();
    const m = b.fg.root.querySelector('.fg-match')!.textContent;
    b.fg.setSearch('');
    return { searchMs: t1 - t0, matched: m };
  },
  status() {
    return B!.fg.root.querySelector('.fg-status')!.textContent;
  },
};

(window as unknown as { __bench: typeof api }).__bench = api;
// the components themselves, for the browser tests of test/e2e/components.test.ts
(window as unknown as Record<string, unknown>).__zs = { FlameGraph, Heatmap, latencyHeatmap, subsecondHeatmap, treeFromFolded, unitFormatter, fmtNs, drawCharts };
document.title = 'bench ready';
