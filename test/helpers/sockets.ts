// Raw WebSocket clients for tests that play an agent or a browser against a real server.
import WebSocket from 'ws';

export class Sockets {
  private readonly open: WebSocket[] = [];
  constructor(private readonly port: () => number) {}

  /** Connects to PATH with HEADERS; rejects with .status on an HTTP answer instead of an upgrade. */
  connect(path: string, headers: Record<string, string>): Promise<WebSocket> {
    return new Promise((res, rej) => {
      const w = new WebSocket(`ws://127.0.0.1:${this.port()}${path}`, { headers });
      this.open.push(w);
      w.once('open', () => res(w));
      w.once('unexpected-response', (_req, r) => rej(Object.assign(new Error(`HTTP ${r.statusCode}`), { status: r.statusCode })));
      w.once('error', rej);
    });
  }

  /** An agent connection that said hello and got its welcome. */
  async agent(token: string, hello: object): Promise<{ ws: WebSocket; welcome: Record<string, unknown> }> {
    const ws = await this.connect('/agent', { authorization: `Bearer ${token}` });
    const w = message(ws, 'welcome');
    ws.send(JSON.stringify(hello));
    return { ws, welcome: await w };
  }

  closeAll(): void {
    for (const w of this.open) w.terminate();
  }
}

export const closed = (w: WebSocket) =>
  new Promise<{ code: number; reason: string }>((res) => (w.readyState === WebSocket.CLOSED ? res({ code: -1, reason: '' }) : w.once('close', (code, reason) => res({ code, reason: reason.toString() }))));

export const message = (w: WebSocket, type: string) =>
  new Promise<Record<string, unknown>>((res) => {
    const on = (d: WebSocket.RawData) => {
      const m = JSON.parse(String(d));
      if (m.type === type) {
        w.off('message', on);
        res(m);
      }
    };
    w.on('message', on);
  });
