// The agent's link against a bare WebSocket server: bounded buffer while disconnected, the
// overflow reported in the next hello, and resume from the server's last stored sequence.
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
