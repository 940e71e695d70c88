// Zone charts on uPlot from /history. Counters arrive cumulative and become per-second rates
// here; a chart is drawn only for the series the zone actually has.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { History } from './api.js';
import { h, fmtBytes } from './dom.js';
import { rate, findGaps, type Gap } from './chart-gaps.js';
import { timeTicks, TIME_SPACE } from './time-axis.js';

export interface ChartDef {
  title: string;
  /** family names (without labels); a series is included if its family is listed */
  families: string[];
  rate?: boolean;
  unit: 'cpus' | 'bytes' | 'bytes/s' | '/s' | 'count';
  /** draw these series as spikes (events) */
  events?: boolean;
}

export const ZONE_CHARTS: ChartDef[] = [
  { title: 'CPU (user / system)', families: ['zone_cpu_seconds_total', 'zone_cpu_usage_seconds_total'], rate: true, unit: 'cpus' },
  { title: 'CPU cap', families: ['zone_cpu_cap_ratio', 'zone_cpu_cap_baseline_ratio'], unit: 'cpus' },
  { title: 'Memory vs limit', families: ['zone_memory_rss_bytes', 'zone_memory_limit_bytes', 'zone_swap_bytes', 'zone_swap_limit_bytes'], unit: 'bytes' },
  {
    title: 'Over limit / paged out',
    families: ['zone_memory_over_limit_total', 'zone_memory_pagedout_bytes_total', 'zone_oom_total', 'zone_oom_kills_total', 'zone_memory_anon_alloc_failures_total'],
    rate: true,
    unit: '/s',
    events: true,
  },
  { title: 'VFS / IO bytes', families: ['zone_vfs_read_bytes_total', 'zone_vfs_written_bytes_total', 'zone_zfs_read_bytes_total', 'zone_zfs_written_bytes_total'], rate: true, unit: 'bytes/s' },
  { title: 'VFS / IO operations', families: ['zone_vfs_reads_total', 'zone_vfs_writes_total', 'zone_zfs_reads_total', 'zone_zfs_writes_total'], rate: true, unit: '/s' },
  { title: 'Network', families: ['zone_net_receive_bytes_total', 'zone_net_transmit_bytes_total'], rate: true, unit: 'bytes/s' },
  { title: 'ZFS used vs quota', families: ['zfs_dataset_used_bytes', 'zfs_dataset_quota_bytes'], unit: 'bytes' },
  // the host (the global zone's page): the server files host points under the zone "global"
  { title: 'Load average (host)', families: ['node_load1', 'zone_load1'], unit: 'count' },
  { title: 'Network (host)', families: ['node_net_receive_bytes_total', 'node_net_transmit_bytes_total'], rate: true, unit: 'bytes/s' },
  { title: 'Disk (host)', families: ['node_disk_read_bytes_total', 'node_disk_written_bytes_total'], rate: true, unit: 'bytes/s' },
  { title: 'ZFS ARC size', families: ['zfs_arc_size_bytes', 'zfs_arc_target_bytes', 'zfs_arc_max_bytes'], unit: 'bytes' },
  { title: 'ZFS ARC hits / misses', families: ['zfs_arc_hits_total', 'zfs_arc_misses_total'], rate: true, unit: '/s' },
];

/** What a legend calls a family: words, not metric names (the unit follows in the legend). */
const NAMES: Record<string, string> = {
  zone_cpu_seconds_total: 'CPU',
  zone_cpu_usage_seconds_total: 'CPU, all modes',
  zone_cpu_cap_ratio: 'CPU cap',
  zone_cpu_cap_baseline_ratio: 'CPU cap baseline',
  zone_memory_rss_bytes: 'Resident memory',
  zone_memory_limit_bytes: 'Memory limit',
  zone_swap_bytes: 'Swap',
  zone_swap_limit_bytes: 'Swap limit',
  zone_memory_over_limit_total: 'Over limit',
  zone_memory_pagedout_bytes_total: 'Paged out',
  zone_oom_total: 'Out of memory',
  zone_oom_kills_total: 'OOM kills',
  zone_memory_anon_alloc_failures_total: 'Failed allocations',
  zone_vfs_read_bytes_total: 'VFS read',
  zone_vfs_written_bytes_total: 'VFS written',
  zone_zfs_read_bytes_total: 'ZFS read',
  zone_zfs_written_bytes_total: 'ZFS written',
  zone_vfs_reads_total: 'VFS reads',
  zone_vfs_writes_total: 'VFS writes',
  zone_zfs_reads_total: 'ZFS reads',
  zone_zfs_writes_total: 'ZFS writes',
  zone_net_receive_bytes_total: 'Received',
  zone_net_transmit_bytes_total: 'Sent',
  zfs_dataset_used_bytes: 'Used',
  zfs_dataset_quota_bytes: 'Quota',
  node_load1: 'Load, 1 min',
  zone_load1: 'Zone load, 1 min',
  node_net_receive_bytes_total: 'Received',
  node_net_transmit_bytes_total: 'Sent',
  node_disk_read_bytes_total: 'Read',
  node_disk_written_bytes_total: 'Written',
  zfs_arc_size_bytes: 'ARC size',
  zfs_arc_target_bytes: 'ARC target',
  zfs_arc_max_bytes: 'ARC maximum',
  zfs_arc_hits_total: 'Hits',
  zfs_arc_misses_total: 'Misses',
};

/** the unit as a legend and an axis say it */
const UNIT_WORD: Record<ChartDef['unit'], string> = { cpus: 'CPUs', bytes: 'bytes', 'bytes/s': 'bytes/s', '/s': 'per second', count: '' };

export const familyOf = (key: string): string => {
  const i = key.indexOf('{');
  return i < 0 ? key : key.slice(0, i);
};

/** tick steps for byte axes: 1, 2, 5… of B, KiB, MiB, GiB, TiB, so ticks read "2 GiB", not "1.9 GiB" */
const BYTE_INCRS: number[] = [];
for (let p = 1; p <= 1024 ** 4; p *= 1024) for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) BYTE_INCRS.push(m * p);

/** a series' own unit: a bytes counter among event counters ("paged out") is bytes/s, not /s */
function seriesUnit(def: ChartDef, key: string): ChartDef['unit'] {
  return def.unit === '/s' && /_bytes/.test(familyOf(key)) ? 'bytes/s' : def.unit;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function fmtUnit(unit: ChartDef['unit'], v: number | null): string {
  if (v === null || v === undefined) return '–';
  if (unit === 'bytes') return fmtBytes(v);
  if (unit === 'bytes/s') return fmtBytes(v) + '/s';
  if (unit === 'cpus') return `${v.toFixed(2)} CPUs`;
  if (unit === '/s') return (+v.toPrecision(3)).toString() + '/s';
  return String(+v.toPrecision(4));
}

/** "CPU user (CPUs)", "Received net0 (bytes/s)": the family's name, its labels' values, the unit. */
export function legendLabel(key: string, unit: ChartDef['unit']): string {
  const f = familyOf(key);
  const labels = key.slice(f.length).replace(/^\{(.*)\}$/, '$1');
  const values = labels ? labels.split(',').map((kv) => kv.slice(kv.indexOf('=') + 1).replace(/"/g, '')) : [];
  const name = NAMES[f] ?? f.replace(/^zone_|^zfs_dataset_|^node_/, '').replace(/_total$|_bytes$|_seconds$/g, '').replace(/_/g, ' ');
  const word = UNIT_WORD[unit];
  return [name, ...values].join(' ') + (word ? ` (${word})` : '');
}

/** uPlot plugin: shades each gap and says its reason while the cursor is over it. */
function gapsPlugin(gaps: Gap[], tip: HTMLElement): uPlot.Plugin {
  return {
    hooks: {
      drawClear: (u: uPlot) => {
        const { ctx } = u;
        const { top, height } = u.bbox;
        ctx.save();
        ctx.fillStyle = 'rgba(120, 120, 120, 0.13)';
        for (const g of gaps) {
          const x0 = u.valToPos(g.from / 1000, 'x', true);
          const x1 = u.valToPos(g.to / 1000, 'x', true);
          if (x1 > x0) ctx.fillRect(x0, top, x1 - x0, height);
        }
        ctx.restore();
      },
      // the pointer itself, not uPlot's cursor (which snaps to data points, and there are none in a gap)
      init: (u: uPlot) => {
        const clock = (ms: number): string => new Date(ms).toLocaleTimeString('en-GB');
        u.over.addEventListener('mousemove', (e) => {
          const t = u.posToVal(e.offsetX, 'x') * 1000;
          const g = gaps.find((x) => t >= x.from && t <= x.to);
          tip.hidden = !g;
          if (!g) return;
          tip.textContent = `Gap ${clock(g.from)}–${clock(g.to)}: ${g.reason}`;
          tip.style.left = `${Math.min(u.over.offsetLeft + e.offsetX + 12, Math.max(0, u.over.offsetLeft + u.over.clientWidth - 320))}px`;
        });
        u.over.addEventListener('mouseleave', () => (tip.hidden = true));
      },
    },
  };
}

/** Draws every chart that has data into `el`; returns the uPlot instances (for cleanup). */
export function drawCharts(el: HTMLElement, hist: History, width: number, windowS: number): uPlot[] {
  const now = Date.now() / 1000;
  const plots: uPlot[] = [];
  const keys = Object.keys(hist.series);
  const xs = hist.times.map((t) => t / 1000);
  const intervalS = hist.intervalS;
  for (const def of ZONE_CHARTS) {
    const mine = keys.filter((k) => def.families.includes(familyOf(k)));
    // prefer the user/system split over the all-modes total when both exist
    const split = mine.filter((k) => familyOf(k) === 'zone_cpu_seconds_total');
    const use = split.length ? mine.filter((k) => familyOf(k) !== 'zone_cpu_usage_seconds_total') : mine;
    const data = use
      .map((k) => ({ k, v: def.rate && familyOf(k).endsWith('_total') ? rate(hist.times, hist.series[k], intervalS) : hist.series[k] }))
      .filter((s) => s.v.some((x) => x !== null));
    if (!data.length) continue;
    const tip = h('div.gap-tip', { role: 'tooltip', hidden: true });
    const box = h('figure.chart', h('figcaption', def.title));
    el.append(box);
    const gaps = intervalS ? findGaps(hist.times, data.map((d) => d.v), intervalS, hist.events) : [];
    const units = data.map(({ k }) => seriesUnit(def, k));
    // a second unit gets its own scale and an axis on the right
    const other = units.find((x) => x !== def.unit);
    const yRange = (unit: ChartDef['unit']) => (_u: uPlot, lo: number | null, hi: number | null): uPlot.Range.MinMax =>
      [Math.min(0, lo ?? 0), Math.max(hi ?? 1, unit === 'cpus' ? 0.1 : unit.startsWith('bytes') ? 1024 : 1)];
    // (uPlot copies keys as given: an explicit undefined would wipe a default)
    const axis = (unit: ChartDef['unit'], scale: string, right = false): uPlot.Axis => ({
      scale,
      size: 78,
      label: UNIT_WORD[unit] || undefined,
      labelSize: 18,
      values: (_u, splits) => splits.map((v) => (unit === 'cpus' ? (+v.toFixed(2)).toString() : fmtUnit(unit, v))),
      ...(right ? { side: 1, grid: { show: false } } : {}),
      ...(unit.startsWith('bytes') ? { incrs: BYTE_INCRS } : {}),
    });
    const u = new uPlot(
      {
        width,
        height: 180,
        plugins: [gapsPlugin(gaps, tip)],
        // the window, or less when the history is shorter: a new zone's minute of data is not
        // squeezed into the last pixels of a 15-minute axis (the time labels say the span)
        scales: {
          x: { time: true, range: () => [Math.max(now - windowS, xs[0] ?? now - windowS), Math.max(now, xs[xs.length - 1] ?? now)] },
          y: { range: yRange(def.unit) },
          ...(other ? { y2: { range: yRange(other) } } : {}),
        },
        axes: [{ space: TIME_SPACE, values: timeTicks }, axis(def.unit, 'y'), ...(other ? [axis(other, 'y2', true)] : [])],
        series: [
          // samples come every few seconds: the legend's time needs seconds
          { value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? '–' : new Date(v * 1000).toLocaleTimeString('en-GB')) },
          ...data.map(({ k }, i) => ({
            label: legendLabel(k, units[i]),
            scale: units[i] === def.unit ? 'y' : 'y2',
            stroke: COLORS[i % COLORS.length],
            width: 1.5,
            // a hole stays a hole: never a line drawn across it
            spanGaps: false,
            dash: /limit|quota|cap_ratio|baseline|target|max_bytes/.test(k) ? [6, 4] : undefined,
            paths: def.events ? uPlot.paths.bars!({ size: [0.6, 6] }) : undefined,
            fill: def.events ? COLORS[i % COLORS.length] + '88' : undefined,
            value: (_u: uPlot, v: number | null) => fmtUnit(units[i], v),
          })),
        ],
        cursor: { drag: { x: true, y: false } },
      },
      [xs, ...data.map((d) => d.v)] as uPlot.AlignedData,
      box,
    );
    box.append(tip);
    box.dataset.gaps = String(gaps.length);
    plots.push(u);
  }
  if (!plots.length) el.append(h('p.dim', 'No samples for this zone in this window yet.'));
  return plots;
}
