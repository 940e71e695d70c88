// Agent sessions on /agent: token checked at the upgrade, every frame checked on receipt.
// A bad frame closes only its own connection, with a reason that names the problem; a frame
// that makes a handler throw closes its connection with 1011 and never the process.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Value } from 'typebox/value';
import { decode, type RejectReason } from '../protocol/decode.js';
import {
  AgentMessages,
  Hello as HelloSchema,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ScriptAvailability as ScriptAvailabilitySchema,
  Zone as ZoneSchema,
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
import { forgetNodeSeries, type ServerMetrics } from './metrics.js';
import type { NodeOwner, Store, TokenRow } from './store.js';
import type { StoreFaults } from './store-faults.js';
import { sdTarget } from './sd-target.js';
import { LogLimiter } from './log-limiter.js';

export type CloseReason = RejectReason | 'no-hello' | 'hello-timeout' | 'node-taken' | 'node-cap' | 'handler-error';

/** Close codes: 1007 bad payload, 1008 policy, 1009 too big, 1011 server error, 4000 replaced. */
const CLOSE: Record<CloseReason, number> = {
  'node-taken': 1008,
  'node-cap': 1008,
  'not-json': 1007,
  'bad-shape': 1007,
  'too-deep': 1007,
  'bad-version': 1008,
  'unknown-type': 1008,
  'too-large': 1009,
  'no-hello': 1008,
  'hello-timeout': 1008,
  'handler-error': 1011,
};

export interface HubOptions {
  maxFrameBytes: number;
  /** a connection that has not said hello by then is closed */
  helloTimeoutMs: number;
  /** most /agent connections at once (authenticated or not yet) */
  maxConnections: number;
  /** most node names one agent token may hold */
  maxNodesPerToken: number;
  /** hosts a hello's metricsUrl may name besides the address the agent connected from */
  sdAllowHosts: string[];
}

export const DEFAULT_HUB: HubOptions = { maxFrameBytes: MAX_FRAME_BYTES, helloTimeoutMs: 5000, maxConnections: 10_000, maxNodesPerToken: 1000, sdAllowHosts: [] };

/** What an agent sends back to a request (see Hub.request). */
export type AgentAnswer = VmResult | ProcsResult;

export interface HubEvents {
  'trace-frame': [node: string, msg: TraceFrame];
  'trace-end': [node: string, msg: TraceEnd];
  disconnect: [node: string];
}

type Log = { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };

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
  /** node name → owning token, as last read or written (the store may be unwritable) */
  private readonly owners = new Map<string, NodeOwner>();
  /** refused takeovers audited lately (token, node → when): one row a minute, not one a try */
  private readonly auditedRefusals = new Map<string, number>();
  private readonly logs: LogLimiter;
  readonly opts: HubOptions;

  constructor(
    private readonly fleet: Fleet,
    private readonly store: Store,
    private readonly metrics: ServerMetrics,
    private readonly log: Log,
    readonly faults: StoreFaults,
    opts: Partial<HubOptions> = {},
  ) {
    super();
    this.opts = { ...DEFAULT_HUB, ...opts };
    this.logs = new LogLimiter(log);
    // ws refuses frames over its own ceiling before buffering them (close 1009); below it we
    // check the real limit ourselves, so the close reason can say how big the frame was.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxFrameBytes * 2 });
    this.pinger = setInterval(() => this.heartbeat(), 15_000).unref();
    for (const o of faults.attempt('read node owners', () => store.nodeOwners()) ?? []) this.owners.set(o.node, o);
  }

  get maxFrameBytes(): number {
    return this.opts.maxFrameBytes;
  }

  /** Handle an HTTP upgrade to /agent: 401 without a valid agent token, 503 over the cap. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    let user: TokenRow | undefined;
    try {
      user = verifyToken(this.store, requestToken(req));
    } catch (e) {
      // a damaged tokens table: no agent can be let in, and the server must not die of it
      this.faults.note('read token', e);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\ntoken store unavailable\n');
      return;
    }
    if (!user || user.role !== 'agent') {
      this.metrics.authFailures.inc({ route: '/agent', reason: 'token' });
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nmissing or invalid agent token\n');
      return;
    }
    if (this.wss.clients.size >= this.opts.maxConnections) {
      this.metrics.agentConnectionsRefused.inc({ reason: 'connection-cap' });
      this.logs.warn('connection-cap', { token: user.name }, `agent connection refused: ${this.opts.maxConnections} /agent connections are open (--max-agent-connections)`);
      socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 30\r\nConnection: close\r\n\r\ntoo many agent connections\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.session(ws, user, req.socket.remoteAddress ?? ''));
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

  /** Open /agent connections, said hello or not. */
  get connections(): number {
    return this.wss.clients.size;
  }

  close(): void {
    // sockets close after this returns, when the store may be gone: nothing is recorded then
    this.closed = true;
    clearInterval(this.pinger);
    for (const ws of this.sessions.values()) ws.close(1001, 'server shutting down');
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private session(ws: WebSocket, user: TokenRow, remote: string): void {
    const tokenName = user.name;
    this.tokenOf.set(ws, user.id);
    let node: string | undefined;
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    // an idle socket costs a file descriptor and memory: say who you are or go
    // A starved event loop runs due timers before it reads sockets, so a hello that came in
    // time would be blamed, and a loaded server would refuse a whole fleet reconnecting at once.
    // The verdict waits for setImmediate, which runs after the next read of the sockets.
    const helloTimer = setTimeout(() => setImmediate(() => {
      if (node === undefined && ws.readyState === ws.OPEN) reject('hello-timeout', `no hello within ${this.opts.helloTimeoutMs / 1000}s of connecting`);
    }), this.opts.helloTimeoutMs);
    helloTimer.unref();

    // once a connection is refused, frames already on their way are not read: one rejection
    // per connection, and nothing a refused agent sent after it is taken
    let refused = false;
    const reject = (reason: CloseReason, message: string) => {
      if (refused) return;
      refused = true;
      // every rejection is counted; the log says it once a minute per reason, with how many
      this.metrics.framesRejected.inc({ reason });
      this.logs.warn(reason, { node, token: tokenName, reason }, `agent frame rejected: ${message}`);
      // close reasons are limited to 123 bytes by the protocol
      ws.close(CLOSE[reason], Buffer.from(message).subarray(0, 123).toString());
    };

    const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
      const receivedAt = performance.now();
      this.alive.add(ws);
      const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
      if (bytes > this.opts.maxFrameBytes) return reject('too-large', `frame of ${bytes} bytes is over the ${this.opts.maxFrameBytes}-byte limit`);
      if (isBinary) return reject('not-json', 'binary frame: frames are JSON text');
      const d = decode(AgentMessages, data.toString());
      if (!d.ok) return reject(d.reason, d.message);
      const msg = d.msg as AgentMessage;
      this.metrics.framesReceived.inc({ type: msg.type });
      if (msg.type === 'hello') {
        if (node) return reject('bad-shape', 'hello: sent twice on one connection');
        // fields the schema does not name are not kept (they would reach API clients verbatim)
        Value.Clean(HelloSchema, msg);
        const refused = this.claim(msg.node, user, remote);
        if (refused) return reject(refused.reason, refused.message);
        clearTimeout(helloTimer);
        node = msg.node;
        this.hello(ws, msg, remote);
        return;
      }
      if (!node) return reject('no-hello', `${msg.type}: the first frame must be hello`);
      this.dispatch(ws, node, msg, receivedAt);
    };

    ws.on('message', (data, isBinary) => {
      // a connection being closed (refused, replaced by a newer one, revoked) reads nothing more
      if (this.closed || refused || ws.readyState !== ws.OPEN) return;
      try {
        onMessage(data, isBinary);
      } catch (e) {
        // a bug or a value no check foresaw: this connection ends, the server goes on
        this.log.error({ node, token: tokenName, err: (e as Error).stack }, 'agent frame handler failed');
        reject('handler-error', `server error handling the frame: ${(e as Error).message}`);
      }
    });

    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (this.closed) return;
      if (node && this.sessions.get(node) === ws) {
        this.sessions.delete(node);
        this.metrics.agentsConnected.set(this.sessions.size);
        this.fleet.disconnect(node);
        try {
          this.emit('disconnect', node);
        } catch (e) {
          this.log.error({ node, err: (e as Error).stack }, 'agent disconnect handler failed');
        }
        this.log.info({ node }, 'agent disconnected');
      }
    });
    ws.on('error', (err) => {
      // ws closes the socket itself (e.g. 1009 over the hard ceiling); count it like ours
      const reason: RejectReason = /max payload/i.test(err.message) ? 'too-large' : 'bad-shape';
      this.metrics.framesRejected.inc({ reason });
      this.logs.warn(reason, { node, err: err.message }, 'agent connection error');
    });
  }

  /**
   * May this token say hello as `node`? A name belongs to the token that first used it (or to
   * the one made for it with `token create --node`): another token is refused, also while the
   * owner is away — otherwise a leaked token could stand in for any node and feed it fake data.
   */
  private claim(node: string, user: TokenRow, remote: string): { reason: CloseReason; message: string } | undefined {
    // the store has the truth (`token create --node` writes it from another process); when it
    // cannot be read, what this server last knew
    const stored = this.faults.attempt('read node owner', () => this.store.nodeOwner(node));
    const owner = stored ?? this.owners.get(node);
    if (owner) {
      this.owners.set(node, owner);
      if (owner.tokenId === user.id) return undefined;
      const key = `${user.id}\0${node}`;
      const now = Date.now();
      if (now - (this.auditedRefusals.get(key) ?? 0) >= 60_000) {
        if (this.auditedRefusals.size > 10_000) this.auditedRefusals.clear();
        this.auditedRefusals.set(key, now);
        this.faults.attempt('write audit', () => this.store.audit(`agent:${user.name}`, 'node.refused', node, { token: user.id, owner: owner.tokenId }, remote));
      }
      return { reason: 'node-taken', message: `hello: node '${node}' belongs to another agent token` };
    }
    let held = 0;
    for (const o of this.owners.values()) if (o.tokenId === user.id) held++;
    if (held >= this.opts.maxNodesPerToken) {
      return { reason: 'node-cap', message: `hello: this token already holds ${held} nodes (--max-nodes-per-token)` };
    }
    const mine: NodeOwner = { node, tokenId: user.id, bound: false };
    this.owners.set(node, mine);
    this.faults.attempt('write node owner', () => this.store.setNodeOwner(node, user.id, false));
    this.faults.attempt('write audit', () => this.store.audit(`agent:${user.name}`, 'node.claim', node, { token: user.id }, remote));
    return undefined;
  }

  private hello(ws: WebSocket, msg: Hello, remote: string): void {
    const old = this.sessions.get(msg.node);
    if (old && old !== ws) old.close(4000, 'replaced by a newer connection of the same node');
    this.sessions.set(msg.node, ws);
    this.metrics.agentsConnected.set(this.sessions.size);

    // only a scrape target on the agent's own address (or one an admin allowed) is listed by /sd
    if (msg.metricsUrl !== undefined) {
      const t = sdTarget(msg.metricsUrl, remote, this.opts.sdAllowHosts);
      if (typeof t === 'string') {
        this.logs.warn('metrics-url', { node: msg.node }, `hello: metricsUrl not listed by /sd: ${t}`);
        delete msg.metricsUrl;
      } else {
        if (t.rewritten) this.logs.warn('metrics-url', { node: msg.node }, `hello: metricsUrl ${t.rewritten}`);
        msg.metricsUrl = t.url.href;
      }
    }

    // Resume: same agent run (epoch) → continue after the last frame received; a new run
    // starts over. The store has it across restarts; memory has it when the store failed.
    const saved = this.faults.attempt('read node_seq', () => this.store.nodeSeq(msg.node));
    const prev = this.fleet.nodes.get(msg.node);
    const fromStore = saved && saved.epoch === msg.epoch ? saved.lastSeq : 0;
    const fromMemory = prev && prev.seq.epoch === msg.epoch ? prev.seq.last : 0;
    const lastSeq = Math.max(fromStore, fromMemory);
    if (!saved || saved.epoch !== msg.epoch) this.faults.attempt('write node_seq', () => this.store.saveNodeSeq(msg.node, { epoch: msg.epoch, lastSeq }));
    const seq = prev && prev.seq.epoch === msg.epoch ? { ...prev.seq, last: lastSeq } : { epoch: msg.epoch, last: lastSeq, received: 0, gaps: 0 };
    this.fleet.connect(msg, seq);
    this.sendTo(ws, { v: PROTOCOL_VERSION, type: 'welcome', lastSeq });
    this.log.info({ node: msg.node, platform: msg.platform, simulated: msg.simulated, lastSeq }, 'agent connected');
  }

  private dispatch(ws: WebSocket, node: string, msg: AgentMessage, receivedAt = performance.now()): void {
    switch (msg.type) {
      case 'scripts':
        for (const a of msg.scripts) Value.Clean(ScriptAvailabilitySchema, a);
        this.fleet.setScripts(node, msg.scripts);
        break;
      case 'zones':
        for (const z of msg.zones) Value.Clean(ZoneSchema, z);
        this.fleet.setZones(node, msg.zones);
        break;
      case 'samples': {
        const st = this.fleet.nodes.get(node);
        if (this.fleet.addSamples(node, msg) && st) {
          // a full disk must not lose the frame: it is in memory, the position is retried next frame
          this.faults.attempt('write node_seq', () => this.store.saveNodeSeq(node, { epoch: st.seq.epoch, lastSeq: st.seq.last }));
          // the sampler label comes from the agent: keep it to sampler-like names, so a
          // confused agent cannot mint series without end
          for (const e of msg.errors) this.metrics.samplerErrors.inc({ node, sampler: /^[a-z0-9_-]{1,32}$/.test(e.sampler) ? e.sampler : 'other' });
        }
        this.sendTo(ws, { v: PROTOCOL_VERSION, type: 'ack', seq: msg.seq });
        this.metrics.samplesStored.observe((performance.now() - receivedAt) / 1000);
        break;
      }
      case 'ping':
        this.sendTo(ws, { v: PROTOCOL_VERSION, type: 'pong', time: msg.time });
        break;
      case 'pong':
        break;
      case 'error':
        this.logs.warn(`agent-error:${node}`, { node, code: msg.code, id: msg.id }, `agent error: ${msg.message}`);
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

  /** Nodes unseen for --forget-after leave the fleet, with their series and resume position. */
  forgetIdle(now = Date.now()): string[] {
    const gone = this.fleet.forgetIdle(now);
    for (const node of gone) {
      const o = this.owners.get(node);
      if (o && !o.bound) this.owners.delete(node);
      this.faults.attempt('forget node', () => this.store.forgetNode(node));
      void forgetNodeSeries(this.metrics, node);
      this.log.info({ node }, 'node forgotten: unseen for longer than --forget-after');
    }
    return gone;
  }

  /** Drop connections that stopped answering pings (a half-open TCP never closes by itself). */
  private heartbeat(): void {
    for (const ws of this.wss.clients) {
      const id = this.tokenOf.get(ws);
      // revoked elsewhere (`zonescope token revoke` writes the store from another process)
      const active = id === undefined ? true : this.faults.attempt('read token', () => this.store.tokenActive(id)) ?? true;
      if (!active) ws.close(1008, 'token revoked');
      else if (!this.alive.delete(ws)) ws.terminate();
      else ws.ping();
    }
    this.forgetIdle();
  }
}
