// The server does not take an agent's word for how a trace ended: it refuses a script the
// agent said it cannot run (409 with the agent's reason, nothing sent), and a trace the agent
// calls done is partial when intervals it expected never reached the server or samples were
// reported lost. The agent here is a test playing one over a raw WebSocket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { PROTOCOL_VERSION, type TraceStart } from '../../protocol/messages.js';
import { tempDir } from '../helpers/cli.js';
import { helloFrame } from '../helpers/frames.js';

const NODE = `cn-judge-${process.pid}`;
const REASON = 'tracefs is not mounted at /sys/kernel/tracing (tracepoints need it)';

describe('the server judges how a trace ended', () => {
  let srv: App;
  let agent: WebSocket;
  let base = '';
  let op = '';
  const starts: TraceStart[] = [];

  const api = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${op}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    const text = await r.text();
    return { status: r.status, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined, text };
  };
  const send = (m: object) => agent.send(JSON.stringify({ v: PROTOCOL_VERSION, ...m }));
  const until = async <T>(fn: () => Promise<T | undefined> | T | undefined): Promise<T> => {
    for (let i = 0; i < 100; i++) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('timed out');
  };

  beforeAll(async () => {
    srv = await buildApp({ dataDir: tempDir() });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`;
    op = createToken(srv.ctx.store, 'operator', 'op').token;
    const { token } = createToken(srv.ctx.store, 'agent', 'a');
    agent = new WebSocket(`${base.replace('http', 'ws')}/agent`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => agent.once('open', r));
    agent.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type === 'trace-start') starts.push(m);
    });
    agent.send(
      JSON.stringify(
        helloFrame(NODE, {
          tracer: { name: 'bpftrace', available: true },
          capabilities: ['samples', 'trace'],
          scripts: [
            { id: 'cpu-profile', available: true },
            { id: 'syscall-latency', available: false, reason: REASON },
          ],
        }),
      ),
    );
    send({ type: 'zones', zones: [{ name: 'global', brand: 'linux-host', state: 'running' }] });
    await until(() => srv.ctx.fleet.nodes.get(NODE)?.zones.length || undefined);
  });
  afterAll(async () => {
    agent?.terminate();
    await srv?.close();
  });

  it('refuses what the agent said it cannot run, with its reason, and sends nothing', async () => {
    const r = await api('POST', '/api/traces', { node: NODE, zone: 'global', script: 'syscall-latency', durationS: 2 });
    expect(r.status).toBe(409);
    expect(r.json.message).toBe(`script: syscall-latency cannot run on node '${NODE}': ${REASON}`);
    // a script the agent did not list at all (another version's catalog) is refused too
    const other = await api('POST', '/api/traces', { node: NODE, zone: 'global', script: 'offcpu', durationS: 2 });
    expect(other.status).toBe(409);
    const list = (await api('GET', `/api/scripts?node=${NODE}`)).json;
    expect(list.find((s: any) => s.id === 'syscall-latency')).toMatchObject({ available: false, reason: REASON });
    expect(list.find((s: any) => s.id === 'cpu-profile')).toMatchObject({ available: true });
    expect((await api('GET', `/api/nodes/${NODE}`)).json.tracer.scripts).toEqual({ available: 1, total: 2 });
    await new Promise((r) => setTimeout(r, 200));
    expect(starts).toEqual([]);
  });

  it('a trace the agent calls done is partial when intervals or samples are missing', async () => {
    const r = await api('POST', '/api/traces', { node: NODE, zone: 'global', script: 'cpu-profile', durationS: 3 });
    expect(r.status, r.text).toBe(201);
    const start = await until(() => starts.find((s) => s.id === r.json.id));
    const stack = { kind: 'stack', agg: 'samples', keys: [], stack: ['main'], kernel: 0, value: 5 };
    send({ type: 'trace-frame', id: start.id, interval: 1, time: Date.now(), records: [stack], events: [] });
    send({ type: 'trace-frame', id: start.id, interval: 2, time: Date.now(), records: [stack], events: [{ kind: 'samples-lost', count: 7, message: '@samples: 7 lost' }] });
    // diagnostics after the last interval travel without an interval of their own
    send({ type: 'trace-frame', id: start.id, interval: 0, time: Date.now(), records: [], events: [{ kind: 'warning', count: 1, message: 'after the trace: ERROR: failed to detach probe' }] });
    send({ type: 'trace-end', id: start.id, status: 'done', exitCode: 0 });
    const t = await until(async () => {
      const j = (await api('GET', `/api/traces/${start.id}`)).json;
      return j.status === 'starting' || j.status === 'running' ? undefined : j;
    });
    expect(t.status).toBe('partial');
    expect(t.intervals).toBe(2);
    expect(t.reasons).toEqual(['2 of 3 intervals arrived', '7 samples lost']);
    expect(t.samplesLost).toBe(7);
    expect(t.errors).toBe(0); // cleanup noise is not a tracer error
  });
});
