// Lines of tracer output an agent could not read reach the server as `unparsed` events and
// are counted per node in zonescope_trace_lines_unparsed_total (that the agent keeps the
// records around such a line is test/unit/dtrace-stdout.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';
import { tempDir, until } from '../helpers/cli.js';
import { helloFrame } from '../helpers/frames.js';
import { message, Sockets } from '../helpers/sockets.js';

describe('unparsed tracer lines', () => {
  let srv: App;
  let port: number;
  const sockets = new Sockets(() => port);

  beforeAll(async () => {
    // always-on starts a trace on the node as soon as it says it can trace
    srv = await buildApp({ dataDir: tempDir(), alwaysOn: [{ script: 'syscall-latency', zones: ['global'] }] });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
  });
  afterAll(async () => {
    sockets.closeAll();
    await srv.close();
  });

  it('counts them by node, and the trace lists the event', async () => {
    const agent = createToken(srv.ctx.store, 'agent', 'a').token;
    const { ws } = await sockets.agent(agent, helloFrame('garbled', { tracer: { name: 'dtrace', available: true }, capabilities: ['samples', 'traces'] }));
    const start = message(ws, 'trace-start');
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'zones', zones: [{ name: 'global', brand: 'joyent', state: 'running' }] }));
    const { id } = (await start) as { id: string };
    const record = { kind: 'hist', agg: 'latency', keys: ['read'], buckets: [{ lo: 1000, hi: 2000, count: 7 }] };
    const events = [{ kind: 'unparsed', count: 2, message: '2 lines of DTrace output skipped; first, line 6: not a histogram row: 2500 |@@ ?? 3' }];
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'trace-frame', id, interval: 1, time: Date.now(), records: [record], events }));
    const metric = async () => {
      const text = await srv.ctx.metrics.registry.getSingleMetricAsString('zonescope_trace_lines_unparsed_total');
      return Number(/node="garbled"\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await until('the counter', async () => (await metric()) === 2, 5000);
    const viewer = createToken(srv.ctx.store, 'viewer', 'v').token;
    const get = async (path: string) => (await fetch(`http://127.0.0.1:${port}/api/traces/${id}${path}`, { headers: { authorization: `Bearer ${viewer}` } })).json();
    expect((await get('')).events).toEqual(events);
  });
});
