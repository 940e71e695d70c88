// The agent's WebSocket to the server. Samples are kept until the server acknowledges them,
// so a server restart loses nothing: on reconnect the server says the last sequence number
// it stored (welcome) and the link resends what came after. The buffer is bounded; what
// overflows is counted and reported in the next hello.
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { decode } from '../protocol/decode.js';
import { MAX_FRAME_BYTES, PROTOCOL_VERSION, ServerMessages, type AgentMessage, type Hello, type Samples, type ServerMessage, type Zone } from '../protocol/messages.js';
import type { Log } from './log.js';
import { explainConnectError } from './tls-trust.js';

/** the server's close code for a connection replaced by a newer one of the same node */
const REPLACED = 4000;

export interface LinkOptions {
  url: string;
  token: string;
  hello: () => Omit<Hello, 'dropped'>;
  log: Log;
  /** most sample frames kept while disconnected */
  maxBuffer?: number;
  /** most bytes of sample frames kept while disconnected (frames are kept serialized) */
  maxBufferBytes?: number;
  backoffMinMs?: number;
  backoffMaxMs?: number;
  /** PEM CA certificate(s) to trust for a wss:// server (a private CA), instead of the system's */
  ca?: string;
  /** the server certificate's SHA-256 fingerprint (as X509Certificate.fingerprint256): only that
   * certificate is accepted, whatever name it holds (the server's own agent in `start`) */
  pin?: string;
}

export interface LinkEvents {
  message: [msg: ServerMessage];
  connected: [];
  disconnected: [reason: string];
  /** the server stored a samples frame `ms` after it was sent on this connection */
  acked: [seq: number, ms: number];
}

export class Link extends EventEmitter<LinkEvents> {
  private ws?: WebSocket;
  private ready = false;
  private stopped = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  private keepalive?: NodeJS.Timeout;
  /** unacknowledged frames, serialized once: their text is what is kept and resent */
  private buffer: { seq: number; text: string }[] = [];
  /** when each frame in flight was sent (for the acked event) */
  private readonly sentAt = new Map<number, number>();
  private bufferBytes = 0;
  private zones?: Zone[];
  /** when the current connection was welcomed; only a connection that stayed up resets the backoff */
  private welcomedAt = 0;
  private lastFailure?: string;
  private lastFailureAt = 0;
  private newestSeq = 0;
  /** frames dropped from a full buffer since the agent started */
  dropped = 0;
  readonly maxBuffer: number;
  readonly maxBufferBytes: number;

  constructor(private readonly o: LinkOptions) {
    super();
    this.maxBuffer = o.maxBuffer ?? 8640;
    this.maxBufferBytes = o.maxBufferBytes ?? 64 * 1024 * 1024;
  }

  /** The hello this link sends (without the dropped count, which changes). */
  helloFrame(): Omit<Hello, 'dropped'> {
    return this.o.hello();
  }

  get connected(): boolean {
    return this.ready;
  }

  get buffered(): number {
    return this.buffer.length;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    this.ws?.close(1000, 'agent stopping');
  }

  /** Queue a samples frame; it is resent after reconnects until acknowledged. */
  sendSamples(frame: Samples): void {
    this.newestSeq = Math.max(this.newestSeq, frame.seq);
    const text = JSON.stringify(frame);
    if (text.length > MAX_FRAME_BYTES) {
      this.o.log.warn(`dropping samples frame ${frame.seq}: ${text.length} bytes is over the frame limit`);
      this.dropped++;
      return;
    }
    this.buffer.push({ seq: frame.seq, text });
    this.bufferBytes += text.length;
    // a day of frames for a small node, less for a large one: memory is the bound that matters
    while (this.buffer.length > this.maxBuffer || this.bufferBytes > this.maxBufferBytes) {
      this.bufferBytes -= this.buffer.shift()!.text.length;
      this.dropped++;
    }
    if (this.ready) {
      this.ws?.send(text);
      this.sentAt.set(frame.seq, performance.now());
    }
  }

  /** Latest zone list: sent now if connected, and again after every reconnect. */
  sendZones(zones: Zone[]): void {
    this.zones = zones;
    if (this.ready) this.write({ v: PROTOCOL_VERSION, type: 'zones', zones });
  }

  /** Fire-and-forget messages (trace frames, results): sent only while connected. */
  send(msg: AgentMessage): boolean {
    if (!this.ready) return false;
    this.write(msg);
    return true;
  }

  private write(msg: AgentMessage): void {
    const text = JSON.stringify(msg);
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES) {
      this.o.log.warn(`not sending ${msg.type}: ${Buffer.byteLength(text)} bytes is over the frame limit`);
      return;
    }
    this.ws?.send(text);
  }

  private connect(): void {
    const tls = {
      ...(this.o.ca ? { ca: this.o.ca } : {}),
      // runs only once the chain is trusted, and before any byte (the token) is sent
      ...(this.o.pin ? { checkServerIdentity: (_host: string, cert: { fingerprint256: string }) => (cert.fingerprint256 === this.o.pin ? undefined : new Error(`the server's certificate is not the one pinned (${cert.fingerprint256})`)) } : {}),
    };
    const ws = new WebSocket(this.o.url, { headers: { authorization: `Bearer ${this.o.token}` }, maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000, ...tls });
    this.ws = ws;
    let alive = true;
    let opened = false;
    let refused = false;
    ws.on('open', () => {
      opened = true;
      this.write({ ...this.o.hello(), dropped: this.dropped });
      clearInterval(this.keepalive);
      this.keepalive = setInterval(() => {
        if (!alive) return ws.terminate(); // half-open: no pong in a whole period
        alive = false;
        ws.ping();
      }, 15_000);
    });
    ws.on('pong', () => (alive = true));
    ws.on('message', (data) => {
      alive = true;
      const d = decode(ServerMessages, data.toString());
      if (!d.ok) {
        this.o.log.warn(`server sent a bad frame (${d.reason}): ${d.message}`);
        return;
      }
      this.onMessage(d.msg as ServerMessage);
    });
    ws.on('unexpected-response', (_req, res) => {
      refused = true;
      this.failure('error', `server refused the connection: HTTP ${res.statusCode}${res.statusCode === 401 ? ' (check the agent token)' : ''}`);
      ws.terminate();
    });
    ws.on('error', (err) => {
      // an unreachable server (wrong URL, firewall, server down) must show at the default level
      // (a certificate that is not trusted is an error: retrying will not fix it by itself)
      if (!opened && !refused && !this.stopped) {
        const why = explainConnectError(err);
        this.failure(why.tls ? 'error' : 'warn', `cannot connect to ${this.o.url}: ${why.message || err.name}; retrying`);
      }
      else this.o.log.debug(`link error: ${err.message}`);
    });
    ws.on('close', (code, reason) => {
      this.sentAt.clear(); // resent frames are timed afresh
      clearInterval(this.keepalive);
      const was = this.ready;
      this.ready = false;
      const why = `${code}${reason.length ? ` ${reason}` : ''}`;
      if (was && Date.now() - this.welcomedAt >= (this.o.backoffMaxMs ?? 10_000)) {
        this.attempt = 0;
        this.lastFailure = undefined;
      }
      if (code === REPLACED) {
        // Our own stale connection is never replaced under us (we drop it before reconnecting),
        // so this is another agent using the same node name: reconnecting at once would
        // evict it, and the two would take turns for ever.
        this.attempt = Math.max(this.attempt, 64);
        this.failure('error', `another agent connected as node '${this.o.hello().node}' and replaced this one: give each agent its own --node; retrying slowly`);
      }
      if (was) {
        if (code !== REPLACED) this.o.log.warn(`disconnected from server (${why}); buffering samples`);
        this.emit('disconnected', why);
      }
      if (!this.stopped) this.reconnectLater();
    });
  }

  /** Drop buffered frames the server has stored (seq numbers are increasing in the buffer). */
  private forget(upTo: number): void {
    let i = 0;
    while (i < this.buffer.length && this.buffer[i].seq <= upTo) this.bufferBytes -= this.buffer[i++].text.length;
    if (i) this.buffer.splice(0, i);
  }

  private onMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'welcome': {
        // The server discards frames at or below lastSeq: one past what this run has made means
        // its record is of another process with this node name and epoch, and frames would vanish.
        if (msg.lastSeq > this.newestSeq)
          this.o.log.error(`server says it has frames up to seq ${msg.lastSeq}, but this agent has made only ${this.newestSeq}: it will ignore frames up to ${msg.lastSeq} (is another agent running as node '${this.o.hello().node}'?)`);
        this.forget(msg.lastSeq);
        this.ready = true;
        this.welcomedAt = Date.now();
        this.o.log.info(`connected to ${this.o.url}; server has up to seq ${msg.lastSeq}, resending ${this.buffer.length} buffered frame(s)${this.dropped ? `, ${this.dropped} dropped while disconnected` : ''}`);
        if (this.zones) this.write({ v: PROTOCOL_VERSION, type: 'zones', zones: this.zones });
        for (const f of this.buffer) this.ws?.send(f.text);
        this.emit('connected');
        break;
      }
      case 'ack': {
        this.forget(msg.seq);
        const at = this.sentAt.get(msg.seq);
        if (at !== undefined) this.emit('acked', msg.seq, performance.now() - at);
        // acks are cumulative: what was sent before is stored too
        for (const seq of this.sentAt.keys()) if (seq <= msg.seq) this.sentAt.delete(seq);
        break;
      }
      case 'ping':
        this.write({ v: PROTOCOL_VERSION, type: 'pong', time: msg.time });
        break;
      default:
        this.emit('message', msg);
    }
  }

  /** The same failure over and over is logged once, then every 10 minutes; debug in between. */
  private failure(level: 'warn' | 'error', msg: string): void {
    const now = Date.now();
    if (msg === this.lastFailure && now - this.lastFailureAt < 600_000) return this.o.log.debug(msg);
    this.lastFailure = msg;
    this.lastFailureAt = now;
    this.o.log[level](msg);
  }

  /** Capped exponential backoff with jitter, so a restarted server is not stampeded. */
  private reconnectLater(): void {
    const min = this.o.backoffMinMs ?? 500;
    const max = this.o.backoffMaxMs ?? 10_000;
    const base = Math.min(max, min * 2 ** Math.min(this.attempt++, 64));
    const delay = base / 2 + Math.random() * (base / 2);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}
