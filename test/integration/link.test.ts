// The agent's link against a bare WebSocket server: bounded buffer while disconnected, the
// overflow reported in the next hello, resume from the server's last stored sequence, and
// servers that keep turning it away.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { Link } from '../../agent/link.js';
import { PROTOCOL_VERSION, type Samples } from '../../protocol/messages.js';
import { freePort, until } from '../helpers/cli.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const frame = (seq: number): Samples => ({ v: PROTOCOL_VERSION, type: 'samples', seq, time: seq, points: [], errors: [] });

describe('agent link', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('keeps at most maxBuffer frames while disconnected, reports the overflow, resends after lastSeq', async () => {
    const port = await freePort();
    const link = new Link({
      url: `ws://127.0.0.1:${port}/agent`,
      token: 't',
      log: quiet,
      maxBuffer: 5,
      backoffMinMs: 50,
      backoffMaxMs: 100,
      hello: () => ({ v: PROTOCOL_VERSION, type: 'hello', node: 'n', hostname: 'n', platform: 'linux', simulated: false, tracer: { name: 'bpftrace', available: false }, capabilities: [], agentVersion: 't', epoch: 1, intervalS: 1 }),
    });
    cleanup.push(() => link.stop());
    link.start(); // nobody listens yet: the link keeps retrying
    for (let s = 1; s <= 10; s++) link.sendSamples(frame(s));
    expect(link.buffered).toBe(5);
    expect(link.dropped).toBe(5);

    const got: { type: string; seq?: number; dropped?: number }[] = [];
    const wss = new WebSocketServer({ port, host: '127.0.0.1' });
    cleanup.push(() => wss.close());
    wss.on('connection', (ws) => {
      cleanup.push(() => ws.terminate());
      ws.on('message', (d) => {
        const m = JSON.parse(String(d));
        got.push(m);
        // the server already stored up to 7: only 8, 9, 10 must come
        if (m.type === 'hello') ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'welcome', lastSeq: 7 }));
        if (m.type === 'samples') ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'ack', seq: m.seq }));
      });
    });
    await until('the backlog', () => got.filter((m) => m.type === 'samples').length >= 3, 5000, 20);
    expect(got[0]).toMatchObject({ type: 'hello', dropped: 5 });
    expect(got.filter((m) => m.type === 'samples').map((m) => m.seq)).toEqual([8, 9, 10]);
    await until('acks to empty the buffer', () => link.buffered === 0, 2000, 20);
  });

  it('bounds the buffer by bytes too, so a large node cannot fill the agent\'s memory', () => {
    const link = new Link({
      url: 'ws://127.0.0.1:9/agent',
      token: 't',
      log: quiet,
      maxBufferBytes: 2000,
      hello: () => ({ v: PROTOCOL_VERSION, type: 'hello', node: 'n', hostname: 'n', platform: 'linux', simulated: false, tracer: { name: 'bpftrace', available: false }, capabilities: [], agentVersion: 't', epoch: 1, intervalS: 1 }),
    });
    const big = (seq: number): Samples => ({ ...frame(seq), points: Array.from({ length: 10 }, (_, i) => ({ f: 'zone_pids', l: { zone: `z${i}` }, v: i })) });
    const size = JSON.stringify(big(1)).length;
    for (let s = 1; s <= 20; s++) link.sendSamples(big(s));
    // never started: nothing was sent, only the newest frames that fit are kept
    expect(link.buffered).toBe(Math.floor(2000 / size));
    expect(link.dropped).toBe(20 - link.buffered);
  });
});

// The link against servers that keep turning it away: a second agent with the same node name
// (close 4000), a server that rejects each connection after welcome, a wrong token (401) and
// an unreachable server. None may be hammered, and the operator must be told why, once.
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function recordingLog() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

function makeLink(url: string, log: ReturnType<typeof recordingLog>['log']) {
  return new Link({
    url,
    token: 't',
    log,
    backoffMinMs: 20,
    backoffMaxMs: 600,
    hello: () => ({ v: PROTOCOL_VERSION, type: 'hello', node: 'cn7', hostname: 'cn7', platform: 'linux', simulated: false, tracer: { name: 'bpftrace', available: false }, capabilities: [], agentVersion: 't', epoch: 1, intervalS: 1 }),
  });
}

/** A WebSocket server that welcomes every agent and then closes it with `code`. */
async function welcomingThenClosing(code: number, reason: string) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (d) => {
      if (JSON.parse(String(d)).type !== 'hello') return;
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'welcome', lastSeq: 0 }));
      setTimeout(() => ws.close(code, reason), 10);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { http, wss, url: `ws://127.0.0.1:${(http.address() as { port: number }).port}/agent`, connections: () => connections };
}

describe('agent link turned away', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => cleanup.splice(0).forEach((f) => f()));

  it('replaced by another agent of the same node name (4000): backs off instead of taking turns, and says to use --node', async () => {
    const s = await welcomingThenClosing(4000, 'replaced by a newer connection of the same node');
    cleanup.push(() => (s.wss.close(), s.http.close()));
    const { lines, log } = recordingLog();
    const link = makeLink(s.url, log);
    cleanup.push(() => link.stop());
    link.start();
    await sleep(2000);
    // at most about one reconnect per backoffMaxMs (600 ms): evicting the other agent every few ms is a fight
    expect(s.connections()).toBeLessThanOrEqual(6);
    const errors = lines.filter((l) => l.level === 'error');
    expect(errors.length).toBe(1);
    expect(errors[0].msg).toMatch(/another agent.*'cn7'.*--node/);
  });

  it('a server that closes every connection right after welcome is retried with a growing delay', async () => {
    const s = await welcomingThenClosing(1008, 'samples: points/0/v must be number');
    cleanup.push(() => (s.wss.close(), s.http.close()));
    const { log } = recordingLog();
    const link = makeLink(s.url, log);
    cleanup.push(() => link.stop());
    link.start();
    await sleep(2000);
    // 20, 40, 80 ... 600 ms (jitter halves at most): about 8; resetting on each welcome gave ~50
    expect(s.connections()).toBeGreaterThanOrEqual(3);
    expect(s.connections()).toBeLessThanOrEqual(14);
  });

  it('a refused token is logged once as an error, not on every attempt', async () => {
    const http: Server = createServer();
    let attempts = 0;
    http.on('upgrade', (_req, sock) => {
      attempts++;
      sock.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    cleanup.push(() => http.close());
    const { lines, log } = recordingLog();
    const link = makeLink(`ws://127.0.0.1:${(http.address() as { port: number }).port}/agent`, log);
    cleanup.push(() => link.stop());
    link.start();
    await sleep(1500);
    expect(attempts).toBeGreaterThanOrEqual(3);
    const loud = lines.filter((l) => l.level === 'error' || l.level === 'warn');
    expect(loud).toEqual([{ level: 'error', msg: 'server refused the connection: HTTP 401 (check the agent token)' }]);
  });

  it('an unreachable server is reported at warn (once), not only in debug', async () => {
    const port = await freePort(); // nothing listens there
    const { lines, log } = recordingLog();
    const link = makeLink(`ws://127.0.0.1:${port}/agent`, log);
    cleanup.push(() => link.stop());
    link.start();
    await sleep(1200);
    const warns = lines.filter((l) => l.level === 'warn');
    expect(lines.filter((l) => /ECONNREFUSED/.test(l.msg)).length).toBeGreaterThanOrEqual(3);
    expect(warns.length).toBe(1);
    expect(warns[0].msg).toMatch(new RegExp(`cannot connect to ws://127.0.0.1:${port}/agent: .*ECONNREFUSED`));
  });
});

describe('agent link resume', () => {
  it('a welcome claiming more frames than this run has made is an error naming the numbers, not a silent discard', async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => ws.on('message', (d) => JSON.parse(String(d)).type === 'hello' && ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'welcome', lastSeq: 50 }))));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const { lines, log } = recordingLog();
    const link = makeLink(`ws://127.0.0.1:${(http.address() as { port: number }).port}/agent`, log);
    try {
      for (let seq = 1; seq <= 3; seq++) link.sendSamples({ v: PROTOCOL_VERSION, type: 'samples', seq, time: seq, points: [], errors: [] });
      link.start();
      for (let i = 0; i < 100 && !link.connected; i++) await sleep(20);
      expect(link.connected).toBe(true);
      expect(lines.filter((l) => l.level === 'error').map((l) => l.msg)).toEqual([expect.stringMatching(/up to seq 50, but this agent has made only 3.*node 'cn7'/)]);
    } finally {
      link.stop();
      wss.close();
      http.close();
    }
  });
});
