// A canvas flame graph. Data-oriented like uPlot: the profile is laid out once into typed
// arrays (layout.ts); a draw walks only the rows in view and only the frames inside the zoomed
// range, and frames narrower than half a pixel are counted instead of drawn.
import { type FrameTree, type FoldedInput, treeFromFolded, checkTree } from './tree.js';
import { type Layout, layout, frameAt, firstFrom, pathOf, findPath } from './layout.js';
import { Palette, MATCH_COLOR, diffColor, isKernel } from './colors.js';
import { compilePattern, search, type SearchResult } from './search.js';
import { toFolded, toPprof, toSpeedscope } from './export.js';
import { withoutRoot } from './process-root.js';
import './flamegraph.css';

export interface FlameGraphOptions {
  /** maximum height of the scrolling view in CSS pixels */
  maxHeight?: number;
  rowHeight?: number;
  /** root at the top (icicle) instead of the bottom */
  inverted?: boolean;
  /** frames narrower than this (CSS px) are not drawn but counted */
  minWidth?: number;
  /** title used in exported files */
  title?: string;
  /** what a frame's weight counts: "samples" (default), or a unit such as "nanoseconds" or "bytes" */
  unit?: string;
  /** formats a weight with its unit ("1.5 ms", "3.0 MiB", "120 samples") */
  fmtValue?: (v: number) => string;
  /** listen for `/` and Esc on the whole document (one flame graph per page) */
  globalKeys?: boolean;
  /** with data whose stacks start at their process: whether that level is shown (default true) */
  byProcess?: boolean;
}

export type FlameInput = FoldedInput | FrameTree;

export interface DrawStats {
  drawn: number;
  hidden: number;
  ms: number;
}

const FONT = '12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';

function isTree(x: FlameInput): x is FrameTree {
  return typeof x === 'object' && x !== null && !(x instanceof Map) && 'parent' in x && 'names' in x;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
/** "1 frame", "2 frames" */
const count = (n: number, word: string): string => `${fmt(n)} ${word}${n === 1 ? '' : 's'}`;
const pct = (a: number, b: number): string => (b > 0 ? ((100 * a) / b).toFixed(2) + '%' : '–');

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class FlameGraph {
  readonly root: HTMLDivElement;
  private L: Layout | null = null;
  private palette: Palette | null = null;
  private focus = 0;
  private focusPath: string[] = [];
  private hover = -1;
  /** keyboard selection */
  private sel = -1;
  private pattern = '';
  private re: RegExp | null = null;
  private found: SearchResult | null = null;
  private inverted: boolean;
  private rowH: number;
  private minW: number;
  private maxH: number;
  private opts: FlameGraphOptions;
  private charW = 7.2;
  private raf = 0;
  private dpr = 1;
  private width = 0;
  private viewH = 0;
  private diffScale = 1;
  lastDraw: DrawStats = { drawn: 0, hidden: 0, ms: 0 };

  private canvas: HTMLCanvasElement;
  private ctx: CanvasRenderingContext2D;
  private scroller: HTMLDivElement;
  private spacer: HTMLDivElement;
  private crumbs: HTMLElement;
  private searchInput: HTMLInputElement;
  private matchOut: HTMLSpanElement;
  private status: HTMLDivElement;
  private tip: HTMLDivElement;
  private invertBox: HTMLInputElement;
  private processBox: HTMLInputElement;
  private processLabel: HTMLLabelElement;
  /** the stacks' first frame is their process (see setProcessRoots) */
  private processRoots = false;
  private data: { input: FlameInput; baseline?: FoldedInput } | null = null;
  private ro: ResizeObserver;
  private onDocKey = (e: KeyboardEvent): void => this.docKey(e);

  constructor(parent: HTMLElement, opts: FlameGraphOptions = {}) {
    this.opts = opts;
    this.inverted = !!opts.inverted;
    this.rowH = opts.rowHeight ?? 18;
    this.minW = opts.minWidth ?? 0.5;
    this.maxH = opts.maxHeight ?? 560;

    const root = (this.root = el('div', 'fg'));
    const bar = el('div', 'fg-toolbar');
    this.crumbs = el('nav', 'fg-crumbs');
    this.crumbs.setAttribute('aria-label', 'zoom path');
    const reset = el('button', 'fg-reset', 'Reset zoom');
    reset.type = 'button';
    reset.title = 'Reset zoom (Esc)';
    reset.onclick = () => this.zoomTo(0);
    this.searchInput = el('input', 'fg-search');
    this.searchInput.type = 'search';
    this.searchInput.placeholder = 'Search (regex)  /';
    this.searchInput.setAttribute('aria-label', 'search functions (regular expression, ignoring case)');
    this.searchInput.oninput = () => this.setSearch(this.searchInput.value);
    this.searchInput.onkeydown = (e) => {
      if (e.key === 'Escape') {
        this.searchInput.value = '';
        this.setSearch('');
        this.canvas.focus();
        e.stopPropagation();
      }
    };
    this.matchOut = el('span', 'fg-match');
    this.matchOut.setAttribute('aria-live', 'polite');
    const inv = el('label', 'fg-invert');
    this.invertBox = el('input');
    this.invertBox.type = 'checkbox';
    this.invertBox.checked = this.inverted;
    this.invertBox.onchange = () => this.setInverted(this.invertBox.checked);
    inv.append(this.invertBox, ' Icicle');
    this.processLabel = el('label', 'fg-by-process');
    this.processLabel.title = 'Root every stack at its process (program name)';
    this.processLabel.hidden = true;
    this.processBox = el('input');
    this.processBox.type = 'checkbox';
    this.processBox.checked = opts.byProcess ?? true;
    this.processBox.onchange = () => this.setByProcess(this.processBox.checked);
    this.processLabel.append(this.processBox, ' By process');
    const exF = el('button', 'fg-export-folded', 'Folded');
    exF.type = 'button';
    exF.title = 'Download folded stacks';
    exF.onclick = () => void this.download('folded');
    const exS = el('button', 'fg-export-speedscope', 'speedscope');
    exS.type = 'button';
    exS.title = 'Download speedscope JSON';
    exS.onclick = () => void this.download('speedscope');
    const exP = el('button', 'fg-export-pprof', 'pprof');
    exP.type = 'button';
    exP.title = 'Download pprof (profile.proto, gzip) for go tool pprof';
    exP.onclick = () => void this.download('pprof');
    bar.append(reset, this.crumbs, el('span', 'fg-grow'), this.searchInput, this.matchOut, this.processLabel, inv, exF, exS, exP);

    this.scroller = el('div', 'fg-scroll');
    this.canvas = el('canvas', 'fg-canvas');
    this.canvas.tabIndex = 0;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'flame graph; arrow keys move, Enter zooms, Esc resets');
    this.spacer = el('div', 'fg-spacer');
    this.scroller.append(this.canvas, this.spacer);
    this.status = el('div', 'fg-status');
    this.status.setAttribute('aria-live', 'polite');
    this.tip = el('div', 'fg-tip');
    this.tip.hidden = true;
    root.append(bar, this.scroller, this.status, this.tip);
    parent.append(root);

    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('canvas 2d context unavailable');
    this.ctx = ctx;
    ctx.font = FONT;
    this.charW = ctx.measureText('abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJ').width / 36;

    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => this.setHover(-1));
    this.canvas.addEventListener('click', (e) => {
      const f = this.hit(e);
      if (f >= 0) this.zoomTo(f);
    });
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && e.target !== this.searchInput) {
        this.zoomTo(0);
        e.preventDefault();
      }
    });
    if (opts.globalKeys !== false) document.addEventListener('keydown', this.onDocKey);
    this.ro = new ResizeObserver(() => this.resize());
    this.ro.observe(this.scroller);
  }

  // ---- data ----

  /** Sets (or replaces, on a live update) the profile; zoom and search are kept. */
  setData(data: FlameInput, baseline?: FoldedInput): void {
    this.data = { input: data, baseline };
    let tree: FrameTree;
    if (isTree(data)) tree = (checkTree(data), data);
    else if (this.processRoots && !this.processBox.checked) tree = treeFromFolded(withoutRoot(data), baseline === undefined ? undefined : withoutRoot(baseline));
    else tree = treeFromFolded(data, baseline);
    this.setLayout(layout(tree));
  }

  /** Says whether the folded stacks given to setData start at their process: the "By process" box shows when they do. */
  setProcessRoots(on: boolean): void {
    if (on === this.processRoots) return;
    this.processRoots = on;
    this.processLabel.hidden = !on;
    if (this.data) this.setData(this.data.input, this.data.baseline);
  }

  /** Shows or hides the process level of process-rooted stacks. */
  setByProcess(on: boolean): void {
    this.processBox.checked = on;
    if (this.data && this.processRoots) this.setData(this.data.input, this.data.baseline);
  }

  /** For callers that lay out themselves (benchmarks, workers). */
  setLayout(L: Layout): void {
    this.L = L;
    this.palette = new Palette(L.tree.names);
    this.diffScale = 1;
    if (L.base) {
      let m = 0;
      const bt = L.baseTotal || 1;
      const t = L.total || 1;
      for (let i = 1; i < L.n; i++) m = Math.max(m, Math.abs(L.w[i] / t - L.base[i] / bt));
      this.diffScale = m > 0 ? 1 / m : 1;
    }
    this.focus = this.focusPath.length ? findPath(L, this.focusPath) : 0;
    this.focusPath = pathOf(L, this.focus);
    this.hover = -1;
    this.sel = -1;
    this.tip.hidden = true;
    this.runSearch();
    this.updateSize();
    this.renderCrumbs();
    this.draw();
  }

  get layout(): Layout | null {
    return this.L;
  }

  // ---- commands ----

  zoomTo(f: number): void {
    const L = this.L;
    if (!L || f < 0 || f >= L.n) return;
    this.focus = f;
    this.focusPath = pathOf(L, f);
    this.renderCrumbs();
    this.updateMatch();
    this.draw();
  }

  /** Zooms to the frame with this path of names (root's child first). */
  zoomToPath(path: readonly string[]): void {
    if (this.L) this.zoomTo(findPath(this.L, path));
  }

  get zoomPath(): string[] {
    return this.focusPath.slice();
  }

  setSearch(pattern: string): void {
    this.pattern = pattern;
    if (this.searchInput.value !== pattern) this.searchInput.value = pattern;
    this.runSearch();
    this.draw();
  }

  setInverted(on: boolean): void {
    const keepBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    this.inverted = on;
    this.invertBox.checked = on;
    this.updateSize();
    this.scroller.scrollTop = on ? 0 : this.scroller.scrollHeight - keepBottom;
    this.draw();
  }

  toFolded(): string {
    return this.L ? toFolded(this.L) : '';
  }

  toSpeedscope(): string {
    return this.L ? toSpeedscope(this.L, this.opts.title ?? 'profile', this.opts.unit) : '{}';
  }

  /** gzipped profile.proto of what is shown */
  async toPprof(): Promise<Blob> {
    const raw = this.L ? toPprof(this.L, this.opts.unit, this.opts.title) : new Uint8Array();
    return new Response(new Blob([raw as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip'))).blob();
  }

  destroy(): void {
    cancelAnimationFrame(this.raf);
    this.ro.disconnect();
    document.removeEventListener('keydown', this.onDocKey);
    this.root.remove();
  }

  // ---- search ----

  private runSearch(): void {
    this.re = null;
    this.found = null;
    this.matchOut.classList.remove('fg-error');
    if (this.pattern && this.L) {
      try {
        this.re = compilePattern(this.pattern);
        this.found = search(this.L, this.re);
      } catch (e) {
        this.matchOut.textContent = (e as Error).message;
        this.matchOut.classList.add('fg-error');
        return;
      }
    }
    this.updateMatch();
  }

  private updateMatch(): void {
    const L = this.L;
    if (!this.found || !L) {
      if (!this.matchOut.classList.contains('fg-error')) this.matchOut.textContent = '';
      return;
    }
    // matched share of the zoomed range: stacks through the focus that contain a match
    let inFocus = this.found.matched;
    if (this.focus > 0) {
      inFocus = 0;
      for (let f = this.focus; f > 0; f = L.parent[f]) if (this.found.hit[f]) inFocus = L.w[this.focus];
      if (!inFocus) {
        const x0 = L.x[this.focus];
        const x1 = x0 + L.w[this.focus];
        // matches below the focus, not nested under another match
        const covered: [number, number][] = [];
        for (let d = L.depth[this.focus] + 1; d <= L.maxDepth; d++) {
          for (let i = firstFrom(L, d, x0); i < L.levelStart[d + 1] && L.x[i] < x1; i++) {
            if (!this.found.hit[i]) continue;
            const a = L.x[i];
            if (covered.some(([s, e]) => a >= s && a < e)) continue;
            covered.push([a, a + L.w[i]]);
            inFocus += L.w[i];
          }
        }
      }
    }
    const t = this.found.matched;
    let s = `${pct(t, L.total)} matched`;
    if (this.focus > 0) s += ` (${pct(inFocus, L.w[this.focus])} of zoom)`;
    this.matchOut.textContent = s + ` · ${count(this.found.frames, 'frame')}`;
  }

  // ---- geometry ----

  private resize(): void {
    this.updateSize();
    this.draw();
  }

  private updateSize(): void {
    const L = this.L;
    const rows = L ? L.maxDepth + 1 : 1;
    const totalH = rows * this.rowH;
    const w = this.scroller.clientWidth || 800;
    const viewH = Math.min(this.maxH, totalH);
    this.dpr = window.devicePixelRatio || 1;
    if (w !== this.width || viewH !== this.viewH || this.canvas.width !== Math.round(w * this.dpr)) {
      this.width = w;
      this.viewH = viewH;
      this.canvas.style.width = w + 'px';
      this.canvas.style.height = viewH + 'px';
      this.canvas.width = Math.round(w * this.dpr);
      this.canvas.height = Math.round(viewH * this.dpr);
    }
    this.scroller.style.height = viewH + 'px';
    const wasAtBottom = this.scroller.scrollTop + this.scroller.clientHeight >= this.scroller.scrollHeight - 2;
    this.spacer.style.height = Math.max(0, totalH - viewH) + 'px';
    // a flame graph grows upwards: keep the root in view
    if (!this.inverted && (wasAtBottom || this.scroller.scrollTop === 0)) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** y (CSS px, canvas coordinates) of the top of row d */
  private rowY(d: number): number {
    const L = this.L;
    const rows = L ? L.maxDepth + 1 : 1;
    const top = this.inverted ? d * this.rowH : (rows - 1 - d) * this.rowH;
    return top - this.scroller.scrollTop;
  }

  private rowAt(y: number): number {
    const L = this.L;
    if (!L) return -1;
    const r = Math.floor((y + this.scroller.scrollTop) / this.rowH);
    return this.inverted ? r : L.maxDepth - r;
  }

  private hit(e: MouseEvent): number {
    const L = this.L;
    if (!L) return -1;
    const r = this.canvas.getBoundingClientRect();
    const d = this.rowAt(e.clientY - r.top);
    if (d < 0 || d > L.maxDepth) return -1;
    if (d < L.depth[this.focus]) {
      // ancestors of the focus span the whole width
      let f = this.focus;
      while (L.depth[f] > d) f = L.parent[f];
      return f;
    }
    const sx = L.x[this.focus] + ((e.clientX - r.left) / this.width) * L.w[this.focus];
    const f = frameAt(L, d, sx);
    if (f < 0) return -1;
    return (L.w[f] * this.width) / L.w[this.focus] >= this.minW ? f : -1;
  }

  // ---- drawing ----

  private schedule(): void {
    if (!this.raf) this.raf = requestAnimationFrame(() => ((this.raf = 0), this.draw()));
  }

  /** Draws now (synchronously) and returns what it did; benchmarks time this. */
  draw(): DrawStats {
    const t0 = performance.now();
    const L = this.L;
    const ctx = this.ctx;
    const W = this.width;
    const H = this.viewH;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, W, H);
    if (!L || !this.palette || L.total <= 0) {
      this.status.textContent = L ? 'no samples' : '';
      ctx.fillStyle = '#666';
      ctx.font = FONT;
      ctx.fillText(L ? 'No samples in this profile.' : '', 8, 14);
      return (this.lastDraw = { drawn: 0, hidden: 0, ms: performance.now() - t0 });
    }
    const rowH = this.rowH;
    const fx = L.x[this.focus];
    const fw = L.w[this.focus];
    const scale = W / fw;
    const fx1 = fx + fw;
    const fd = L.depth[this.focus];
    const pal = this.palette;
    const hit = this.found?.hit;
    const searching = !!hit;
    const base = L.base;
    const bt = L.baseTotal || 1;
    const tt = L.total || 1;
    const minW = this.minW;
    const charW = this.charW;
    const names = L.tree.names;
    ctx.font = FONT;
    ctx.textBaseline = 'middle';
    let drawn = 0;
    let hidden = 0;

    const paint = (i: number, x: number, w: number, y: number, ancestor: boolean): void => {
      const nm = L.name[i];
      let color: string;
      if (searching && hit[i]) color = MATCH_COLOR;
      else if (base) color = diffColor((L.w[i] / tt - base[i] / bt) * this.diffScale);
      else color = pal.get(nm, searching || ancestor);
      ctx.fillStyle = color;
      const gap = w > 3 ? 1 : 0;
      ctx.fillRect(x, y, w - gap, rowH - 1);
      if (i === this.hover || i === this.sel) {
        ctx.strokeStyle = '#000';
        ctx.lineWidth = 1.5;
        ctx.strokeRect(x + 0.75, y + 0.75, Math.max(0, w - gap - 1.5), rowH - 2.5);
      }
      if (w > 28) {
        const room = Math.floor((w - 6) / charW);
        let label = names[nm];
        if (label.length > room) label = room > 2 ? label.slice(0, room - 1) + '…' : '';
        if (label) {
          ctx.fillStyle = '#000';
          ctx.fillText(label, x + 3, y + rowH / 2);
        }
      }
      drawn++;
    };

    for (let d = 0; d <= L.maxDepth; d++) {
      const y = this.rowY(d);
      const inView = y + rowH > 0 && y < H;
      if (d < fd) {
        if (!inView) continue;
        let a = this.focus;
        while (L.depth[a] > d) a = L.parent[a];
        paint(a, 0, W, y, true);
        continue;
      }
      const end = L.levelStart[d + 1];
      let i = firstFrom(L, d, fx);
      if (!inView) {
        // not drawn, but still counted so the "too narrow" figure does not depend on scrolling
        for (; i < end && L.x[i] < fx1; i++) if (L.w[i] * scale < minW) hidden++;
        continue;
      }
      for (; i < end; i++) {
        const x0 = L.x[i];
        if (x0 >= fx1) break;
        const w = L.w[i] * scale;
        if (w < minW) {
          hidden++;
          continue;
        }
        paint(i, (x0 - fx) * scale, w, y, false);
      }
    }
    const ms = performance.now() - t0;
    const parts = [this.fmtW(L.total), count(L.n - 1, 'frame')];
    if (hidden) parts.push(`${count(hidden, 'frame')} too narrow to draw`);
    if (base) parts.push('differential: red grew, blue shrank (share of total vs baseline)');
    this.status.textContent = parts.join(' · ');
    return (this.lastDraw = { drawn, hidden, ms });
  }

  /** a weight with its unit */
  private fmtW(v: number): string {
    return this.opts.fmtValue ? this.opts.fmtValue(v) : v === 1 ? `1 ${(this.opts.unit ?? 'samples').replace(/s$/, '')}` : `${fmt(v)} ${this.opts.unit ?? 'samples'}`;
  }

  // ---- interaction ----

  private renderCrumbs(): void {
    const L = this.L;
    this.crumbs.replaceChildren();
    if (!L) return;
    const chain: number[] = [];
    for (let f = this.focus; f >= 0; f = L.parent[f]) chain.push(f);
    chain.reverse();
    // long chains: show the first and the last few
    const show = chain.length > 6 ? [...chain.slice(0, 2), -1, ...chain.slice(-3)] : chain;
    for (const f of show) {
      if (f === -1) {
        this.crumbs.append(el('span', 'fg-crumb-more', '…'));
        continue;
      }
      const b = el('button', 'fg-crumb', L.tree.names[L.name[f]]);
      b.type = 'button';
      b.title = L.tree.names[L.name[f]];
      if (f === this.focus) b.setAttribute('aria-current', 'true');
      b.onclick = () => this.zoomTo(f);
      this.crumbs.append(b);
    }
  }

  private onMove(e: MouseEvent): void {
    const f = this.hit(e);
    this.setHover(f);
    if (f >= 0) this.placeTip(e.clientX, e.clientY);
  }

  private setHover(f: number): void {
    if (f === this.hover) return;
    this.hover = f;
    this.canvas.style.cursor = f >= 0 ? 'pointer' : '';
    if (f < 0) this.tip.hidden = true;
    else this.fillTip(f);
    this.schedule();
  }

  private fillTip(f: number): void {
    const L = this.L;
    if (!L) return;
    const name = L.tree.names[L.name[f]];
    const p = L.parent[f];
    const rows: [string, string][] = [
      [this.opts.unit && this.opts.unit !== 'samples' ? 'total' : 'samples', this.fmtW(L.w[f])],
      ['of total', pct(L.w[f], L.total)],
      ['of parent', p >= 0 ? pct(L.w[f], L.w[p]) : '–'],
      ['self', `${this.fmtW(L.self[f])} (${pct(L.self[f], L.total)})`],
    ];
    if (L.base) {
      const b = L.base[f];
      rows.push(['baseline', `${this.fmtW(b)} (${pct(b, L.baseTotal)})`]);
      const d = (100 * L.w[f]) / (L.total || 1) - (100 * b) / (L.baseTotal || 1);
      rows.push(['change', `${d >= 0 ? '+' : ''}${d.toFixed(2)} points`]);
    }
    this.tip.replaceChildren();
    const h = el('div', 'fg-tip-name', name);
    if (isKernel(name)) h.append(el('span', 'fg-tip-k', ' kernel'));
    const tbl = el('table');
    for (const [k, v] of rows) {
      const tr = el('tr');
      tr.append(el('th', undefined, k), el('td', undefined, v));
      tbl.append(tr);
    }
    this.tip.append(h, tbl);
    this.tip.hidden = false;
  }

  private placeTip(cx: number, cy: number): void {
    const r = this.root.getBoundingClientRect();
    let x = cx - r.left + 14;
    const y = cy - r.top + 14;
    const tw = this.tip.offsetWidth || 240;
    if (x + tw > r.width) x = Math.max(0, cx - r.left - tw - 14);
    this.tip.style.transform = `translate(${x}px, ${y}px)`;
  }

  private onKey(e: KeyboardEvent): void {
    const L = this.L;
    if (!L) return;
    let s = this.sel >= 0 ? this.sel : this.focus;
    const up = this.inverted ? 'ArrowDown' : 'ArrowUp';
    const down = this.inverted ? 'ArrowUp' : 'ArrowDown';
    const visible = (i: number): boolean =>
      L.x[i] + L.w[i] > L.x[this.focus] && L.x[i] < L.x[this.focus] + L.w[this.focus] && (L.w[i] * this.width) / L.w[this.focus] >= this.minW;
    if (e.key === up) {
      // widest child
      let best = -1;
      const d = L.depth[s] + 1;
      if (d <= L.maxDepth)
        for (let i = firstFrom(L, d, L.x[s]); i < L.levelStart[d + 1] && L.x[i] < L.x[s] + L.w[s]; i++)
          if (best < 0 || L.w[i] > L.w[best]) best = i;
      if (best >= 0) s = best;
    } else if (e.key === down) {
      if (L.parent[s] >= 0) s = L.parent[s];
    } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      const step = e.key === 'ArrowLeft' ? -1 : 1;
      const d = L.depth[s];
      for (let i = s + step; i >= L.levelStart[d] && i < L.levelStart[d + 1]; i += step)
        if (visible(i)) {
          s = i;
          break;
        }
    } else if (e.key === 'Enter' || e.key === ' ') {
      this.zoomTo(s);
      e.preventDefault();
      return;
    } else return;
    e.preventDefault();
    this.sel = s;
    this.fillTip(s);
    const r = this.canvas.getBoundingClientRect();
    const fx = ((L.x[s] - L.x[this.focus]) / L.w[this.focus]) * this.width;
    this.placeTip(r.left + Math.max(0, fx), r.top + this.rowY(L.depth[s]) + this.rowH);
    this.draw();
  }

  private docKey(e: KeyboardEvent): void {
    if (!this.root.isConnected) return;
    const t = e.target as HTMLElement | null;
    const typing = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
    if (e.key === '/' && !typing) {
      e.preventDefault();
      this.searchInput.focus();
      this.searchInput.select();
    } else if (e.key === 'Escape' && !typing && !this.root.contains(t)) {
      this.zoomTo(0);
    }
  }

  private async download(kind: 'folded' | 'speedscope' | 'pprof'): Promise<void> {
    const blob =
      kind === 'pprof' ? await this.toPprof() : new Blob([kind === 'folded' ? this.toFolded() : this.toSpeedscope()], { type: kind === 'folded' ? 'text/plain' : 'application/json' });
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    const base = (this.opts.title ?? 'profile').replace(/[^\w.-]+/g, '_');
    a.download = kind === 'folded' ? `${base}.folded` : kind === 'pprof' ? `${base}.pb.gz` : `${base}.speedscope.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }
}
