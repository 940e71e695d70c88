// Under a trace's flame graph: a process filter (stacks rooted at their program), the top
// functions by self and total (sortable; a row picks the function: highlighted in the flame
// graph and opened in a sandwich), and the sandwich itself — the function's callers drawn down
// from it, its callees up from it, each merged over every place it is called.
import { h } from '../dom.js';
import { SortTable } from '../table.js';
import { FlameGraph } from '../flamegraph/index.js';
import { topFunctions, sandwich, roots, withRoot, type FunctionRow, type Stack } from '../../../protocol/stacks.js';

/** Rows shown in the table; the rest are counted. */
const MAX_ROWS = 300;

export interface CompanionOptions {
  unit?: string;
  fmtValue: (v: number) => string;
  /** the flame graph to highlight a picked function in */
  flame: FlameGraph;
  /** the process filter changed: redraw the flame graph from these stacks */
  onProcess: () => void;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export class FlameCompanions {
  readonly el: HTMLElement;
  readonly processSelect: HTMLSelectElement;
  private table: SortTable<FunctionRow>;
  private more = h('p.dim');
  private sandwichBox = h('section.sandwich', { hidden: true });
  private sandwichTitle = h('h2');
  private callers: FlameGraph;
  private callees: FlameGraph;
  private stacks: Stack[] = [];
  private total = 0;
  private skipRoot = false;
  private picked: string | null = null;

  constructor(private opts: CompanionOptions) {
    const pct = (v: number): string => (this.total > 0 ? `${((100 * v) / this.total).toFixed(1)}%` : '–');
    this.table = new SortTable<FunctionRow>(
      [
        { label: 'Function', sort: (r) => r.name, cell: (r) => h('code', { title: r.name }, r.name), cls: 'fn' },
        { label: 'Self', sort: (r) => r.self, cell: (r) => opts.fmtValue(r.self), cls: 'num self' },
        { label: 'Self %', sort: (r) => r.self, cell: (r) => pct(r.self), cls: 'num' },
        { label: 'Total', sort: (r) => r.total, cell: (r) => opts.fmtValue(r.total), cls: 'num total' },
        { label: 'Total %', sort: (r) => r.total, cell: (r) => pct(r.total), cls: 'num' },
      ],
      () => true,
      'No functions.',
      { sortBy: 1, descending: true, onRow: (r) => this.pick(r.name) },
    );
    this.processSelect = h('select.process-filter', { 'aria-label': 'process', onchange: () => opts.onProcess() });
    const close = h('button', { type: 'button', onclick: () => this.pick(null) }, 'Close');
    const callersBox = h('div.sandwich-callers');
    const calleesBox = h('div.sandwich-callees');
    this.sandwichBox.append(
      h('div.row', this.sandwichTitle, close),
      h('p.dim', 'Callers (who calls it, down to the root) above, callees (what it calls) below; each merged over every place the function appears.'),
      h('h3', 'Callers'),
      callersBox,
      h('h3', 'Callees'),
      calleesBox,
    );
    this.callers = new FlameGraph(callersBox, { inverted: true, maxHeight: 260, unit: opts.unit, fmtValue: opts.fmtValue, globalKeys: false, title: 'callers' });
    this.callees = new FlameGraph(calleesBox, { maxHeight: 260, unit: opts.unit, fmtValue: opts.fmtValue, globalKeys: false, title: 'callees' });
    this.el = h('div.flame-companions', this.sandwichBox, h('h2', 'Top functions'), h('p.dim', 'Click a header to sort, a row to see the function in the flame graph and in a sandwich.'), h('div.top-functions', this.table.el), this.more);
  }

  /** The process chosen in the filter, or null for all. */
  get process(): string | null {
    return this.processSelect.value || null;
  }

  /** Stacks after the process filter; `processRoots`: their first frame is their program. */
  filter(stacks: Stack[], processRoots: boolean): Stack[] {
    this.processSelect.hidden = !processRoots;
    if (!processRoots) return stacks;
    const had = this.processSelect.value;
    const rs = roots(stacks);
    this.processSelect.replaceChildren(
      h('option', { value: '' }, `All processes (${rs.length})`),
      ...rs.map((r) => h('option', { value: r.name, selected: r.name === had }, `${r.name} — ${this.opts.fmtValue(r.value)}`)),
    );
    return had && rs.some((r) => r.name === had) ? withRoot(stacks, had) : stacks;
  }

  set(stacks: Stack[], processRoots: boolean): void {
    this.stacks = stacks;
    this.skipRoot = processRoots;
    this.total = stacks.reduce((a, s) => a + s.value, 0);
    const all = topFunctions(stacks, processRoots).sort((a, b) => b.total - a.total);
    this.table.set(all.slice(0, MAX_ROWS));
    this.more.textContent = all.length > MAX_ROWS ? `${all.length - MAX_ROWS} more functions (the smallest by total) not listed.` : '';
    if (this.picked) this.drawSandwich(this.picked);
  }

  /** Picks a function (or none): highlighted in the flame graph, its sandwich shown. */
  pick(name: string | null): void {
    this.picked = name;
    this.opts.flame.setSearch(name ? `^${escapeRe(name)}$` : '');
    if (!name) {
      this.sandwichBox.hidden = true;
      return;
    }
    this.drawSandwich(name);
    this.sandwichBox.scrollIntoView({ block: 'nearest' });
  }

  private drawSandwich(name: string): void {
    const s = sandwich(this.stacks, name, this.skipRoot);
    this.sandwichBox.hidden = false;
    this.sandwichTitle.textContent = `Sandwich: ${name} — ${this.opts.fmtValue(s.total)}`;
    this.callers.setData(s.callers);
    this.callees.setData(s.callees);
  }

  destroy(): void {
    this.callers.destroy();
    this.callees.destroy();
  }
}
