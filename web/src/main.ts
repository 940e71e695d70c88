// Boot: who am I (or the login form), then the hash router over the views.
import { api, authEvents, ApiError, type Me } from './api.js';
import { Live } from './live.js';
import { h } from './dom.js';
import type { App, View } from './app.js';
import { fleetView, nodeView } from './views/fleet.js';
import { zoneView } from './views/zone.js';
import { traceView } from './views/trace.js';
import './styles.css';

const routes: [RegExp, string[], View][] = [
  [/^\/?$/, [], fleetView],
  [/^\/node\/([^/]+)\/?$/, ['node'], nodeView],
  [/^\/node\/([^/]+)\/zone\/([^/]+)\/?$/, ['node', 'zone'], zoneView],
  [/^\/trace\/([^/]+)\/?$/, ['id'], traceView],
];

const root = document.getElementById('app')!;
let live: Live | null = null;
let cleanup: (() => void) | void;

function currentPath(): string {
  // hash routes (#/node/N/zone/Z); a plain path (/node/N/zone/Z) served as index.html works too
  if (location.hash.startsWith('#/')) return location.hash.slice(1);
  return location.pathname;
}

function shell(me: Me): HTMLElement {
  const banner = h('div.banner', { role: 'status', hidden: true }, 'Connection to the server lost — reconnecting…');
  const main = h('main#view');
  const header = h(
    'header.top',
    h('a.brand', { href: '#/' }, 'zonescope'),
    h('nav', h('a', { href: '#/' }, 'Fleet')),
    h('span.grow'),
    h('span.who', `${me.name} · ${me.role}`),
    h('button.logout', {
      type: 'button',
      onclick: async () => {
        try {
          await api.logout();
        } finally {
          live?.stop();
          live = null;
          location.hash = '#/';
          login();
        }
      },
    }, 'Log out'),
  );
  root.replaceChildren(header, banner, main);
  return main;
}

function route(app: App, main: HTMLElement): void {
  if (cleanup) cleanup();
  cleanup = undefined;
  main.replaceChildren();
  const path = currentPath();
  for (const [re, names, view] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
    cleanup = view(app, params, main);
    return;
  }
  main.append(h('div.error', h('h2', 'Page not found'), h('p', `There is no page at '${path}'. `, h('a', { href: '#/' }, 'Go to the fleet'))));
}

function start(me: Me): void {
  live?.stop();
  live = new Live();
  const app: App = { me, live };
  const main = shell(me);
  const banner = root.querySelector<HTMLElement>('.banner')!;
  let wasUp = false;
  live.onState((up) => {
    // the first connect is not a recovery; later ones are
    banner.hidden = up || !wasUp;
    if (up) {
      if (wasUp) route(app, main);
      wasUp = true;
    } else if (wasUp) banner.hidden = false;
  });
  live.start();
  window.onhashchange = () => route(app, main);
  route(app, main);
}

function login(message?: string): void {
  if (cleanup) cleanup();
  cleanup = undefined;
  window.onhashchange = null;
  const err = h('p.error-text', { role: 'alert' }, message ?? '');
  const input = h('input', { type: 'password', name: 'token', autocomplete: 'current-password', required: true, id: 'token' });
  const form = h(
    'form.login',
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        err.textContent = '';
        try {
          start(await api.login(input.value.trim()));
        } catch (x) {
          err.textContent = x instanceof ApiError && x.status === 401 ? 'That token is not valid.' : (x as Error).message;
        }
      },
    },
    h('h1', 'zonescope'),
    h('label', { for: 'token' }, 'Access token'),
    input,
    h('button', { type: 'submit' }, 'Log in'),
    err,
  );
  root.replaceChildren(form);
  input.focus();
}

authEvents.addEventListener('unauthorized', () => {
  live?.stop();
  live = null;
  login('Your session has ended; log in again.');
});

async function boot(): Promise<void> {
  try {
    // asks without failing when logged out, so a fresh page logs no 401
    const { user } = await api.session();
    if (user) start(user);
    else login();
  } catch (e) {
    {
      root.replaceChildren(h('div.error', h('h2', 'The server cannot be reached'), h('p', (e as Error).message), h('p', 'Retrying…')));
      setTimeout(boot, 2000);
    }
  }
}

void boot();
