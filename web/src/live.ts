// The /live WebSocket: pushes fleet, samples and trace changes. When it drops, the app shows a
// "reconnecting" banner and retries with backoff; on reconnect every view refetches, so
// nothing missed while away stays stale. A session that ended (logout elsewhere, expiry, a
// revoked token) sends the app back to the login form instead of retrying for ever.
import { api, authEvents, type NodeInfo, type TraceSummary } from './api.js';

export type LiveMessage =
  | { type: 'fleet'; nodes: NodeInfo[] }
  | { type: 'samples'; node: string; time: number }
  | { type: 'trace'; trace: TraceSummary }
  | { type: 'pong' };

type Listener = (m: LiveMessage) => void;

export class Live {
  private ws: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private stateListeners = new Set<(up: boolean) => void>();
  private retry = 0;
  private timer = 0;
  private ping = 0;
  private stopped = false;
  up = false;

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.ping);
    this.ws?.close();
    this.ws = null;
  }

  on(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onState(fn: (up: boolean) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  private setUp(up: boolean): void {
    if (up === this.up) return;
    this.up = up;
    for (const f of this.stateListeners) f(up);
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/live`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch {
      this.later();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.retry = 0;
      this.setUp(true);
      clearInterval(this.ping);
      this.ping = window.setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), 20_000);
    };
    ws.onmessage = (e) => {
      let m: LiveMessage;
      try {
        m = JSON.parse(String(e.data)) as LiveMessage;
      } catch {
        return;
      }
      for (const f of this.listeners) f(m);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.ping);
      this.setUp(false);
      // 1008: the server ended it (session or token); a refused upgrade never opens
      if (e.code === 1008 || !opened) void this.checkSession();
      this.later();
    };
    // errors are followed by close; the banner says what the user needs to know
    ws.onerror = () => undefined;
  }

  private async checkSession(): Promise<void> {
    try {
      if (!(await api.session()).user && !this.stopped) authEvents.dispatchEvent(new Event('unauthorized'));
    } catch {
      // the server is away: the banner says so and the retry goes on
    }
  }

  private later(): void {
    if (this.stopped) return;
    const ms = Math.min(5000, 500 * 2 ** this.retry++);
    this.timer = window.setTimeout(() => this.connect(), ms);
  }
}
