// Zone: live charts over a chosen window, the trace launcher and this zone's traces.
import type uPlot from 'uplot';
import { api, can, ApiError, type History, type NodeInfo, type ScriptInfo, type TraceSummary, type ZoneInfo } from '../api.js';
import { h, enc, fmtAgo, fmtBytes } from '../dom.js';
import { drawCharts } from '../charts.js';
import { memCell } from './fleet.js';
import { zoneProfile } from './zone-profile.js';
import { healthPanel } from '../health.js';
import type { App, View } from '../app.js';

const WINDOWS: [string, number][] = [
  ['5 min', 300],
  ['15 min', 900],
  ['1 h', 3600],
  ['6 h', 21600],
  ['24 h', 86400],
];

const span = (s: number): string => (s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`);

/** The windows to offer: none longer than the server keeps, and that whole span itself. */
function windowsWithin(retentionS: number): [string, number][] {
  const within = WINDOWS.filter(([, s]) => s < retentionS);
  return [...within, [span(retentionS), retentionS]];
}

/** Said above the charts when the window reaches before the first point the server holds (a
 * restart, the retention, or at a large fleet the history budget): the axis is not a gap. */
function keptNote(hist: History, windowS: number): HTMLElement | null {
  if (hist.keptSince == null) return null;
  const start = Date.now() - windowS * 1000;
  if (hist.keptSince - start <= 2 * (hist.intervalS ?? 10) * 1000) return null;
  return h('p.dim.kept-note', `No samples before ${new Date(hist.keptSince).toLocaleTimeString([], { hour12: false })}: the server holds this node's history from then on (it keeps at most ${span(hist.retentionS ?? 0)}).`);
}

export function statusBadge(t: TraceSummary): HTMLElement {
  return h(`span.status.st-${t.status}` as 'span', t.status === 'running' ? `running ${(100 * t.progress).toFixed(0)}%` : t.status);
}

export function traceList(app: App, filter: (t: TraceSummary) => boolean, showWhere = true): { el: HTMLElement; stop: () => void } {
  const list = h('ul.traces');
  const byId = new Map<string, TraceSummary>();
  const render = (): void => {
    const ts = [...byId.values()].filter(filter).sort((a, b) => b.createdAt - a.createdAt);
    list.replaceChildren(
      ...(ts.length
        ? ts.map((t) =>
            h('li', h('a', { href: `#/trace/${enc(t.id)}` }, t.script), ' ', statusBadge(t), h('span.dim', `${showWhere ? ` ${t.node}/${t.zone}` : ''} · ${t.durationS} s · ${fmtAgo(t.createdAt)}`), t.error ? h('span.error-text', ` ${t.error}`) : null),
          )
        : [h('li.dim', 'No traces yet.')]),
    );
  };
  api.traces().then(
    (ts) => {
      for (const t of ts) byId.set(t.id, t);
      render();
    },
    () => render(),
  );
  const off = app.live.on((m) => {
    if (m.type === 'trace') {
      byId.set(m.trace.id, m.trace);
      render();
    }
  });
  return { el: list, stop: off };
}

function launcher(app: App, node: string, zone: string, scripts: ScriptInfo[], running: boolean): { el: HTMLElement; setRunning: (running: boolean) => void; runnable: number } {
  const box = h('section.launcher', h('h2', 'Trace this zone'));
  if (!scripts.length) {
    box.append(h('p.dim', 'The server has no curated scripts.'));
    return { el: box, setRunning: () => undefined, runnable: 0 };
  }
  const runnable = scripts.filter((s) => s.available !== false);
  if (!runnable.length) {
    // every option disabled would leave the form with no script: say why instead
    const reasons = [...new Set(scripts.map((s) => s.reason ?? 'unknown reason'))];
    box.append(h('p.error-text.no-scripts', `No curated script can run on this node: ${reasons.join('; ')}`));
    return { el: box, setRunning: () => undefined, runnable: 0 };
  }
  const select = h(
    'select',
    { id: 'script', 'aria-label': 'script' },
    ...scripts.map((s) => h('option', { value: s.id, disabled: s.available === false, title: s.reason ?? '' }, `${s.title} (${s.id})${s.available === false ? ' — cannot run on this node' : ''}`)),
  );
  const detail = h('div.script-detail');
  const err = h('p.error-text', { role: 'alert' });
  const operator = can(app.me, 'operator');
  let inputs: Record<string, HTMLInputElement> = {};
  let dur: HTMLInputElement;
  const show = (): void => {
    const s = scripts.find((x) => x.id === select.value)!;
    inputs = {};
    dur = h('input', { type: 'number', id: 'durationS', min: 1, max: s.maxDurationS, step: 1, value: String(s.defaultDurationS), required: true });
    const params = s.params.map((p) => {
      const bounds = [p.min !== undefined ? `≥ ${p.min}` : '', p.max !== undefined ? `≤ ${p.max}` : '', p.pattern ? `matches ${p.pattern}` : ''].filter(Boolean).join(', ');
      const inp = h('input', {
        id: `param-${p.name}`,
        name: p.name,
        type: p.type === 'string' ? 'text' : 'number',
        min: p.min,
        max: p.max,
        step: p.type === 'string' ? undefined : 1,
        pattern: p.pattern,
        value: p.default !== undefined ? String(p.default) : '',
        disabled: !operator,
      });
      inputs[p.name] = inp;
      return h('div.param', h('label', { for: `param-${p.name}` }, h('code', p.name), ` (${p.type}${p.type === 'duration' ? ', seconds' : ''}${bounds ? '; ' + bounds : ''})`), inp, h('small', p.description));
    });
    detail.replaceChildren(
      h('p.question', s.question),
      h('p', h('span.dim', 'Output: '), s.output, s.unit ? ` (${s.unit})` : '', h('span.dim', ' · Overhead: '), s.overhead),
      ...(s.notes ? [h('p.dim', s.notes)] : []),
      ...params,
      h('div.param', h('label', { for: 'durationS' }, `Duration (seconds, 1–${s.maxDurationS})`), dur),
    );
    if (!operator) dur.disabled = true;
  };
  select.value = runnable[0].id;
  select.addEventListener('change', show);
  show();
  const run = async (e: Event): Promise<void> => {
    e.preventDefault();
    err.textContent = '';
    const s = scripts.find((x) => x.id === select.value)!;
    const params: Record<string, string | number> = {};
    for (const p of s.params) {
      const v = inputs[p.name].value.trim();
      if (v === '') continue;
      params[p.name] = p.type === 'string' ? v : Number(v);
    }
    try {
      const { id } = await api.startTrace({ node, zone, script: s.id, params, durationS: Number(dur.value) });
      const mine = JSON.parse(sessionStorage.getItem('zs-traces') ?? '[]') as string[];
      sessionStorage.setItem('zs-traces', JSON.stringify([...mine, id]));
      location.hash = `#/trace/${enc(id)}`;
    } catch (x) {
      err.textContent = (x as Error).message;
    }
  };
  const controls = h('div.launch-controls');
  const form = h('form', { onsubmit: run }, h('label', { for: 'script' }, 'Script '), select, detail, controls, err);
  const setRunning = (on: boolean): void => {
    // viewers see what can be traced, but not the control they may not use
    if (!operator) controls.replaceChildren(h('p.dim', 'Your role (viewer) cannot run traces.'));
    // a zone that is not running has no processes to trace: say so rather than fail later
    else if (!on) controls.replaceChildren(h('p.dim.not-running', 'This zone is not running: start it to trace it.'));
    else if (!controls.querySelector('button.launch')) controls.replaceChildren(h('button.primary.launch', { type: 'submit' }, 'Run trace'));
  };
  setRunning(running);
  box.append(form);
  return { el: box, setRunning, runnable: runnable.length };
}

/**
 * Which process holds the memory: the zone's processes by resident size, asked of the agent
 * when the user wants them (a list per sample would be noise); operators can go straight on
 * to "which stack still holds it" with memleak on a row's process.
 */
function processes(app: App, node: string, zone: string, hasMemleak: boolean): HTMLElement {
  const body = h('div.procs');
  const refresh = h('button', { type: 'button' }, 'Show processes') as HTMLButtonElement;
  const operator = can(app.me, 'operator') && hasMemleak;
  const load = async () => {
    refresh.disabled = true;
    body.replaceChildren(h('p.dim', 'asking the agent…'));
    try {
      const { processes: ps, time, previous } = await api.processes(node, zone);
      const change = (d: number | undefined) => (d === undefined ? '–' : d === 0 ? '0' : `${d > 0 ? '+' : '−'}${fmtBytes(Math.abs(d))}`);
      const row = (p: (typeof ps)[number]) => {
        const leak = h('button', { type: 'button', title: `trace the allocations ${p.pid} still holds, for 30 s` }, 'memleak') as HTMLButtonElement;
        leak.onclick = async () => {
          leak.disabled = true;
          try {
            const { id } = await api.startTrace({ node, zone, script: 'memleak', params: { pid: p.pid }, durationS: 30 });
            location.hash = `#/trace/${enc(id)}`;
          } catch (e) {
            leak.disabled = false;
            leak.textContent = 'failed';
            leak.title = (e as Error).message;
          }
        };
        return h(
          'tr',
          h('td.num', String(p.pid)),
          h('td.num', fmtBytes(p.rssBytes)),
          ...(previous ? [h((p.rssDeltaBytes ?? 0) > 0 ? 'td.num.grew' : 'td.num', change(p.rssDeltaBytes))] : []),
          // the program and its arguments on one line: rows tell apart without hovering
          h('td.cmd', { title: p.args }, h('strong', p.comm), ' ', h('span.dim', argsOf(p))),
          operator ? h('td', leak) : null,
        );
      };
      const argsOf = (p: (typeof ps)[number]): string => {
        // argv[0] repeats the program: show what follows it
        const sp = p.args.indexOf(' ');
        return sp < 0 ? '' : p.args.slice(sp + 1);
      };
      body.replaceChildren(
        ps.length
          ? h(
              'table.procs-table',
              h('thead', h('tr', h('th', 'PID'), h('th', 'Resident'), ...(previous ? [h('th', 'Change')] : []), h('th', 'Command'), operator ? h('th', '') : null)),
              h('tbody', ...ps.map(row)),
            )
          : h('p.dim', 'No processes.'),
        h('p.dim', `as of ${new Date(time).toLocaleTimeString('en-GB')}${previous ? `; change since ${new Date(previous).toLocaleTimeString('en-GB')}` : ' — refresh later to see which grows'}`),
      );
      refresh.textContent = 'Refresh';
    } catch (e) {
      body.replaceChildren(h('p.error-text', { role: 'alert' }, (e as Error).message));
    } finally {
      refresh.disabled = false;
    }
  };
  refresh.onclick = () => void load();
  return h('section', h('h2', 'Processes by memory'), refresh, body);
}

type VmAction = 'start' | 'stop' | 'reboot';
const EXPECT: Record<VmAction, string> = { start: 'running', stop: 'stopped', reboot: 'running again' };
const STOPPED = new Set(['installed', 'stopped', 'configured']);
/** Whether the zone's state shows the action's outcome (a reboot: running after not running, or a new zone id). */
function reached(action: VmAction, z: ZoneInfo, before: ZoneInfo, sawDown: boolean): boolean {
  if (action === 'stop') return STOPPED.has(z.state);
  if (action === 'start') return z.state === 'running';
  return z.state === 'running' && (sawDown || (z.zoneid != null && z.zoneid !== before.zoneid));
}

// Linux containers other than LXC belong to their own managers (docker, systemd, ops scripts)
const NO_LIFECYCLE = new Set(['linux-host', 'cgroup', 'docker', 'machine']);
const hasLifecycle = (z: ZoneInfo) => z.name !== 'global' && !NO_LIFECYCLE.has(z.brand);

/**
 * Start / stop / reboot, for operators; each asks first, since it affects a running workload.
 * Only what the zone's state allows is offered (a running zone cannot be started); the buttons
 * follow the state as the agent reports it.
 */
function vmActions(node: string, z: ZoneInfo, follow: (action: VmAction) => Promise<void>): { el: HTMLElement; update: (z: ZoneInfo) => void } {
  const out = h('span.vm-result', { role: 'status' });
  let zone = z;
  let busy = false;
  const buttons = new Map<'start' | 'stop' | 'reboot', HTMLButtonElement>();
  const update = (nz: ZoneInfo): void => {
    zone = nz;
    const running = nz.state === 'running';
    const stopped = nz.state === 'installed' || nz.state === 'stopped' || nz.state === 'configured';
    buttons.get('start')!.hidden = !stopped;
    buttons.get('stop')!.hidden = !running;
    buttons.get('reboot')!.hidden = !running;
    for (const b of buttons.values()) b.disabled = busy;
  };
  const button = (action: 'start' | 'stop' | 'reboot') => {
    const b = h('button.vm-action', { type: 'button' }, action[0].toUpperCase() + action.slice(1)) as HTMLButtonElement;
    b.onclick = async () => {
      if (!confirm(`${action[0].toUpperCase() + action.slice(1)} ${zone.alias ?? zone.name} on ${node}?`)) return;
      busy = true;
      update(zone);
      out.textContent = `${action}: waiting for the node…`;
      try {
        const r = await api.vmAction(node, zone.name, action);
        const said = r.message || `${action}: done`;
        // the node has answered; the zone's new state comes with its next zone list
        out.textContent = `${said} · waiting for the zone to be ${EXPECT[action]}…`;
        try {
          await follow(action);
          out.textContent = `${said} · the zone is ${zone.state}`;
        } catch (e) {
          out.textContent = `${said} · but ${(e as Error).message}`;
        }
      } catch (e) {
        out.textContent = `${action} failed: ${(e as Error).message}`;
      } finally {
        busy = false;
        update(zone);
      }
    };
    buttons.set(action, b);
    return b;
  };
  const el = h('p.vm-actions', button('start'), ' ', button('stop'), ' ', button('reboot'), ' ', out);
  update(z);
  return { el, update };
}

export const zoneView: View = (app, { node, zone }, el) => {
  let windowS = Number(sessionStorage.getItem('zs-window')) || 900;
  let plots: uPlot[] = [];
  let stopped = false;
  const head = h('div');
  const charts = h('div.charts');
  const winSel = h(
    'select',
    {
      'aria-label': 'window',
      onchange: () => {
        windowS = Number(winSel.value);
        sessionStorage.setItem('zs-window', String(windowS));
        void load();
      },
    },
    ...WINDOWS.map(([l, s]) => h('option', { value: String(s), selected: s === windowS }, l)),
  );
  let offered = 0;
  const offer = (retentionS: number): void => {
    if (retentionS === offered) return;
    offered = retentionS;
    const opts = windowsWithin(retentionS);
    if (!opts.some(([, s]) => s === windowS)) windowS = opts.filter(([, s]) => s <= windowS).at(-1)?.[1] ?? opts[0][1];
    winSel.replaceChildren(...opts.map(([l, s]) => h('option', { value: String(s), selected: s === windowS }, l)));
  };
  const side = h('div.side');
  const healthBox = h('div.zone-health');
  const procsBox = h('div.procs-box');
  el.append(
    h('p.crumbs', h('a', { href: '#/' }, 'Fleet'), ' › ', h('a', { href: `#/node/${enc(node)}` }, node), ' › ', zone),
    head,
    healthBox,
    h('div.zone-grid', h('div', h('div.row', h('h2', 'Samples'), h('label', ' Window ', winSel)), charts, procsBox), side),
  );
  // the node's data health: failing samplers and stale samples explain what the charts lack
  let nodeInfo: NodeInfo | null = null;
  // set once the zone's launcher exists: it follows what the node can run
  let onNode: ((n: NodeInfo) => void) | undefined;
  const showHealth = (): void => void healthBox.replaceChildren(nodeInfo ? (healthPanel(nodeInfo) ?? '') : '');
  let lastNodeFetch = 0;
  const fetchNode = (): void => {
    lastNodeFetch = Date.now();
    api.node(node).then((n) => {
      nodeInfo = n;
      showHealth();
    }, () => undefined);
  };
  fetchNode();
  const healthTick = setInterval(showHealth, 2000);
  const notFound = (e: Error): void => {
    stopped = true;
    el.replaceChildren(
      h(
        'div.error',
        h('h2', e instanceof ApiError && e.status === 404 ? `Unknown zone '${zone}' on node '${node}'` : 'Cannot load this zone'),
        h('p', e.message),
        h('p', h('a', { href: `#/node/${enc(node)}` }, `Zones of ${node}`), ' · ', h('a', { href: '#/' }, 'Fleet')),
      ),
    );
  };
  let loading = false;
  let lastLoad = 0;
  const load = async (): Promise<void> => {
    // a reader hovering a chart (a value, a gap's reason) keeps it still; the next sample redraws
    if (loading || stopped || (plots.length && charts.matches(':hover'))) return;
    loading = true;
    lastLoad = Date.now();
    try {
      const hist = await api.history(node, zone, windowS);
      if (stopped) return;
      if (hist.retentionS) offer(hist.retentionS);
      for (const p of plots) p.destroy();
      charts.replaceChildren();
      plots = drawCharts(charts, hist, Math.max(360, charts.clientWidth - 8), windowS);
      const note = keptNote(hist, windowS);
      if (note) charts.prepend(note);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) notFound(e);
      else if (!stopped) charts.replaceChildren(h('p.error-text', (e as Error).message));
    } finally {
      loading = false;
    }
  };
  Promise.all([api.zones(node), api.scripts(node).catch(() => [] as ScriptInfo[])]).then(
    ([zs, scripts]) => {
      if (stopped) return;
      const z: ZoneInfo | undefined = zs.find((x) => x.name === zone || x.uuid === zone);
      if (!z) return notFound(new ApiError(404, `node '${node}' has no zone '${zone}'`));
      const facts = h('div');
      const showFacts = (z: ZoneInfo): void =>
        facts.replaceChildren(
          h('h1', z.alias ?? z.name, z.alias ? h('span.dim', ` ${z.name}`) : null, ' ', h(z.state === 'running' ? 'span.up' : 'span', z.state)),
          h('p', `${z.brand} · CPU ${z.cpuRatio !== undefined ? z.cpuRatio.toFixed(2) + ' CPUs' : '–'} · memory `, memCell(z.memoryBytes, z.memoryLimitBytes)),
        );
      showFacts(z);
      let current = z;
      let launch = launcher(app, node, zone, scripts, z.state === 'running');
      // what the node can run changes (tracefs mounted, the tracer removed): the agent says so,
      // the fleet message carries the count, and the launcher is built again from the new list
      // (first compared with what the launcher offers, then with the fleet's own previous count:
      // the catalog a node offers may differ from the server's, and comparing the two every time
      // would rebuild the form on every message)
      let shown = launch.runnable;
      onNode = (n) => {
        const now = n.tracer.scripts?.available;
        if (now === undefined || now === shown) return;
        shown = now;
        api.scripts(node).then((list) => {
          if (stopped) return;
          const next = launcher(app, node, zone, list, current.state === 'running');
          launch.el.replaceWith(next.el);
          launch = next;
        }, () => undefined);
      };
      // header, buttons and launcher all follow one state: a stopped zone offers Start, no Run trace
      const setZone = (nz: ZoneInfo): void => {
        current = nz;
        showFacts(nz);
        actions?.update(nz);
        launch.setRunning(nz.state === 'running');
      };
      const fetchZone = async (): Promise<ZoneInfo | undefined> => {
        const nz = (await api.zones(node)).find((x) => x.name === z.name);
        if (nz && !stopped) setZone(nz);
        return nz;
      };
      // after an action, ask until the zone's state shows its outcome (at most 60 s)
      const follow = async (action: VmAction): Promise<void> => {
        const before = current;
        let sawDown = false;
        for (const end = Date.now() + 60_000; Date.now() < end && !stopped; ) {
          const nz = await fetchZone().catch(() => undefined);
          if (nz && nz.state !== 'running') sawDown = true;
          if (nz && reached(action, nz, before, sawDown)) return;
          await new Promise((ok) => setTimeout(ok, 500));
        }
        throw new Error(`the zone did not become ${EXPECT[action]} within 60 s; it is ${current.state}`);
      };
      const actions = can(app.me, 'operator') && hasLifecycle(z) ? vmActions(node, z, follow) : null;
      head.replaceChildren(facts, ...(actions ? [actions.el] : []));
      // state, CPU and memory follow the samples (a stopped VM's buttons become Start)
      let lastZones = 0;
      cleanups.push(
        app.live.on((m) => {
          if (m.type !== 'samples' || m.node !== node || Date.now() - lastZones < 3000) return;
          lastZones = Date.now();
          fetchZone().catch(() => undefined);
        }),
      );
      const traces = traceList(app, (t) => t.node === node && t.zone === zone, false);
      cleanups.push(traces.stop);
      const profile = zoneProfile(node, z.name);
      cleanups.push(profile.stop);
      charts.after(profile.el);
      side.append(launch.el, h('section', h('h2', 'Traces of this zone'), traces.el));
      procsBox.replaceChildren(processes(app, node, z.name, scripts.some((s) => s.id === 'memleak')));
      void load();
    },
    notFound,
  );
  const cleanups: (() => void)[] = [];
  cleanups.push(
    app.live.on((m) => {
      // live: redraw on new samples, at most every 2 s
      if (m.type === 'samples' && m.node === node && Date.now() - lastLoad > 2000) void load();
      if (m.type === 'samples' && m.node === node && Date.now() - lastNodeFetch > 3000) fetchNode();
      if (m.type === 'fleet') {
        const n = m.nodes.find((x) => x.node === node);
        if (n) {
          nodeInfo = n;
          showHealth();
          onNode?.(n);
        }
      }
    }),
  );
  return () => {
    stopped = true;
    clearInterval(healthTick);
    for (const c of cleanups) c();
    for (const p of plots) p.destroy();
  };
};
