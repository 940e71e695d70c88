// A sortable table: click a header (or press Enter on it) to sort, again to reverse.
import { h } from './dom.js';

export interface Column<T> {
  label: string;
  sort?: (r: T) => string | number;
  cell: (r: T) => Node | string;
  cls?: string;
}

export class SortTable<T> {
  readonly el: HTMLTableElement;
  private body: HTMLTableSectionElement;
  private rows: T[] = [];
  private by = 0;
  private dir = 1;
  private heads: HTMLTableCellElement[];
  private onRow?: (r: T) => void;

  constructor(
    private cols: Column<T>[],
    private filter: (r: T) => boolean = () => true,
    private empty = 'Nothing to show.',
    opts: { sortBy?: number; descending?: boolean; onRow?: (r: T) => void } = {},
  ) {
    this.by = opts.sortBy ?? 0;
    this.dir = opts.descending ? -1 : 1;
    this.onRow = opts.onRow;
    this.heads = cols.map((c, i) => {
      const th = h('th', { scope: 'col', class: c.cls }, c.label);
      if (c.sort) {
        th.tabIndex = 0;
        th.classList.add('sortable');
        const go = (): void => {
          this.dir = this.by === i ? -this.dir : 1;
          this.by = i;
          this.render();
        };
        th.addEventListener('click', go);
        th.addEventListener('keydown', (e) => e.key === 'Enter' && go());
      }
      return th;
    });
    this.body = h('tbody');
    this.el = h('table.grid', h('thead', h('tr', ...this.heads)), this.body);
  }

  set(rows: T[]): void {
    this.rows = rows;
    this.render();
  }

  setFilter(f: (r: T) => boolean): void {
    this.filter = f;
    this.render();
  }

  render(): void {
    const c = this.cols[this.by];
    const key = c.sort;
    const rows = this.rows.filter(this.filter);
    if (key)
      rows.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        return (x < y ? -1 : x > y ? 1 : 0) * this.dir;
      });
    this.heads.forEach((th, i) => th.setAttribute('aria-sort', i === this.by ? (this.dir > 0 ? 'ascending' : 'descending') : 'none'));
    this.body.replaceChildren(
      ...(rows.length
        ? rows.map((r) => {
            const tr = h('tr', ...this.cols.map((col) => h('td', { class: col.cls }, col.cell(r))));
            const pick = this.onRow;
            if (pick) {
              // a row is a control: click or Enter
              tr.tabIndex = 0;
              tr.classList.add('pickable');
              tr.addEventListener('click', () => pick(r));
              tr.addEventListener('keydown', (e) => e.key === 'Enter' && pick(r));
            }
            return tr;
          })
        : [h('tr', h('td.empty', { colSpan: this.cols.length }, this.rows.length ? 'Nothing matches the filter.' : this.empty))]),
    );
  }
}
