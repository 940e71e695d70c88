// A heatmap on uPlot: uPlot owns the axes, scales, cursor and drag selection; the cells are
// painted in its draw hook from one flat Float64Array (column-major), so a long trace with
// many buckets is one pass of fillRect calls.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './heatmap.css';
import { timeTicks, TIME_SPACE } from '../time-axis.js';

export interface HeatmapData {
  /** column start times, seconds since the epoch (uPlot's time unit) */
  times: number[];
  /** column width in seconds */
  step: number;
  /** row bounds, ascending: row r covers [rows[r][0], rows[r][1]) */
  rows: [number, number][];
  /** counts, column-major: counts[c * rows.length + r] */
  counts: Float64Array;
  /** tooltip text per row, when the drawn bounds differ from the real ones */
  rowLabels?: string[];
}

export interface HeatmapOptions {
  title?: string;
  width?: number;
  height?: number;
  /** log scale for the rows (latency) */
  log?: boolean;
  /** formats a row value (e.g. a latency) for axes and the tooltip */
  fmtValue?: (v: number) => string;
  /** what a count is ("events", "samples") */
  countLabel?: string;
  /** show column percentiles in the tooltip (latency) */
  percentiles?: boolean;
  /**
   * Called with [fromMs, toMs] after a drag. `cellTime` maps a column and a row value to a
   * time in ms (the subsecond heatmap adds the row offset to the column's second).
   */
  onRange?: (range: [number, number]) => void;
  cellTime?: (colTimeS: number, rowValue: number) => number;
}

/** white → yellow → orange → red → dark red, by the square root of count / max */
function cellColor(f: number): string {
  const t = Math.sqrt(Math.min(1, Math.max(0, f)));
  const stops: [number, number, number][] = [
    [255, 247, 200],
    [254, 196, 79],
    [240, 100, 30],
    [200, 20, 20],
    [100, 0, 20],
  ];
  const p = t * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(p));
  const k = p - i;
  const a = stops[i];
  const b = stops[i + 1];
  return `rgb(${Math.round(a[0] + (b[0] - a[0]) * k)},${Math.round(a[1] + (b[1] - a[1]) * k)},${Math.round(a[2] + (b[2] - a[2]) * k)})`;
}

/** p-th percentile (0..1) of a histogram column: the upper bound of the bucket reaching it. */
export function columnPercentile(rows: [number, number][], counts: Float64Array, off: number, p: number): number | null {
  let total = 0;
  for (let r = 0; r < rows.length; r++) total += counts[off + r];
  if (total <= 0) return null;
  const want = p * total;
  let acc = 0;
  for (let r = 0; r < rows.length; r++) {
    acc += counts[off + r];
    if (acc >= want) return rows[r][1];
  }
  return rows[rows.length - 1][1];
}

export const defaultFmt = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1e9) return +(v / 1e9).toPrecision(3) + 'G';
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
  if (a >= 1e3) return +(v / 1e3).toPrecision(3) + 'k';
  return String(+v.toPrecision(3));
};

const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];

export class Heatmap {
  readonly root: HTMLDivElement;
  private u: uPlot;
  private data: HeatmapData;
  private opts: HeatmapOptions;
  private tip: HTMLDivElement;
  private max = 1;
  private dragFrom: { t: number; v: number } | null = null;
  /** cells whose start (cellTime) lies in [from, to] ms are drawn selected */
  private marked: [number, number] | null = null;
  private ro: ResizeObserver;

  constructor(parent: HTMLElement, data: HeatmapData, opts: HeatmapOptions = {}) {
    this.opts = opts;
    this.data = data;
    this.root = document.createElement('div');
    this.root.className = 'hm';
    this.tip = document.createElement('div');
    this.tip.className = 'hm-tip';
    this.tip.hidden = true;
    parent.append(this.root);
    const fmt = opts.fmtValue ?? defaultFmt;
    const self = this;
    const width = opts.width ?? Math.max(320, parent.clientWidth || 800);
    const u = (this.u = new uPlot(
      {
        title: opts.title,
        width,
        height: opts.height ?? 300,
        legend: { show: false },
        scales: {
          x: { time: true, range: () => this.xRange() },
          y: opts.log ? { distr: 3, log: 10, range: () => this.yRange() } : { range: () => this.yRange() },
        },
        // columns are whole seconds (or longer): sub-second ticks (":51.100") would be noise
        axes: [{ incrs: TIME_INCRS, space: TIME_SPACE, values: timeTicks }, { values: (_u, splits) => splits.map((v) => (v === null || v === undefined ? '' : fmt(v))), size: 78 }],
        series: [{}, { label: opts.countLabel ?? 'count', paths: () => null, points: { show: false } }],
        cursor: {
          points: { show: false },
          drag: { x: true, y: !!opts.cellTime, setScale: false },
        },
        select: { show: !!opts.onRange, left: 0, top: 0, width: 0, height: 0 },
        hooks: {
          draw: [(uu) => self.paint(uu)],
          setCursor: [(uu) => self.hover(uu)],
          setSelect: [(uu) => self.selected(uu)],
        },
      },
      this.uData(),
      this.root,
    ));
    this.root.append(this.tip);
    u.over.addEventListener('mousedown', () => {
      const l = u.cursor.left ?? -1;
      const t = u.cursor.top ?? -1;
      this.dragFrom = l >= 0 ? { t: u.posToVal(l, 'x'), v: u.posToVal(t, 'y') } : null;
    });
    u.over.addEventListener('mouseleave', () => (this.tip.hidden = true));
    this.ro = new ResizeObserver(() => {
      const w = Math.max(320, parent.clientWidth);
      if (opts.width === undefined && Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
    });
    this.ro.observe(parent);
    this.computeMax();
  }

  setData(data: HeatmapData): void {
    this.data = data;
    this.computeMax();
    this.u.setData(this.uData());
  }

  /** clears the drag selection rectangle and the marked cells */
  clearSelection(): void {
    this.u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.mark(null);
  }

  /**
   * Draws the cells whose start lies in [fromMs, toMs] as selected, in place of the drag's
   * rectangle: a selection in time order (FlameScope's) is not the rectangle the pointer drew.
   */
  mark(range: [number, number] | null): void {
    this.marked = range;
    if (range) this.u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    this.u.redraw(false);
  }

  get plot(): uPlot {
    return this.u;
  }

  destroy(): void {
    this.ro.disconnect();
    this.u.destroy();
    this.root.remove();
  }

  private uData(): uPlot.AlignedData {
    const xs = this.data.times.length ? this.data.times : [Date.now() / 1000];
    return [xs, xs.map(() => null)];
  }

  private computeMax(): void {
    let m = 0;
    for (const c of this.data.counts) if (c > m) m = c;
    this.max = m || 1;
  }

  private xRange(): uPlot.Range.MinMax {
    const t = this.data.times;
    if (!t.length) {
      const now = Date.now() / 1000;
      return [now - 60, now];
    }
    return [t[0], t[t.length - 1] + this.data.step];
  }

  private yRange(): uPlot.Range.MinMax {
    const rows = this.data.rows;
    if (!rows.length) return this.opts.log ? [1, 1000] : [0, 1];
    return [rows[0][0], rows[rows.length - 1][1]];
  }

  private paint(u: uPlot): void {
    const { times, rows, counts, step } = this.data;
    const R = rows.length;
    if (!R || !times.length) return;
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const ys = rows.map(([lo, hi]) => [u.valToPos(lo, 'y', true), u.valToPos(hi, 'y', true)]);
    for (let c = 0; c < times.length; c++) {
      const x0 = Math.round(u.valToPos(times[c], 'x', true));
      const x1 = Math.round(u.valToPos(times[c] + step, 'x', true));
      const off = c * R;
      for (let r = 0; r < R; r++) {
        const n = counts[off + r];
        if (!(n > 0)) continue;
        const y0 = Math.round(ys[r][0]);
        const y1 = Math.round(ys[r][1]);
        ctx.fillStyle = cellColor(n / this.max);
        ctx.fillRect(x0, y1, Math.max(1, x1 - x0 - 1), Math.max(1, y0 - y1));
      }
    }
    const cellTime = this.opts.cellTime;
    if (this.marked && cellTime) {
      const [from, to] = this.marked;
      ctx.fillStyle = 'rgba(40, 110, 220, 0.35)';
      for (let c = 0; c < times.length; c++) {
        const x0 = Math.round(u.valToPos(times[c], 'x', true));
        const x1 = Math.round(u.valToPos(times[c] + step, 'x', true));
        for (let r = 0; r < R; r++) {
          const at = cellTime(times[c], rows[r][0]);
          if (at < from || at > to) continue;
          const y0 = Math.round(ys[r][0]);
          const y1 = Math.round(ys[r][1]);
          ctx.fillRect(x0, y1, Math.max(1, x1 - x0 - 1), Math.max(1, y0 - y1));
        }
      }
    }
    ctx.restore();
  }

  private hover(u: uPlot): void {
    const l = u.cursor.left ?? -1;
    const t = u.cursor.top ?? -1;
    const { times, rows, counts, step } = this.data;
    if (l < 0 || t < 0 || !rows.length || !times.length) {
      this.tip.hidden = true;
      return;
    }
    const tx = u.posToVal(l, 'x');
    const v = u.posToVal(t, 'y');
    let c = -1;
    for (let i = 0; i < times.length; i++) if (tx >= times[i] && tx < times[i] + step) c = i;
    let r = -1;
    for (let i = 0; i < rows.length; i++) if (v >= rows[i][0] && v < rows[i][1]) r = i;
    if (c < 0 || r < 0) {
      this.tip.hidden = true;
      return;
    }
    const fmt = this.opts.fmtValue ?? defaultFmt;
    const off = c * rows.length;
    const n = counts[off + r];
    const lines = [
      new Date(times[c] * 1000).toLocaleTimeString('en-GB'),
      this.data.rowLabels?.[r] || `${fmt(rows[r][0])} – ${fmt(rows[r][1])}`,
      `${n.toLocaleString('en-US')} ${n === 1 ? (this.opts.countLabel ?? 'count').replace(/s$/, '') : (this.opts.countLabel ?? 'count')}`,
    ];
    if (this.opts.percentiles) {
      const p = (q: number): string => {
        const x = columnPercentile(rows, counts, off, q);
        return x === null ? '–' : '≤' + fmt(x);
      };
      lines.push(`column p50 ${p(0.5)} · p90 ${p(0.9)} · p99 ${p(0.99)}`);
    }
    this.tip.replaceChildren(...lines.map((s) => Object.assign(document.createElement('div'), { textContent: s })));
    this.tip.hidden = false;
    const ox = u.over.offsetLeft + l + 12;
    const oy = u.over.offsetTop + t + 12;
    const tw = this.tip.offsetWidth;
    this.tip.style.transform = `translate(${ox + tw > this.root.clientWidth ? ox - tw - 24 : ox}px, ${oy}px)`;
  }

  private selected(u: uPlot): void {
    const s = u.select;
    // a drag down one column (a range within one second) is a selection too
    if (!this.opts.onRange || (s.width < 2 && s.height < 2)) return;
    const cellTime = this.opts.cellTime ?? ((t: number) => t * 1000);
    const a = this.dragFrom ?? { t: u.posToVal(s.left, 'x'), v: u.posToVal(s.top + s.height, 'y') };
    // the corner diagonal to where the drag started
    const endLeft = Math.abs(u.valToPos(a.t, 'x') - s.left) < 2 ? s.left + s.width : s.left;
    const endTop = Math.abs(u.valToPos(a.v, 'y') - s.top) < 2 ? s.top + s.height : s.top;
    const snap = (t: number): number => {
      // to the start of the column the point is in
      for (const c of this.data.times) if (t >= c && t < c + this.data.step) return c;
      return t;
    };
    const from = cellTime(snap(a.t), a.v);
    const to = cellTime(snap(u.posToVal(endLeft, 'x')), u.posToVal(endTop, 'y'));
    this.dragFrom = null;
    this.opts.onRange([Math.round(Math.min(from, to)), Math.round(Math.max(from, to))]);
  }
}
