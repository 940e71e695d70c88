// Fleet: every node (up or down) and every zone, sortable, filterable, live. A tenant (a token
// scoped to an owner) sees only its zones.
import { api, ApiError, type NodeInfo, type ZoneInfo } from '../api.js';
import { h, fmtAgo, fmtBytes, enc } from '../dom.js';
import { SortTable } from '../table.js';
import type { View } from '../app.js';
import { healthCell, healthRank, healthPanel, plural } from '../health.js';

interface ZoneRow extends ZoneInfo {
  node: string;
}

const cpu = (z: ZoneInfo): string => (z.cpuRatio === undefined ? '–' : `${z.cpuRatio.toFixed(2)} CPUs`);

export function memCell(used?: number, limit?: number): HTMLElement {
  if (used === undefined) return h('span', '–');
  if (!limit) return h('span', fmtBytes(used), h('span.dim', ' / unlimited'));
  const f = used / limit;
  return h(
    'span.mem',
    h('span', `${fmtBytes(used)} / ${fmtBytes(limit)}`),
    h('span.bar', { title: `${(100 * f).toFixed(0)}% of limit` }, h('span', { style: `width:${Math.min(100, 100 * f).toFixed(0)}%`, class: f >= 0.9 ? 'hot' : '' })),
  );
}

/** "bpftrace ✓" only when every script can run; otherwise how many can (the node page says why). */
function tracerText(n: NodeInfo): string {
  const s = n.tracer.scripts;
  if (!n.tracer.available) return `${n.tracer.name} (unavailable)`;
  return s && s.available < s.total ? `${n.tracer.name} ✓ ${s.available}/${s.total} scripts` : `${n.tracer.name} ✓`;
}
const tracerTitle = (n: NodeInfo): string => (n.tracer.scripts ? `${n.tracer.scripts.available} of ${n.tracer.scripts.total} trace scripts can run on this node` : '');

function nodeCols(): ConstructorParameters<typeof SortTable<NodeInfo>>[0] {
  return [
    { label: 'Node', sort: (n) => n.node, cell: (n) => h('a', { href: `#/node/${enc(n.node)}` }, n.node) },
    { label: 'Host', sort: (n) => n.hostname, cell: (n) => n.hostname },
    { label: 'State', sort: (n) => (n.up ? 1 : 0), cell: (n) => h(n.up ? 'span.up' : 'span.down', n.up ? 'up' : 'down') },
    { label: 'Data', sort: (n) => healthRank(n), cell: (n) => healthCell(n), cls: 'health-col' },
    { label: 'Last seen', sort: (n) => n.lastSeen ?? 0, cell: (n) => h('span', { title: n.lastSeen ? new Date(n.lastSeen).toISOString() : '' }, fmtAgo(n.lastSeen)) },
    {
      label: 'Platform',
      sort: (n) => n.platform,
      cell: (n) => h('span', n.platform, n.simulated ? h('span.badge.sim', { title: 'illumos commands are simulated on this node' }, 'simulated') : null),
    },
    {
      label: 'Tracer',
      sort: (n) => (n.tracer.available ? 1 : 0),
      cell: (n) => h(n.tracer.available ? 'span' : 'span.dim', { title: tracerTitle(n) }, tracerText(n)),
    },
    { label: 'Zones', sort: (n) => n.zoneCount, cell: (n) => String(n.zoneCount), cls: 'num' },
    { label: 'Agent', sort: (n) => n.agentVersion, cell: (n) => n.agentVersion },
  ];
}

function zoneCols(showNode: boolean): ConstructorParameters<typeof SortTable<ZoneRow>>[0] {
  const cols: ConstructorParameters<typeof SortTable<ZoneRow>>[0] = [
    {
      label: 'Zone',
      sort: (z) => z.alias ?? z.name,
      cell: (z) => h('a', { href: `#/node/${enc(z.node)}/zone/${enc(z.name)}` }, z.alias ? `${z.alias}` : z.name, z.alias ? h('span.dim', ` ${z.name}`) : null),
    },
    { label: 'State', sort: (z) => z.state, cell: (z) => h(z.state === 'running' ? 'span.up' : 'span', z.state) },
    { label: 'Brand', sort: (z) => z.brand, cell: (z) => z.brand },
    { label: 'CPU', sort: (z) => z.cpuRatio ?? -1, cell: cpu, cls: 'num' },
    { label: 'Memory (vs limit)', sort: (z) => (z.memoryLimitBytes ? (z.memoryBytes ?? 0) / z.memoryLimitBytes : -1), cell: (z) => memCell(z.memoryBytes, z.memoryLimitBytes) },
  ];
  if (showNode) cols.splice(1, 0, { label: 'Node', sort: (z) => z.node, cell: (z) => h('a', { href: `#/node/${enc(z.node)}` }, z.node) });
  return cols;
}

/** Refetches a node's zones at most every few seconds, however often samples arrive. */
class ZoneLoader {
  private last = new Map<string, number>();
  private pending = new Set<string>();
  zones = new Map<string, ZoneRow[]>();
  constructor(private onChange: () => void) {}
  load(node: string, force = false): void {
    const now = Date.now();
    if (this.pending.has(node) || (!force && now - (this.last.get(node) ?? 0) < 3000)) return;
    this.pending.add(node);
    this.last.set(node, now);
    api
      .zones(node)
      .then((zs) => this.zones.set(node, zs.map((z) => ({ ...z, node }))))
      .catch(() => this.zones.delete(node))
      .finally(() => {
        this.pending.delete(node);
        this.onChange();
      });
  }
  all(): ZoneRow[] {
    return [...this.zones.values()].flat();
  }
}

export const fleetView: View = (app, _p, el) => {
  let text = '';
  const match = (...xs: (string | undefined)[]): boolean => !text || xs.some((x) => x?.toLowerCase().includes(text));
  const zoneMatch = (z: ZoneRow): boolean => match(z.name, z.alias, z.node, z.state, z.brand);
  // a node stays listed when one of its zones matches
  const nodes = new SortTable<NodeInfo>(
    nodeCols(),
    (n) => match(n.node, n.hostname, n.platform) || (loader.zones.get(n.node) ?? []).some(zoneMatch),
    'No nodes have connected yet.',
  );
  const zones = new SortTable<ZoneRow>(zoneCols(true), zoneMatch, 'No zones.');
  const loader = new ZoneLoader(() => {
    zones.set(loader.all());
    nodes.render();
    if (tenant) summary.textContent = plural(loader.all().length, 'zone');
  });
  const summary = h('p.summary');
  // a tenant sees its zones, not the nodes' inventory (the server sends it nothing else)
  const tenant = app.me.owner !== undefined;
  const filter = h('input.filter', {
    type: 'search',
    placeholder: tenant ? 'Filter zones' : 'Filter nodes and zones',
    'aria-label': tenant ? 'filter zones' : 'filter nodes and zones',
    oninput: () => {
      text = filter.value.trim().toLowerCase();
      nodes.render();
      zones.render();
    },
  });
  if (tenant) el.append(h('h1', 'Your zones'), h('div.row', filter, summary), zones.el);
  else el.append(h('h1', 'Fleet'), h('div.row', filter, summary), h('h2', 'Nodes'), nodes.el, h('h2', 'Zones'), zones.el);
  let known: NodeInfo[] = [];
  const setNodes = (ns: NodeInfo[]): void => {
    known = ns;
    const up = ns.filter((n) => n.up).length;
    const bad = ns.filter((n) => healthRank(n) > 0 && n.up).length;
    if (!tenant) summary.textContent = `${plural(ns.length, 'node')}, ${up} up, ${ns.length - up} down${bad ? `, ${bad} with stale data or failing samplers` : ''}`;
    nodes.set(ns);
    for (const n of ns) loader.load(n.node);
  };
  api.nodes().then(setNodes, (e: Error) => el.append(h('p.error-text', e.message)));
  const off = app.live.on((m) => {
    if (m.type === 'fleet') setNodes(m.nodes);
    else if (m.type === 'samples') {
      const n = known.find((x) => x.node === m.node);
      if (!n) return;
      // fleet messages come on changes only: a sample says the node's data is fresh
      n.lastSampleAt = Math.max(n.lastSampleAt ?? 0, m.time);
      loader.load(m.node);
    }
  });
  // "last seen" ages even when nothing arrives
  const tick = setInterval(() => nodes.render(), 5000);
  return () => {
    off();
    clearInterval(tick);
  };
};

export const nodeView: View = (app, { node }, el) => {
  const head = h('div');
  const zones = new SortTable<ZoneRow>(zoneCols(false), () => true, 'This node reports no zones.');
  const scripts = h('div.scripts');
  el.append(h('p.crumbs', h('a', { href: '#/' }, 'Fleet'), ' › ', node), head, h('h2', 'Zones'), zones.el, h('h2', 'Trace scripts'), scripts);
  // which curated scripts can run here and, for those that cannot, why (the agent's checks)
  let scriptsKey = '';
  let connectedAt: number | null = null;
  const loadScripts = (): void => {
    api.scripts(node).then((list) => {
      const key = JSON.stringify(list.map((s) => [s.id, s.available, s.reason]));
      if (key === scriptsKey) return;
      scriptsKey = key;
      const can = list.filter((s) => s.available !== false);
      const cannot = list.filter((s) => s.available === false);
      scripts.replaceChildren(
        h('p', `${can.length} of ${list.length} scripts can run on this node${can.length ? `: ${can.map((s) => s.id).join(', ')}` : ''}.`),
      );
      if (cannot.length) scripts.append(h('ul.unavailable', ...cannot.map((s) => h('li', h('strong', s.id), ' cannot run: ', h('span', s.reason ?? 'no reason given')))));
    }, (e: Error) => scripts.replaceChildren(h('p.error-text', e.message)));
  };
  const loader = new ZoneLoader(() => zones.set(loader.all()));
  const show = (n: NodeInfo & { seq?: { gaps: number; received: number } }): void => {
    shown = n;
    head.replaceChildren(
      h('h1', n.node, ' ', h(n.up ? 'span.up' : 'span.down', n.up ? 'up' : 'down'), n.simulated ? h('span.badge.sim', 'simulated') : null),
      h(
        'dl.facts',
        h('dt', 'Host'), h('dd', n.hostname),
        h('dt', 'Platform'), h('dd', n.platform),
        h('dt', 'Tracer'), h('dd', n.tracer.scripts ? `${n.tracer.name}: ${n.tracer.scripts.available} of ${n.tracer.scripts.total} scripts can run` : `${n.tracer.name} ${n.tracer.available ? 'available' : 'unavailable'}`),
        h('dt', 'Last seen'), h('dd', fmtAgo(n.lastSeen)),
        h('dt', 'Interval'), h('dd', `${n.intervalS} s`),
        h('dt', 'Agent'), h('dd', n.agentVersion),
        n.seq ? h('dt', 'Samples') : null, n.seq ? h('dd', `${plural(n.seq.received, 'frame')} received, ${plural(n.seq.gaps, 'gap')}`) : null,
        h('dt', 'Data'), h('dd', healthCell(n)),
      ),
      healthPanel(n) ?? '',
    );
  };
  api.node(node).then(
    (n) => {
      show(n);
      loader.load(node, true);
      connectedAt = n.connectedAt;
      loadScripts();
    },
    (e: Error) =>
      el.replaceChildren(
        h('div.error', h('h2', e instanceof ApiError && e.status === 404 ? `Unknown node '${node}'` : 'Cannot load this node'), h('p', e.message), h('p', h('a', { href: '#/' }, 'Back to the fleet'))),
      ),
  );
  let shown: NodeInfo | null = null;
  let lastFetch = 0;
  const off = app.live.on((m) => {
    if (m.type === 'fleet') {
      const n = m.nodes.find((x) => x.node === node);
      if (n) {
        show(n);
        // a reconnected agent says again what can run
        if (n.connectedAt !== connectedAt) loadScripts();
        connectedAt = n.connectedAt;
      }
    } else if (m.type === 'samples' && m.node === node) {
      loader.load(node);
      // failure counts and the latest sample's age move with every frame: refetch, not too often
      if (Date.now() - lastFetch > 3000) {
        lastFetch = Date.now();
        api.node(node).then(show, () => undefined);
      }
    }
  });
  // "stale" is about time passing with nothing arriving: re-judge it without any message
  const tick = setInterval(() => shown && show(shown), 2000);
  return () => {
    off();
    clearInterval(tick);
  };
};
