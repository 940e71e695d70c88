// Agent sessions on /agent: token checked at the upgrade, every frame checked on receipt.
// A bad frame closes only its own connection, with a reason that names the problem.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { decode, type RejectReason } from '../protocol/decode.js';
import {
  AgentMessages,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type AgentMessage,
  type Hello,
  type ServerMessage,
  type TraceEnd,
  type TraceFrame,
  type VmResult,
  type ProcsResult,
} from '../protocol/messages.js';
import { requestToken, verifyToken } from './auth.js';
import type { Fleet } from './fleet.js';
import type { ServerMetrics } from './metrics.js';
import type { Store, TokenRow } from './store.js';

/** Close codes: 1007 bad payload, 1008 policy, 1009 too big, 4000 replaced. */
const CLOSE: Record<RejectReason | 'no-hello' | 'node-taken', number> = {
  'node-taken': 1008,
  'not-json': 1007,
  'bad-shape': 1007,
  'bad-version': 1008,
  'unknown-type': 1008,
  'too-large': 1009,
  'no-hello': 1008,
};

/** What an agent sends back to a request (see Hub.request). */
export type AgentAnswer = VmResult | ProcsResult;

export interface HubEvents {
  'trace-frame': [node: string, msg: TraceFrame];
  'trace-end': [node: string, msg: TraceEnd];
  disconnect: [node: string];
}

export class Hub extends EventEmitter<HubEvents> {
  private readonly wss: WebSocketServer;
  private readonly sessions = new Map<string, WebSocket>();
  /** the token each connection authenticated with: revoking it cuts the connection */
  private readonly tokenOf = new WeakMap<WebSocket, number>();
  private pinger?: NodeJS.Timeout;
  private closed = false;
  /** connections heard from (pong or frame) since the last heartbeat */
  private readonly alive = new WeakSet<WebSocket>();
  /** requests waiting for their agent's answer, by id */
  private readonly pending = new Map<string, { node: string; done: (answer: AgentAnswer) => void }>();

  constructor(
    private readonly fleet: Fleet,
    private readonly store: Store,
    private readonly metrics: ServerMetrics,
    private readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void },
    readonly maxFrameBytes = MAX_FRAME_BYTES,
  ) {
    super();
    // ws refuses frames over its own ceiling before buffering them (close 1009); below it we
    // check the real limit ourselves, so the close reason can say how big the frame was.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes * 2 });
    this.pinger = setInterval(() => this.heartbeat(), 15_000).unref();
  }

  /** Handle an HTTP upgrade to /agent: 401 without a valid agent token. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const user = verifyToken(this.store, requestToken(req));
    if (!user || user.role !== 'agent') {
      this.metrics.authFailures.inc({ endpoint: '/agent' });
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nmissing or invalid agent token\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.session(ws, user));
  }

  /** A token was revoked: its agents are cut now, not left streaming until they reconnect. */
  revokeToken(id: number): void {
    for (const ws of this.wss.clients) if (this.tokenOf.get(ws) === id) ws.close(1008, 'token revoked');
  }

  /**
   * Send a request and wait for the answer that carries its id: the agent's answer, undefined
   * after `timeoutMs`, or false at once when the node is not connected.
   */
  async request<A extends AgentAnswer>(node: string, msg: ServerMessage & { id: string }, timeoutMs: number): Promise<A | undefined | false> {
    let timer: NodeJS.Timeout | undefined;
    const answer = new Promise<A | undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.pending.set(msg.id, { node, done: (a) => resolve(a as A) });
    });
    try {
      if (!this.send(node, msg)) return false;
      return await answer;
    } finally {
      clearTimeout(timer);
      this.pending.delete(msg.id);
    }
  }

  send(node: string, msg: ServerMessage): boolean {
    const ws = this.sessions.get(node);
    if (!ws || ws.readyState !== ws.OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  connected(node: string): boolean {
    return this.sessions.has(node);
  }

  close(): void {
    // sockets close after this returns, when the store may be gone: nothing is recorded then
    this.closed = true;
    clearInterval(this.pinger);
    for (const ws of this.sessions.values()) ws.close(1001, 'server shutting down');
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private session(ws: WebSocket, user: TokenRow): void {
    const tokenName = user.name;
    this.tokenOf.set(ws, user.id);
    let node: string | undefined;
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));

    const reject = (reason: RejectReason | 'no-hello' | 'node-taken', message: string) => {
      this.metrics.framesRejected.inc({ reason });
      this.log.warn({ node, token: tokenName, reason }, `agent frame rejected: ${message}`);
      // close reasons are limited to 123 bytes by the protocol
      ws.close(CLOSE[reason], Buffer.from(message).subarray(0, 123).toString());
    };

    ws.on('message', (data, isBinary) => {
      if (this.closed) return;
      this.alive.add(ws);
      const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
      if (bytes > this.maxFrameBytes) return reject('too-large', `frame of ${bytes} bytes is over the ${this.maxFrameBytes}-byte limit`);
      if (isBinary) return reject('not-json', 'binary frame: frames are JSON text');
      const d = decode(AgentMessages, data.toString());
      if (!d.ok) return reject(d.reason, d.message);
      const msg = d.msg as AgentMessage;
      this.metrics.framesReceived.inc({ type: msg.type });
      if (msg.type === 'hello') {
        if (node) return reject('bad-shape', 'hello: sent twice on one connection');
        // another token may not take a node over: it would cut the real agent off, take its
        // traces and VM actions, and the two would throw each other off in turn
        const holder = this.sessions.get(msg.node);
        if (holder && holder !== ws && this.tokenOf.get(holder) !== user.id) {
          return reject('node-taken', `hello: node '${msg.node}' is connected with another token`);
        }
        node = msg.node;
        this.hello(ws, msg);
        return;
      }
      if (!node) return reject('no-hello', `${msg.type}: the first frame must be hello`);
      this.dispatch(ws, node, msg);
    });

    ws.on('close', () => {
      if (this.closed) return;
      if (node && this.sessions.get(node) === ws) {
        this.sessions.delete(node);
        this.metrics.agentsConnected.set(this.sessions.size);
        this.fleet.disconnect(node);
        this.emit('disconnect', node);
        this.log.info({ node }, 'agent disconnected');
      }
    });
    ws.on('error', (err) => {
      // ws closes the socket itself (e.g. 1009 over the hard ceiling); count it like ours
      const reason: RejectReason = /max payload/i.test(err.message) ? 'too-large' : 'bad-shape';
      this.metrics.framesRejected.inc({ reason });
      this.log.warn({ node, err: err.message }, 'agent connection error');
    });
  }

  private hello(ws: WebSocket, msg: Hello): void {
    const old = this.sessions.get(msg.node);
    if (old && old !== ws) old.close(4000, 'replaced by a newer connection of the same node');
    this.sessions.set(msg.node, ws);
    this.metrics.agentsConnected.set(this.sessions.size);

    // Resume: same agent run (epoch) → continue after the last stored frame; a new run starts over.
    const saved = this.store.nodeSeq(msg.node);
    const lastSeq = saved && saved.epoch === msg.epoch ? saved.lastSeq : 0;
    if (!saved || saved.epoch !== msg.epoch) this.store.saveNodeSeq(msg.node, { epoch: msg.epoch, lastSeq: 0 });
    const prev = this.fleet.nodes.get(msg.node);
    const seq = prev && prev.seq.epoch === msg.epoch ? { ...prev.seq, last: lastSeq } : { epoch: msg.epoch, last: lastSeq, received: 0, gaps: 0 };
    this.fleet.connect(msg, seq);
    this.sendTo(ws, { v: PROTOCOL_VERSION, type: 'welcome', lastSeq });
    this.log.info({ node: msg.node, platform: msg.platform, simulated: msg.simulated, lastSeq }, 'agent connected');
  }

  private dispatch(ws: WebSocket, node: string, msg: AgentMessage): void {
    switch (msg.type) {
      case 'zones':
        this.fleet.setZones(node, msg.zones);
        break;
      case 'samples': {
        const st = this.fleet.nodes.get(node);
        if (this.fleet.addSamples(node, msg) && st) {
          this.store.saveNodeSeq(node, { epoch: st.seq.epoch, lastSeq: st.seq.last });
          // the sampler label comes from the agent: keep it to sampler-like names, so a
          // confused agent cannot mint series without end
          for (const e of msg.errors) this.metrics.samplerErrors.inc({ node, sampler: /^[a-z0-9_-]{1,32}$/.test(e.sampler) ? e.sampler : 'other' });
        }
        this.sendTo(ws, { v: PROTOCOL_VERSION, type: 'ack', seq: msg.seq });
        break;
      }
      case 'ping':
        this.sendTo(ws, { v: PROTOCOL_VERSION, type: 'pong', time: msg.time });
        break;
      case 'pong':
        break;
      case 'error':
        this.log.warn({ node, code: msg.code, id: msg.id }, `agent error: ${msg.message}`);
        if (msg.id) this.emit('trace-end', node, { v: PROTOCOL_VERSION, type: 'trace-end', id: msg.id, status: 'failed', error: msg.message });
        break;
      case 'trace-frame':
        this.emit('trace-frame', node, msg);
        break;
      case 'trace-end':
        this.emit('trace-end', node, msg);
        break;
      case 'vm-result':
      case 'procs-result':
        // only the node the request went to may answer it
        if (this.pending.get(msg.id)?.node === node) this.pending.get(msg.id)!.done(msg);
        break;
    }
  }

  private sendTo(ws: WebSocket, msg: ServerMessage): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }

  /** Drop connections that stopped answering pings (a half-open TCP never closes by itself). */
  private heartbeat(): void {
    for (const ws of this.wss.clients) {
      const id = this.tokenOf.get(ws);
      // revoked elsewhere (`zonescope token revoke` writes the store from another process)
      if (id !== undefined && !this.store.tokenActive(id)) ws.close(1008, 'token revoked');
      else if (!this.alive.delete(ws)) ws.terminate();
      else ws.ping();
    }
  }
}
