// The Prometheus text exposition of the fleet. Written by hand rather than with prom-client
// gauges: each node's lines are rendered once when its samples arrive, so a scrape is only a
// concatenation — at 100k+ series that is the difference between milliseconds and seconds.
import { FAMILIES, PREFIX } from '../protocol/families.js';
import type { Fleet } from './fleet.js';

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const NEEDS_ESCAPE = /[\\\n"]/;

export function escapeLabel(v: string): string {
  // nearly every value needs nothing: one scan instead of three replaces (ingestion hot path)
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

// label names seen so far and whether they are usable; agents send a handful of names
const usable = new Map<string, boolean>();
const usableName = (k: string): boolean => {
  let ok = usable.get(k);
  if (ok === undefined) {
    ok = NAME.test(k) && k !== 'node' && !k.startsWith('__');
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

const help = (name: string, text: string, type: string) => `# HELP ${PREFIX}${name} ${text}\n# TYPE ${PREFIX}${name} ${type}\n`;

/** Everything the fleet says, as exposition text (without the server's own metrics). */
export function renderFleet(fleet: Fleet, only?: string): string {
  const parts: string[] = [];
  const nodes = [...fleet.nodes.values()].filter((n) => only === undefined || n.node === only);

  parts.push(help('agent_up', 'Whether the node\'s agent is connected (1) or not (0).', 'gauge'));
  for (const n of nodes) parts.push(`${PREFIX}agent_up{node="${escapeLabel(n.node)}"} ${n.up ? 1 : 0}\n`);
  const live = nodes.filter((n) => n.up);

  parts.push(help('agent_last_seen_timestamp_seconds', 'When the agent last sent anything, in seconds since the epoch.', 'gauge'));
  for (const n of live) parts.push(`${PREFIX}agent_last_seen_timestamp_seconds{node="${escapeLabel(n.node)}"} ${(n.lastSeen ?? 0) / 1000}\n`);

  parts.push(help('agent_info', 'Agent facts as labels; always 1.', 'gauge'));
  for (const n of live) {
    const h = n.hello;
    const l = labelString({ platform: h.platform, version: h.agentVersion, tracer: h.tracer.name, tracer_available: String(h.tracer.available), simulated: String(h.simulated) }, true);
    parts.push(`${PREFIX}agent_info{node="${escapeLabel(n.node)}"${l}} 1\n`);
  }

  parts.push(help('agent_sample_gaps_total', 'Sample sequence numbers the server never received from the agent.', 'counter'));
  for (const n of live) parts.push(`${PREFIX}agent_sample_gaps_total{node="${escapeLabel(n.node)}"} ${n.seq.gaps}\n`);

  parts.push(help('agent_samples_dropped_total', 'Sample frames the agent dropped from its buffer while disconnected.', 'counter'));
  for (const n of live) parts.push(`${PREFIX}agent_samples_dropped_total{node="${escapeLabel(n.node)}"} ${n.hello.dropped}\n`);

  parts.push(help('zone_info', 'Zone facts as labels; always 1.', 'gauge'));
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
      if (!headed) parts.push(help(name, fam.help, fam.type));
      headed = true;
      parts.push(body);
    }
  }

  if (only !== undefined) return parts.join('');
  return parts.join('') + renderDropped(fleet);
}

/** What the caps cost: part of the server's own metrics. */
export function renderDropped(fleet: Fleet): string {
  let out = help('series_dropped_total', 'Series not exposed because a node went over the per-family series cap.', 'counter');
  for (const [family, count] of fleet.seriesDropped) out += `${PREFIX}series_dropped_total{family="${escapeLabel(family)}"} ${count}\n`;
  return out;
}
