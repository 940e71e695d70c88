// The /live WebSocket: pushes fleet, samples and trace changes. When it drops, the app shows a
// "reconnecting" banner and retries with backoff; on reconnect every view refetches, so
// nothing missed while away stays stale.
import type { NodeInfo, TraceSummary } from './api.js';

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
    ws.onopen = () => {
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
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.ping);
      this.setUp(false);
      this.later();
    };
    // errors are followed by close; the banner says what the user needs to know
    ws.onerror = () => undefined;
  }

  private later(): void {
    if (this.stopped) return;
    const ms = Math.min(5000, 500 * 2 ** this.retry++);
    this.timer = window.setTimeout(() => this.connect(), ms);
  }
}
