// The trace page's "Top processes": which processes the stacks of a trace belong to, by their
// share of the samples (or bytes, or time). Stack records say their process when their keys
// are [pid, comm] (protocol/folded.ts processOf).
import type { TraceRecord } from '../../../protocol/records.js';
import { processOf } from '../../../protocol/folded.js';
import { h } from '../dom.js';
import { unitFormatter } from '../units.js';

export interface ProcessShare {
  pid: number;
  comm: string;
  value: number;
}

/** Processes by the sum of their stacks' values, largest first; at most n. */
export function topProcesses(records: readonly TraceRecord[], n = 10): { top: ProcessShare[]; total: number; count: number } {
  const by = new Map<number, ProcessShare>();
  let total = 0;
  for (const r of records) {
    const p = processOf(r);
    if (!p || r.kind !== 'stack') continue;
    total += r.value;
    const had = by.get(p.pid);
    if (had) had.value += r.value;
    else by.set(p.pid, { pid: p.pid, comm: p.comm, value: r.value });
  }
  const all = [...by.values()].sort((a, b) => b.value - a.value || a.pid - b.pid);
  return { top: all.slice(0, n), total, count: all.length };
}

/** The table, or null when the trace's stacks do not say their process (DTrace, older agents). */
export function processesPanel(records: readonly TraceRecord[], unit?: string): HTMLElement | null {
  const { top, total, count } = topProcesses(records);
  if (!top.length) return null;
  const fv = unitFormatter(unit);
  const share = (v: number) => (total > 0 ? `${((100 * v) / total).toFixed(1)}%` : '–');
  return h(
    'div.top-processes',
    h('h2', 'Top processes'),
    h(
      'table.grid',
      h('thead', h('tr', h('th', 'Program'), h('th.num', 'PID'), h('th.num', 'Value'), h('th.num', 'Share'))),
      h('tbody', ...top.map((p) => h('tr', h('td', p.comm), h('td.num', p.pid), h('td.num', fv(p.value)), h('td.num', share(p.value))))),
    ),
    count > top.length ? h('p.dim', `${count - top.length} more processes not shown.`) : null,
  );
}
