// Trace: progress and stop, then the result in the view its output kind asks for — flame graph
// (with the subsecond heatmap to pick a time range, and a baseline range for differential
// colouring), latency heatmap, or table. Live: refreshes on every new interval.
import { api, can, ApiError, type Trace, type IntervalRecords } from '../api.js';
import type { TraceRecord } from '../../../protocol/records.js';
import { h, enc } from '../dom.js';
import { unitFormatter, fmtNs } from '../units.js';
import { FlameGraph } from '../flamegraph/index.js';
import { Heatmap } from '../heatmap/heatmap.js';
import { latencyHeatmap, subsecondHeatmap, intervalsCovering, intervalStepMs, histKeys, percentilesByKey, selectCells } from '../heatmap/build.js';
import { SortTable } from '../table.js';
import { statusBadge } from './zone.js';
import { processesPanel } from './trace-processes.js';
import { processOf } from '../../../protocol/folded.js';
import { outcomeBox, hasResult, plural } from './trace-outcome.js';
import { FlameCompanions } from './trace-functions.js';
import { parseFolded, toFoldedText, withRoot } from '../../../protocol/stacks.js';
import type { View } from '../app.js';

/** Folded stacks from stack records (leaf first, kernel frames first), kernel frames marked `_[k]`. */
export function foldRecords(records: readonly TraceRecord[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of records) {
    if (r.kind !== 'stack') continue;
    const frames = r.stack.map((f, i) => (i < r.kernel ? f + '_[k]' : f)).reverse();
    const k = frames.join(';');
    m.set(k, (m.get(k) ?? 0) + r.value);
  }
  return m;
}

function recordsTable(records: readonly TraceRecord[], unit?: string): HTMLElement {
  if (!records.length) return h('p.dim', 'No records yet.');
  const fv = unitFormatter(unit);
  // histogram bounds are in the trace's unit (nanoseconds for latency)
  const fb = unit === 'nanoseconds' ? fmtNs : (v: number) => v.toLocaleString('en-US');
  const rows = records.slice(0, 2000).map((r) => {
    switch (r.kind) {
      case 'scalar':
        return h('tr', h('td', r.agg), h('td', r.keys.join(', ')), h('td.num', fv(r.value)));
      case 'stats':
        return h('tr', h('td', r.agg), h('td', r.keys.join(', ')), h('td.num', `count ${r.count} · avg ${r.avg} · total ${r.total}`));
      case 'hist':
        return h('tr', h('td', r.agg), h('td', r.keys.join(', ')), h('td.num', r.buckets.filter((b) => b.count > 0).map((b) => `[${b.lo === null ? '-∞' : fb(b.lo)}, ${b.hi === null ? '∞' : fb(b.hi)}): ${b.count.toLocaleString('en-US')}`).join('  ') || 'empty'));
      case 'stack':
        return h('tr', h('td', r.agg), h('td', r.stack.slice(0, 4).join(' ← ') + (r.stack.length > 4 ? ' …' : '')), h('td.num', fv(r.value)));
      default:
        return h('tr', h('td', 'printf'), h('td', { colSpan: 2 }, r.text));
    }
  });
  return h(
    'div',
    h('table.grid', h('thead', h('tr', h('th', 'Aggregation'), h('th', 'Keys'), h('th', 'Value'))), h('tbody', ...rows)),
    records.length > 2000 ? h('p.dim', `Showing 2,000 of ${records.length} records.`) : null,
  );
}

export const traceView: View = (app, { id }, el) => {
  let stopped = false;
  let t: Trace | null = null;
  const head = h('div');
  const body = h('div.result');
  el.append(head, body);
  let fg: FlameGraph | null = null;
  let companions: FlameCompanions | null = null;
  let hm: Heatmap | null = null;
  let ivs: IntervalRecords[] = [];
  let range: [number, number] | null = null;
  /** the subsecond heatmap as drawn (a drag is measured on the same cells) */
  let sub = subsecondHeatmap([]);
  /** the range is exact slices (stacks keyed by time), not the whole intervals it touches */
  let sliced = false;
  let baseline: { folded: string; label: string } | null = null;
  const rangeOut = h('span.range');
  const selectionOut = h('p.selection.subsecond-part', { role: 'status' });
  let kind = '';

  // built once and updated in place: a live update must not take the focus off Stop
  const crumbs = h('p.crumbs');
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'progress' });
  const progressText = h('span');
  const stopBtn = h('button.stop', {
    type: 'button',
    hidden: true,
    onclick: () => {
      stopBtn.disabled = true;
      stopBtn.textContent = 'Stopping…';
      api.stopTrace(id).then(refresh, (e: Error) => {
        stopBtn.disabled = false;
        stopBtn.textContent = 'Stop';
        errOut.textContent = e.message;
      });
    },
  }, 'Stop');
  const errOut = h('p.error-text', { role: 'alert', hidden: true });
  const outcomeOut = h('div.outcome-box');
  const title = h('h1');
  // the outcome and its reasons first: what an on-call engineer needs before any chart
  head.append(crumbs, title, outcomeOut, h('p.progress-line', bar, ' ', progressText, ' ', stopBtn), errOut);
  let headFor = '';
  const secs = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))} s`;
  const clock = (ms: number): string => `${new Date(ms).toLocaleTimeString('en-GB')}.${String(ms % 1000).padStart(3, '0')}`;
  // slices from the one starting at `from` to the end of the one starting at `to`
  const spanLabel = (from: number, to: number): string => `${clock(from)}–${clock(to + 1)}`;

  const renderHead = (): void => {
    if (!t) return;
    if (headFor !== t.id) {
      headFor = t.id;
      crumbs.replaceChildren(h('a', { href: '#/' }, 'Fleet'), ' › ', h('a', { href: `#/node/${enc(t.node)}` }, t.node), ' › ', h('a', { href: `#/node/${enc(t.node)}/zone/${enc(t.zone)}` }, t.zone), ' › trace');
    }
    const live = t.status === 'starting' || t.status === 'running';
    title.replaceChildren(t.script, ' ', statusBadge(t));
    const params = Object.keys(t.params).length ? ` · ${Object.entries(t.params).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
    const ran = t.startedAt && t.endedAt ? t.endedAt - t.startedAt : null;
    let text: string;
    let value = t.progress;
    if (t.status === 'starting') {
      // the tracer can take a while to attach (bpftrace resolves symbols first): say how long
      text = `waiting for the tracer to start · ${secs(Date.now() - t.createdAt)} · ${t.durationS} s trace`;
    } else if (t.status === 'running') {
      text = `${(100 * t.progress).toFixed(0)}% of ${t.durationS} s`;
    } else if (t.status === 'done') {
      text = `finished · ${t.durationS} s`;
    } else {
      // a partial, stopped or failed trace did not run its whole duration, whatever progress says
      value = ran !== null ? Math.min(1, ran / 1000 / t.durationS) : 0;
      text = `${t.status} after ${ran !== null ? secs(ran) : 'less than an interval'} of ${t.durationS} s`;
    }
    bar.value = value;
    progressText.textContent = `${text} · ${plural(t.intervals, 'interval')}${params}`;
    stopBtn.hidden = !(live && can(app.me, 'operator'));
    outcomeOut.replaceChildren(outcomeBox(t));
  };
  // "waiting for the tracer · N s" counts up between live messages
  const ticker = setInterval(() => t?.status === 'starting' && renderHead(), 1000);

  const fetchFolded = async (r: [number, number] | null): Promise<string> => {
    try {
      return await api.folded(id, r?.[0], r?.[1]);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return ''; // no stacks (yet, or in that range)
      if (r || !t) throw e;
      // an older server without /folded: fold the merged records here
      return [...foldRecords(t.records)].map(([k, v]) => `${k} ${v}`).join('\n');
    }
  };

  let lastFolded = '';
  // the flame graph and its companions from the same stacks, after the process filter
  const showFlame = (): void => {
    if (!fg || !companions || !lastFolded) return;
    const processRoots = !!t?.records.some((r) => processOf(r));
    fg.setProcessRoots(processRoots);
    const all = parseFolded(lastFolded);
    const shown = companions.filter(all, processRoots);
    const p = companions.process;
    const base = baseline && p ? toFoldedText(withRoot(parseFolded(baseline.folded), p)) : baseline?.folded;
    fg.setData(shown === all ? lastFolded : toFoldedText(shown), base);
    companions.set(shown, processRoots);
  };

  const drawFlame = async (): Promise<void> => {
    if (!fg) return;
    const folded = await fetchFolded(range);
    if (stopped || !fg) return;
    // no stacks: no flame graph and so no export of nothing (a 0-byte file says nothing)
    const empty = folded.trim() === '';
    const box = body.querySelector<HTMLElement>('.flame');
    if (box) box.hidden = empty;
    if (companions) companions.el.hidden = empty;
    // an ended trace without stacks: no empty heatmap above the note either
    const ended = !!t && t.status !== 'starting' && t.status !== 'running';
    for (const e of body.querySelectorAll<HTMLElement>('.subsecond-part')) e.hidden = empty && ended && !range;
    const note = body.querySelector<HTMLElement>('.no-stacks');
    if (note) {
      note.hidden = !empty || !t || t.status === 'starting' || (t.status === 'running' && !range);
      note.textContent = range ? 'No stacks in this range.' : t?.status === 'failed' ? `No stacks to show or export: the trace failed${t.error ? ` (${t.error})` : ''}.` : 'No stacks to show or export: the trace recorded none.';
    }
    if (empty) return;
    lastFolded = folded;
    showFlame();
    // stacks keyed by time slice: the flame graph holds exactly the samples of the selected
    // cells. Without slices it can only show the whole intervals they touch — said, not hidden
    rangeOut.textContent = !range
      ? 'Showing the whole trace'
      : sliced
        ? `Showing the selected slices ${spanLabel(range[0], range[1])}`
        : `Showing the whole intervals ${new Date(range[0] - intervalStepMs(ivs)).toLocaleTimeString('en-GB')}–${new Date(range[1]).toLocaleTimeString('en-GB')} the selection touches (this trace's stacks are kept per interval)`;
    if (!range) selectionOut.textContent = '';
    if (baseline) rangeOut.textContent += ` · compared with ${baseline.label}`;
  };

  const setupFlame = (): void => {
    const hmBox = h('div.subsecond');
    const fgBox = h('div.flame');
    const whole = h('button', { type: 'button', onclick: () => ((range = null), hm?.clearSelection(), void drawFlame()) }, 'Whole trace');
    const setBase = h('button', {
      type: 'button',
      title: 'Colour the flame graph by change against the range shown now',
      onclick: async () => {
        const label = !range ? 'the whole trace' : sliced ? spanLabel(range[0], range[1]) : `${new Date(range[0]).toLocaleTimeString('en-GB')}–${new Date(range[1]).toLocaleTimeString('en-GB')}`;
        baseline = { folded: await fetchFolded(range), label };
        clearBase.hidden = false;
        void drawFlame();
      },
    }, 'Use as baseline');
    const clearBase = h('button', { type: 'button', hidden: true, onclick: () => ((baseline = null), (clearBase.hidden = true), void drawFlame()) }, 'Clear baseline');
    hmBox.classList.add('subsecond-part');
    const flameRow = h('div.row.subsecond-part', h('h2', 'Flame graph'), rangeOut, whole, setBase, clearBase);
    body.replaceChildren(
      h('h2.subsecond-part', 'Subsecond offsets'),
      h('p.dim.subsecond-part', 'Columns are seconds, rows are 20 ms slices of the second; drag from one cell to another to see the flame graph of exactly the samples in between.'),
      hmBox,
      flameRow,
      h('p.dim.no-stacks', { hidden: true }),
      fgBox,
      h('div.processes'),
    );
    // the global zone mixes every process of the host: its stacks start at their process
    fg = new FlameGraph(fgBox, { title: `${t!.script}-${id}`, maxHeight: 520, unit: t!.unit, fmtValue: unitFormatter(t!.unit), byProcess: t!.zone === 'global' });
    companions = new FlameCompanions({ unit: t!.unit, fmtValue: unitFormatter(t!.unit), flame: fg, onProcess: showFlame });
    companions.processSelect.hidden = true;
    flameRow.append(companions.processSelect);
    fgBox.after(companions.el);
    const imprecise = h('p.warn.imprecise', { hidden: true }, "This trace's stacks carry no time slices: each interval is drawn as one cell at its end, so ranges select whole intervals only.");
    hmBox.before(imprecise);
    hmBox.after(selectionOut);
    hm = new Heatmap(hmBox, (sub = subsecondHeatmap(ivs)), {
      height: 240,
      countLabel: 'samples',
      fmtValue: (v) => `${Math.round(v)} ms`,
      cellTime: (s, v) => s * 1000 + Math.max(0, Math.min(999, v)),
      onRange: ([a, b]) => {
        // say what the drag selected, and when it is nothing, say so instead of doing nothing
        const d = sub;
        const cells = selectCells(d, a, b);
        const r = d.precise ? ([cells.from, cells.to] as [number, number]) : intervalsCovering(ivs, a, b);
        const span = spanLabel(cells.from, cells.to);
        if (!cells.samples || !r) {
          selectionOut.textContent = `The selection ${span} holds no samples: drag across coloured cells.`;
          // the flame graph still shows the previous selection: so do the marked cells
          hm?.mark(range && sliced ? range : null);
          return;
        }
        // the cells in time order, not the rectangle the pointer drew
        hm?.mark([cells.from, cells.to]);
        selectionOut.textContent = `Selected ${span}: ${plural(cells.samples, 'sample')} in ${plural(cells.slices, 'slice')}.`;
        range = r;
        sliced = d.precise;
        void drawFlame();
      },
    });
  };

  // the latency view: one system call (or device) or all, the heatmap, percentiles per key
  let latencyKey: string | undefined;
  const keySelect = h('select.latency-key', {
    'aria-label': 'system call or device',
    onchange: () => {
      latencyKey = keySelect.value === '*' ? undefined : keySelect.value;
      drawLatency();
    },
  });
  // what a histogram's key is: the scripts key latency by system call or by device
  const keyWord = (): string => (t?.script === 'io-latency' ? 'Device' : 'System call');
  const latencyFmt = (): ((v: number) => string) | undefined => (t?.unit === 'nanoseconds' ? fmtNs : undefined);
  const drawLatency = (): void => {
    const keys = histKeys(ivs);
    const had = keySelect.value || '*';
    keySelect.replaceChildren(
      h('option', { value: '*' }, `All (${plural(keys.length, keyWord().toLowerCase())})`),
      ...keys.map((k) => h('option', { value: k.key, selected: k.key === had }, `${k.key || '(no key)'} — ${plural(k.count, 'event')}`)),
    );
    if (latencyKey !== undefined && !keys.some((k) => k.key === latencyKey)) latencyKey = undefined;
    keySelect.value = latencyKey ?? '*';
    const d = latencyHeatmap(ivs, latencyFmt(), latencyKey);
    hm?.setData(d);
  };
  const setupLatency = (): void => {
    const box = h('div.latency.latency-part');
    body.replaceChildren(
      h('div.row.latency-part', h('h2', 'Latency heatmap'), h('label', 'Show ', keySelect)),
      h('p.dim.latency-part', 'Columns are the trace\'s intervals on a regular grid, rows latency buckets (log scale); hover for the count and the column\'s p50, p90 and p99.'),
      box,
      h('h2', 'Percentiles (whole trace)'),
      h('div.records'),
    );
    const d = latencyHeatmap(ivs, latencyFmt(), latencyKey);
    hm = new Heatmap(box, d, { height: 320, log: true, percentiles: true, countLabel: 'events', title: d.aggs.join(', '), fmtValue: latencyFmt() });
  };

  /** Percentiles per system call or device instead of a dump of buckets; other records as they are. */
  const latencyTable = (records: readonly TraceRecord[]): HTMLElement => {
    const rows = percentilesByKey(records);
    if (!rows.length) return recordsTable(records, t?.unit);
    const fmt = latencyFmt() ?? ((v: number) => v.toLocaleString('en-US'));
    const le = (v: number | null): string => (v === null ? 'over the top bucket' : `≤ ${fmt(v)}`);
    const table = new SortTable<(typeof rows)[number]>(
      [
        { label: keyWord(), sort: (r) => r.key, cell: (r) => h('code', r.key || '(no key)') },
        { label: 'Events', sort: (r) => r.count, cell: (r) => r.count.toLocaleString('en-US'), cls: 'num' },
        { label: 'p50', sort: (r) => r.p50 ?? Infinity, cell: (r) => le(r.p50), cls: 'num' },
        { label: 'p90', sort: (r) => r.p90 ?? Infinity, cell: (r) => le(r.p90), cls: 'num' },
        { label: 'p99', sort: (r) => r.p99 ?? Infinity, cell: (r) => le(r.p99), cls: 'num' },
        { label: 'Slowest bucket', sort: (r) => r.max ?? Infinity, cell: (r) => le(r.max), cls: 'num' },
      ],
      () => true,
      'No latencies.',
      {
        sortBy: 1,
        descending: true,
        onRow: (r) => {
          latencyKey = r.key;
          drawLatency();
          keySelect.scrollIntoView({ block: 'nearest' });
        },
      },
    );
    table.set(rows);
    table.el.classList.add('percentiles');
    return h('div', table.el, h('p.dim', 'A percentile is the upper bound of the bucket it falls in. Click a row to see its heatmap.'));
  };

  const teardown = () => {
    fg?.destroy();
    hm?.destroy();
    companions?.destroy();
    fg = null;
    hm = null;
    companions = null;
  };
  const refreshResult = async (): Promise<void> => {
    if (!t) return;
    // a failed trace with nothing recorded: the outcome says why; no empty charts, no export
    if (!hasResult(t)) {
      teardown();
      kind = '';
      body.replaceChildren();
      return;
    }
    if (kind !== t.output) {
      kind = t.output;
      teardown();
      if (kind === 'flame') setupFlame();
      else if (kind === 'heatmap') setupLatency();
      else body.replaceChildren(h('h2', 'Records'), h('div.records'));
    }
    if (kind === 'flame' || kind === 'heatmap') {
      try {
        ivs = await api.intervals(id);
      } catch {
        ivs = [];
      }
      if (stopped) return;
      if (kind === 'flame') {
        const d = (sub = subsecondHeatmap(ivs));
        hm?.setData(d);
        const note = body.querySelector<HTMLElement>('.imprecise');
        if (note) note.hidden = d.precise || !ivs.length;
        await drawFlame();
      } else {
        drawLatency();
        // an ended trace without one latency: say so instead of an empty heatmap
        const none = t.status !== 'starting' && t.status !== 'running' && !ivs.some((iv) => iv.records.some((r) => r.kind === 'hist'));
        for (const e of body.querySelectorAll<HTMLElement>('.latency-part')) e.hidden = none;
      }
    }
    body.querySelector('.processes')?.replaceChildren(processesPanel(t.records, t.unit) ?? '');
    const rec = body.querySelector<HTMLElement>('.records');
    rec?.replaceChildren(kind === 'heatmap' ? latencyTable(t.records) : recordsTable(t.records, t.unit));
    if ((kind === 'flame' || kind === 'heatmap') && !ivs.length && t.records.length === 0) {
      body.querySelector('.waiting')?.remove();
      body.prepend(h('p.dim.waiting', t.status === 'starting' || t.status === 'running' ? 'Waiting for the first interval…' : 'The trace produced no data.'));
    } else body.querySelector('.waiting')?.remove();
  };

  let busy = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      t = await api.trace(id);
      if (stopped) return;
      renderHead();
      await refreshResult();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        stopped = true;
        el.replaceChildren(h('div.error', h('h2', `Unknown trace '${id}'`), h('p', e.message), h('p', h('a', { href: '#/' }, 'Back to the fleet'))));
      } else if (!stopped) {
        errOut.hidden = false;
        errOut.textContent = (e as Error).message;
      }
    } finally {
      busy = false;
      if (again && !stopped) {
        again = false;
        void refresh();
      }
    }
  };
  void refresh();
  const off = app.live.on((m) => {
    if (m.type === 'trace' && m.trace.id === id) void refresh();
  });
  return () => {
    stopped = true;
    clearInterval(ticker);
    off();
    fg?.destroy();
    hm?.destroy();
    companions?.destroy();
  };
};
