// The zone's continuous profile (`--always-on cpu-profile`): a time strip of samples per bucket
// over the last hours, drag on it to pick a window and see its flame graph, Shift-drag (or
// "an hour earlier") to pick a baseline window and see the difference — no trace started.
import { api, ApiError, type ProfileBuckets } from '../api.js';
import { h } from '../dom.js';
import { FlameGraph } from '../flamegraph/index.js';

const SPANS: [string, number][] = [
  ['1 h', 3600],
  ['6 h', 6 * 3600],
  ['24 h', 24 * 3600],
];
const STRIP_H = 56;
const DEFAULT_WINDOW_MS = 10 * 60_000;

interface Range {
  from: number;
  to: number;
}

const hhmm = (t: number) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const label = (r: Range) => `${hhmm(r.from)}–${hhmm(r.to)}`;

export function zoneProfile(node: string, zone: string): { el: HTMLElement; stop: () => void } {
  let spanS = Number(sessionStorage.getItem('zs-profile-span')) || 3600;
  let data: ProfileBuckets | null = null;
  let win: Range | null = null;
  let base: Range | null = null;
  let fg: FlameGraph | null = null;
  let stopped = false;
  const spanSel = h(
    'select',
    {
      'aria-label': 'profile span',
      onchange: () => {
        spanS = Number(spanSel.value);
        sessionStorage.setItem('zs-profile-span', String(spanS));
        win = base = null;
        void load();
      },
    },
    ...SPANS.map(([l, s]) => h('option', { value: String(s), selected: s === spanS }, l)),
  );
  const canvas = h('canvas.profile-strip', { height: STRIP_H, 'aria-label': 'samples per minute; drag to pick a window, Shift-drag for a baseline' }) as HTMLCanvasElement;
  const info = h('p.range', { role: 'status' });
  const earlier = h('button', { type: 'button', title: 'Compare with the same window an hour earlier' }, 'Compare with 1 h earlier') as HTMLButtonElement;
  const clearBase = h('button', { type: 'button', hidden: true }, 'Clear baseline') as HTMLButtonElement;
  const fgBox = h('div.profile-flame');
  const summary = h('p.dim');
  const msg = h('p.dim', { role: 'alert' });
  const el = h(
    'section.zone-profile',
    h('div.row', h('h2', 'Continuous profile'), h('label', ' Last ', spanSel)),
    summary,
    canvas,
    h('p', info, ' ', earlier, ' ', clearBase),
    msg,
    fgBox,
  );

  const x = (t: number, w: number) => ((t - data!.from) / (data!.to - data!.from)) * w;
  const tAt = (px: number, w: number) => data!.from + (px / w) * (data!.to - data!.from);

  const drawStrip = (): void => {
    const w = Math.max(200, el.clientWidth || 600);
    const dpr = window.devicePixelRatio || 1;
    canvas.style.width = `${w}px`;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(STRIP_H * dpr);
    const c = canvas.getContext('2d')!;
    c.setTransform(dpr, 0, 0, dpr, 0, 0);
    c.clearRect(0, 0, w, STRIP_H);
    if (!data) return;
    const max = Math.max(1, ...data.buckets.map((b) => b.samples));
    const bw = Math.max(1, x(data.from + data.bucketS * 1000, w) - x(data.from, w));
    const shade = (r: Range | null, color: string) => {
      if (!r) return;
      c.fillStyle = color;
      c.fillRect(x(r.from, w), 0, Math.max(2, x(r.to, w) - x(r.from, w)), STRIP_H);
    };
    shade(base, 'rgba(60, 120, 220, 0.18)');
    shade(win, 'rgba(230, 120, 30, 0.22)');
    c.fillStyle = '#c05a1c';
    for (const b of data.buckets) {
      const hgt = Math.max(1, ((STRIP_H - 4) * b.samples) / max);
      c.fillRect(x(b.t, w), STRIP_H - hgt, Math.max(1, bw - 0.5), hgt);
    }
  };

  const drawFlame = async (): Promise<void> => {
    if (!win) return;
    const w = win;
    info.textContent = `window ${label(w)}${base ? ` · compared with ${label(base)} (red grew, blue shrank)` : ''}`;
    try {
      const [folded, baseline] = await Promise.all([
        api.profileFolded(node, zone, w.from, w.to),
        base ? api.profileFolded(node, zone, base.from, base.to).catch((e) => (e instanceof ApiError && e.status === 404 ? '' : Promise.reject(e))) : Promise.resolve(undefined),
      ]);
      if (stopped || w !== win) return;
      msg.textContent = base && baseline === '' ? `Nothing was sampled in the baseline window ${label(base)}.` : '';
      fg ??= new FlameGraph(fgBox, { title: `${node}-${zone}-profile`, maxHeight: 480, unit: 'samples', byProcess: zone === 'global' });
      fg.setProcessRoots(true);
      fg.setData(folded, baseline || undefined);
    } catch (e) {
      if (stopped) return;
      fg?.destroy();
      fg = null;
      fgBox.replaceChildren();
      msg.textContent = (e as Error).message;
    }
  };

  // drag on the strip: a window; with Shift, a baseline
  let drag: { x0: number; shift: boolean } | null = null;
  const px = (e: PointerEvent) => Math.min(Math.max(0, e.clientX - canvas.getBoundingClientRect().left), canvas.clientWidth);
  const rangeOf = (a: number, b: number): Range => {
    const w = canvas.clientWidth;
    const bucket = (data?.bucketS ?? 60) * 1000;
    const from = Math.floor(tAt(Math.min(a, b), w) / bucket) * bucket;
    return { from, to: Math.max(from + bucket, Math.ceil(tAt(Math.max(a, b), w) / bucket) * bucket) };
  };
  canvas.onpointerdown = (e) => {
    if (!data) return;
    drag = { x0: px(e), shift: e.shiftKey };
    canvas.setPointerCapture(e.pointerId);
  };
  canvas.onpointermove = (e) => {
    if (!drag) return;
    const r = rangeOf(drag.x0, px(e));
    if (drag.shift) base = r;
    else win = r;
    drawStrip();
  };
  canvas.onpointerup = (e) => {
    if (!drag) return;
    const r = rangeOf(drag.x0, px(e));
    if (drag.shift) {
      base = r;
      clearBase.hidden = false;
    } else win = r;
    drag = null;
    drawStrip();
    void drawFlame();
  };
  earlier.onclick = () => {
    if (!win) return;
    base = { from: win.from - 3600_000, to: win.to - 3600_000 };
    clearBase.hidden = false;
    drawStrip();
    void drawFlame();
  };
  clearBase.onclick = () => {
    base = null;
    clearBase.hidden = true;
    drawStrip();
    void drawFlame();
  };

  const load = async (): Promise<void> => {
    const to = Date.now();
    try {
      const d = await api.profileBuckets(node, zone, to - spanS * 1000, to);
      if (stopped) return;
      data = d;
      // spans past what the server keeps would only show an empty strip
      for (const o of spanSel.options) o.disabled = Number(o.value) > d.retentionS && Number(o.value) !== SPANS[0][1];
      if (d.first === null) {
        info.textContent = '';
        summary.textContent = `No continuous profile is stored for this zone. The server keeps one with --always-on cpu-profile@${zone}.`;
        earlier.hidden = true;
        drawStrip();
        return;
      }
      earlier.hidden = false;
      const total = d.buckets.reduce((a, b) => a + b.samples, 0);
      if (!win) {
        // the last ten minutes, the question a page asks first
        const bucket = d.bucketS * 1000;
        const end = Math.ceil(to / bucket) * bucket;
        win = { from: end - Math.max(bucket, DEFAULT_WINDOW_MS), to: end };
      }
      summary.textContent = `${total.toLocaleString('en-US')} samples at ${d.hz} Hz in the last ${spanSel.selectedOptions[0]?.textContent ?? ''}${d.first > d.from ? `; stored since ${new Date(d.first).toLocaleString()}` : ''}.`;
      drawStrip();
      await drawFlame();
    } catch (e) {
      if (!stopped) msg.textContent = (e as Error).message;
    }
  };
  void load();
  // the strip grows by a bucket a minute; the flame graph stays on the window the user chose
  const timer = setInterval(() => {
    if (!drag) void api.profileBuckets(node, zone, Date.now() - spanS * 1000, Date.now()).then((d) => {
      if (stopped) return;
      data = d;
      drawStrip();
    }, () => undefined);
  }, 30_000);
  return {
    el,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      fg?.destroy();
    },
  };
}
