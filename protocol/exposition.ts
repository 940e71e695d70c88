// The Prometheus text exposition of points: a pure function of points and labels, shared by
// the server (the whole fleet) and the agent's own /metrics (its node), so both say the same
// thing. Written by hand rather than with prom-client gauges: each node's lines are rendered
// once when its samples arrive, so a scrape is only a concatenation — at 100k+ series that
// is the difference between milliseconds and seconds.
import { FAMILIES, PREFIX } from './families.js';
import type { Hello, Point, Zone } from './messages.js';

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** label names with a meaning of their own: the server's node, Prometheus' histogram and summary bounds */
const RESERVED = new Set(['node', 'le', 'quantile']);

// control characters other than \n (escaped) cannot be written in a label value at all
const NEEDS_ESCAPE = /[\\\n"\u0000-\u001f\u007f]/;

export function escapeLabel(v: string): string {
  // nearly every value needs nothing: one scan instead of three replaces (ingestion hot path)
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"').replace(/[\u0000-\u001f\u007f]/g, '\uFFFD');
}

// label names seen so far and whether they are usable; agents send a handful of names
const usable = new Map<string, boolean>();
const usableName = (k: string): boolean => {
  let ok = usable.get(k);
  if (ok === undefined) {
    ok = NAME.test(k) && !RESERVED.has(k) && !k.startsWith('__');
    if (usable.size < 10_000) usable.set(k, ok);
  }
  return ok;
};

/** `a="x",b="y"`; invalid label names are dropped rather than breaking the whole scrape. */
export function labelString(labels: Record<string, string>, leadingComma = false): string {
  let s = '';
  for (const k in labels) {
    if (!usableName(k)) continue;
    s += `,${k}="${escapeLabel(labels[k])}"`;
  }
  return leadingComma ? s : s.slice(1);
}

/** most series one node exposes per family (the rest are counted, not exposed) */
export const MAX_SERIES_PER_FAMILY = 10_000;

export const helpLines = (name: string, text: string, type: string) => `# HELP ${PREFIX}${name} ${text}\n# TYPE ${PREFIX}${name} ${type}\n`;

/**
 * One node's points as exposition text per family, ready to concatenate. Points of unknown
 * families, non-finite values, negative counters, repeated series (Prometheus refuses a
 * duplicate sample) and series over `maxSeriesPerFamily` or `maxSeries` in all are left out;
 * `dropped` is told about all but the repeats.
 */
export function renderPoints(
  node: string,
  points: readonly Point[],
  maxSeriesPerFamily: number,
  dropped: { unknownFamily(): void; invalid?(): void; overCap(family: string): void },
  maxSeries = Infinity,
): Map<string, string> {
  let total = 0;
  const out = new Map<string, string[]>();
  const seen = new Map<string, Set<string>>();
  const nodeLabel = `node="${escapeLabel(node)}"`;
  for (const p of points) {
    if (!Object.hasOwn(FAMILIES, p.f)) {
      dropped.unknownFamily();
      continue;
    }
    if (!Number.isFinite(p.v) || (p.v < 0 && FAMILIES[p.f as keyof typeof FAMILIES].type === 'counter')) {
      dropped.invalid?.();
      continue;
    }
    let lines = out.get(p.f);
    let series = seen.get(p.f);
    if (!lines || !series) {
      out.set(p.f, (lines = []));
      seen.set(p.f, (series = new Set()));
    }
    const labels = labelString(p.l, true);
    if (series.has(labels)) continue;
    if (lines.length >= maxSeriesPerFamily || total >= maxSeries) {
      dropped.overCap(p.f);
      continue;
    }
    total++;
    series.add(labels);
    lines.push(`${PREFIX}${p.f}{${nodeLabel}${labels}} ${p.v}\n`);
  }
  return new Map([...out].map(([f, lines]) => [f, lines.join('')]));
}

/** What the exposition needs to know of a node. */
export interface NodeExposition {
  node: string;
  up: boolean;
  lastSeen: number | null;
  hello: Hello;
  seq: { gaps: number };
  zones: readonly Zone[];
  /** renderPoints() of its latest frame */
  rendered: ReadonlyMap<string, string>;
}

/** Everything some nodes say, as exposition text. */
export function renderNodes(nodes: readonly NodeExposition[]): string {
  return nodePieces(nodes).join('');
}

/** Everything some nodes say, as pieces of exposition text in order: mostly each node's
 * pre-rendered text itself, so a server can write a whole fleet (tens of MiB) without ever
 * holding it as one string. */
export function nodePieces(nodes: readonly NodeExposition[]): string[] {
  const parts: string[] = [];
  parts.push(helpLines('agent_up', 'Whether the node\'s agent is connected (1) or not (0).', 'gauge'));
  for (const n of nodes) parts.push(`${PREFIX}agent_up{node="${escapeLabel(n.node)}"} ${n.up ? 1 : 0}\n`);
  const live = nodes.filter((n) => n.up);

  parts.push(helpLines('agent_last_seen_timestamp_seconds', 'When the agent last sent anything, in seconds since the epoch.', 'gauge'));
  for (const n of live) parts.push(`${PREFIX}agent_last_seen_timestamp_seconds{node="${escapeLabel(n.node)}"} ${(n.lastSeen ?? 0) / 1000}\n`);

  parts.push(helpLines('agent_info', 'Agent facts as labels; always 1.', 'gauge'));
  for (const n of live) {
    const h = n.hello;
    const l = labelString({ platform: h.platform, version: h.agentVersion, tracer: h.tracer.name, tracer_available: String(h.tracer.available), simulated: String(h.simulated) }, true);
    parts.push(`${PREFIX}agent_info{node="${escapeLabel(n.node)}"${l}} 1\n`);
  }

  parts.push(helpLines('agent_sample_gaps_total', 'Sample sequence numbers the server never received from the agent.', 'counter'));
  for (const n of live) parts.push(`${PREFIX}agent_sample_gaps_total{node="${escapeLabel(n.node)}"} ${n.seq.gaps}\n`);

  parts.push(helpLines('agent_samples_dropped_total', 'Sample frames the agent dropped from its buffer while disconnected.', 'counter'));
  for (const n of live) parts.push(`${PREFIX}agent_samples_dropped_total{node="${escapeLabel(n.node)}"} ${n.hello.dropped}\n`);

  parts.push(helpLines('zone_info', 'Zone facts as labels; always 1.', 'gauge'));
  for (const n of live) {
    for (const z of n.zones) {
      const l = labelString({ zone: z.name, alias: z.alias ?? '', brand: z.brand, state: z.state }, true);
      parts.push(`${PREFIX}zone_info{node="${escapeLabel(n.node)}"${l}} 1\n`);
    }
  }

  for (const [name, fam] of Object.entries(FAMILIES)) {
    // pushed piece by piece so the one join at the end copies each node's text once
    let headed = false;
    for (const n of live) {
      const body = n.rendered.get(name);
      if (!body) continue;
      if (!headed) parts.push(helpLines(name, fam.help, fam.type));
      headed = true;
      parts.push(body);
    }
  }
  return parts;
}
