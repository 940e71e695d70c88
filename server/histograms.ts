// Tracer histograms as Prometheus histograms. Each interval's buckets are added to counters
// the server keeps, so a restarted tracer (its aggregation starts from zero) never makes a
// series go backwards; only a server restart resets them, which Prometheus sees as a reset.
//
// Bounds: a tracer bucket [lo, hi) of integer values (nanoseconds) holds v with lo <= v < hi,
// which for integers is v <= hi - 1. Prometheus buckets are inclusive (v <= le), so the bucket
// maps exactly to le = (hi - 1) * scale. An open top bucket (hi = +Inf) counts only in +Inf.
import type { HistRecord } from '../protocol/records.js';
import { escapeLabel } from '../protocol/exposition.js';

interface Series {
  node: string;
  zone: string;
  labels: string;
  /** hi bound (tracer units) → count of values below it and at or above the previous bound */
  buckets: Map<number, number>;
  overflow: number;
  count: number;
  sum: number;
  hasSum: boolean;
}

export interface HistogramOptions {
  name: string;
  help: string;
  /** names for the record's keys, in order (e.g. ['syscall']) */
  keyLabels: string[];
  /** tracer unit → Prometheus base unit (ns → s: 1e-9) */
  scale: number;
  /** most series per node; the excess is counted in `dropped` */
  maxSeriesPerNode: number;
}

export class HistogramFamily {
  private readonly series = new Map<string, Series>();
  private readonly perNode = new Map<string, number>();
  dropped = 0;

  constructor(readonly o: HistogramOptions) {}

  /** Add one interval's histogram for (node, zone); `sum` when the script also sums values. */
  add(node: string, zone: string, rec: HistRecord, sum?: number): void {
    const labels = [`zone="${escapeLabel(zone)}"`, ...this.o.keyLabels.map((k, i) => `${k}="${escapeLabel(String(rec.keys[i] ?? ''))}"`)].join(',');
    const id = `${node}\u0000${labels}`;
    let s = this.series.get(id);
    if (!s) {
      const n = this.perNode.get(node) ?? 0;
      if (n >= this.o.maxSeriesPerNode) {
        this.dropped++;
        return;
      }
      this.perNode.set(node, n + 1);
      s = { node, zone, labels, buckets: new Map(), overflow: 0, count: 0, sum: 0, hasSum: false };
      this.series.set(id, s);
    }
    for (const b of rec.buckets) {
      if (b.count <= 0) continue;
      s.count += b.count;
      if (b.hi === null) s.overflow += b.count;
      else s.buckets.set(b.hi, (s.buckets.get(b.hi) ?? 0) + b.count);
    }
    if (sum !== undefined) {
      s.sum += sum;
      s.hasSum = true;
    }
  }

  /** Forget a node (it left the fleet): its series leave the exposition. */
  dropNode(node: string): void {
    for (const [id, s] of this.series) if (s.node === node) this.series.delete(id);
    this.perNode.delete(node);
  }

  /** `only`: one node's series; `keep`: the zones a tenant's scrape may see */
  render(only?: string, keep?: (node: string, zone: string) => boolean): string {
    const { name, help, scale } = this.o;
    let out = '';
    for (const s of this.series.values()) {
      if (only !== undefined && s.node !== only) continue;
      if (keep && !keep(s.node, s.zone)) continue;
      const base = `node="${escapeLabel(s.node)}",${s.labels}`;
      let cum = 0;
      for (const hi of [...s.buckets.keys()].sort((a, b) => a - b)) {
        cum += s.buckets.get(hi)!;
        out += `${name}_bucket{${base},le="${fmt((hi - 1) * scale)}"} ${cum}\n`;
      }
      out += `${name}_bucket{${base},le="+Inf"} ${s.count}\n`;
      // without a summed aggregation the exact sum is unknown: the bucket midpoints would be
      // a guess, so _sum is only exported when the script provides it
      if (s.hasSum) out += `${name}_sum{${base}} ${fmt(s.sum * scale)}\n`;
      out += `${name}_count{${base}} ${s.count}\n`;
    }
    return out ? `# HELP ${name} ${help}\n# TYPE ${name} histogram\n${out}` : '';
  }
}

function fmt(v: number): string {
  // shortest exact form: 1e-9 scaling makes long decimals; Prometheus parses either
  return String(Number(v.toPrecision(12)));
}
