// A tiny element builder: h('div.cls', {attrs}, children...).
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(sel: K | `${K}.${string}` | `${K}#${string}`, attrs?: Attrs | Child, ...kids: Child[]): HTMLElementTagNameMap[K] {
  const [tagId, ...classes] = sel.split('.');
  const [tag, id] = tagId.split('#');
  const e = document.createElement(tag as K);
  if (id) e.id = id;
  if (classes.length) e.className = classes.join(' ');
  if (attrs && !(attrs instanceof Node) && typeof attrs === 'object') {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v as EventListener);
      else if (k === 'class') e.className += (e.className ? ' ' : '') + String(v);
      else if (k in e && k !== 'list' && k !== 'form') (e as unknown as Record<string, unknown>)[k] = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  } else if (attrs !== undefined) kids.unshift(attrs as Child);
  for (const k of kids) if (k !== null && k !== undefined && k !== false) e.append(k instanceof Node ? k : String(k));
  return e;
}

export function fmtBytes(b: number | undefined | null): string {
  if (b === undefined || b === null || !Number.isFinite(b)) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function fmtAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export const enc = encodeURIComponent;
