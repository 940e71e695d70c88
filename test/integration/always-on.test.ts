// An always-on script the node's tracer cannot run (it fails at once, every time) is retried
// with a growing delay, not respawned every few seconds forever, and its failures are logged,
// not written to the audit log one row per restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';
import { tempDir } from '../helpers/cli.js';

describe('always-on script that always fails', () => {
  let srv: App;
  let agent: WebSocket;
  const starts: number[] = [];

  beforeAll(async () => {
    srv = await buildApp({ dataDir: tempDir(), alwaysOn: [{ script: 'syscall-latency', zones: ['global'] }] });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (srv.app.server.address() as { port: number }).port;
    const { token } = createToken(srv.ctx.store, 'agent', 'a');
    agent = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((r) => agent.once('open', r));
    agent.on('message', (d) => {
      const m = JSON.parse(String(d));
      if (m.type !== 'trace-start') return;
      starts.push(Date.now());
      // as an agent whose bpftrace refuses the script on this kernel
      agent.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'trace-end', id: m.id, status: 'failed', error: 'bpftrace: ERROR: tracepoint not found' }));
    });
    agent.send(
      JSON.stringify({
        v: PROTOCOL_VERSION, type: 'hello', node: 'cn-notrace', hostname: 'cn-notrace', platform: 'linux', simulated: false,
        tracer: { name: 'bpftrace', available: true }, capabilities: ['samples', 'traces'], agentVersion: 'test', epoch: 1, intervalS: 1, dropped: 0,
      }),
    );
    agent.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'zones', zones: [{ name: 'global', brand: 'linux-host', state: 'running' }] }));
  });
  afterAll(async () => {
    agent?.terminate();
    await srv.close();
  });

  it('backs off between restarts and keeps failures out of the audit log', async () => {
    const deadline = Date.now() + 50_000;
    while (starts.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(starts.length).toBe(3);
    // the reconcile loop runs every 5 s; a run that failed at once waits 10 s, then 20 s, ...
    // (a fixed retry would restart it every 10 s, forever)
    expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(9_500);
    expect(starts[2] - starts[1]).toBeGreaterThanOrEqual(19_500);
    const audit = srv.ctx.store.auditLog(1000);
    expect(audit.filter((a) => a.action === 'trace.failed')).toHaveLength(0);
    expect(audit.filter((a) => a.action === 'always-on.configure')).toHaveLength(1);
  }, 60_000);
});
