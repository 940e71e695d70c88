// Well-formed but hostile agent frames against a real server on loopback: each is refused (or
// cut down) with a reason naming the field, counted, and the server keeps serving everyone else.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { PROTOCOL_VERSION } from '../../protocol/messages.js';
import { tempDir, until } from '../helpers/cli.js';
import { helloFrame, samplesFrame } from '../helpers/frames.js';
import { closed, message, Sockets } from '../helpers/sockets.js';

const zone = { name: 'global', brand: 'lx', state: 'running' };

describe('hostile agent frames', () => {
  let srv: App;
  let port: number;
  let http: string;
  let viewer: string;
  const sockets = new Sockets(() => port);
  const agentToken = () => createToken(srv.ctx.store, 'agent', `a-${Math.random()}`).token;
  const rejected = async (reason: string) => {
    const text = await srv.ctx.metrics.registry.getSingleMetricAsString('zonescope_agent_frames_rejected_total');
    return Number(new RegExp(`reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const alive = async () => expect((await fetch(`${http}/healthz`)).status).toBe(200);

  beforeAll(async () => {
    // always-on: the server itself starts traces on every node that can trace, so a rogue agent
    // needs no operator to get its trace frames read
    srv = await buildApp({ dataDir: tempDir(), alwaysOn: [{ script: 'syscall-latency', zones: ['global'] }] });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    port = (srv.app.server.address() as { port: number }).port;
    http = `http://127.0.0.1:${port}`;
    viewer = createToken(srv.ctx.store, 'viewer', 'v').token;
  });
  afterAll(async () => {
    sockets.closeAll();
    await srv.close();
  });

  it('refuses a trace frame with a negative drop count instead of dying on it', async () => {
    const { ws } = await sockets.agent(agentToken(), helloFrame('neg-drops', { tracer: { name: 'bpftrace', available: true }, capabilities: ['samples', 'traces'] }));
    const start = message(ws, 'trace-start');
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'zones', zones: [zone] }));
    const { id } = (await start) as { id: string };
    const before = await rejected('bad-shape');
    const gone = closed(ws);
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'trace-frame', id, interval: 1, time: Date.now(), records: [], events: [{ kind: 'drops', count: -5, message: 'x' }] }));
    const { code, reason } = await gone;
    expect(code).toBe(1007);
    expect(reason).toMatch(/events\.0\.count/);
    expect(await rejected('bad-shape')).toBe(before + 1);
    await alive();
  });

  it('closes only the connection whose frame made a handler throw (1011), counted by reason', async () => {
    const boom = (node: string) => {
      if (node === 'thrower') throw new Error('handler bug');
    };
    srv.ctx.hub.on('trace-frame', boom);
    try {
      const { ws: bystander } = await sockets.agent(agentToken(), helloFrame('bystander'));
      const { ws } = await sockets.agent(agentToken(), helloFrame('thrower'));
      const gone = closed(ws);
      ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'trace-frame', id: 'x', interval: 0, time: Date.now(), records: [], events: [] }));
      expect((await gone).code).toBe(1011);
      expect(await rejected('handler-error')).toBeGreaterThanOrEqual(1);
      const pong = message(bystander, 'pong');
      bystander.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'ping', time: 1 }));
      await pong;
      await alive();
    } finally {
      srv.ctx.hub.off('trace-frame', boom);
    }
  });

  it('refuses numbers JSON can smuggle in: 1e999 (Infinity), sequence numbers past 2^53', async () => {
    for (const [frame, field] of [
      ['{"v":1,"type":"samples","seq":1,"time":1e999,"points":[],"errors":[]}', /time/],
      [`{"v":1,"type":"samples","seq":${2 ** 53 + 2},"time":1,"points":[],"errors":[]}`, /seq/],
      ['{"v":1,"type":"samples","seq":1,"time":1,"points":[{"f":"node_load1","l":{},"v":-1e999}],"errors":[]}', /points\.0\.v/],
    ] as const) {
      const { ws } = await sockets.agent(agentToken(), helloFrame(`num-${Math.random()}`));
      const gone = closed(ws);
      ws.send(frame);
      const { code, reason } = await gone;
      expect(code, frame).toBe(1007);
      expect(reason, frame).toMatch(field);
    }
    await alive();
  });

  it('keeps zone fields to the schema\'s and refuses deep nesting, so the zone API answers', async () => {
    const { ws } = await sockets.agent(agentToken(), helloFrame('nested'));
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'zones', zones: [{ ...zone, secret: { a: { b: [1, 2] } }, note: 'extra' }] }));
    await until('the zones', () => srv.ctx.fleet.nodes.get('nested')?.zones.length);
    const r = await fetch(`${http}/api/nodes/nested/zones`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(r.status).toBe(200);
    const [z] = (await r.json()) as Record<string, unknown>[];
    expect(z.name).toBe('global');
    expect(z).not.toHaveProperty('secret');
    expect(z).not.toHaveProperty('note');

    const deep = `${'{"d":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const gone = closed(ws);
    ws.send(JSON.stringify({ v: PROTOCOL_VERSION, type: 'zones', zones: [{ ...zone, deep: 0 }] }).replace('"deep":0', `"deep":${deep}`));
    const { code, reason } = await gone;
    expect(code).toBe(1007);
    expect(reason).toMatch(/nests .* more than 16 deep/);
    expect(await rejected('too-deep')).toBe(1);
    expect((await fetch(`${http}/api/nodes/nested/zones`, { headers: { authorization: `Bearer ${viewer}` } })).status).toBe(200);
  });

  it('refuses reserved label names and control characters, and /metrics stays promtool-clean', async () => {
    const bad = [
      [{ f: 'node_load1', l: { le: '0.5' }, v: 1 }, /points\.0\.l/],
      [{ f: 'node_load1', l: { quantile: '0.5' }, v: 1 }, /points\.0\.l/],
      [{ f: 'node_load1', l: { __name__: 'x' }, v: 1 }, /points\.0\.l/],
      [{ f: 'node_load1', l: { node: 'other' }, v: 1 }, /points\.0\.l/],
      [{ f: 'node_load1', l: { cpu: 'a\rb' }, v: 1 }, /points\.0\.l\.cpu/],
      [{ f: 'node_load1', l: { cpu: 'a\u0000b' }, v: 1 }, /points\.0\.l\.cpu/],
    ] as const;
    for (const [point, field] of bad) {
      const { ws } = await sockets.agent(agentToken(), helloFrame(`lbl-${Math.random()}`));
      const gone = closed(ws);
      ws.send(JSON.stringify(samplesFrame(1, [point as never])));
      const { code, reason } = await gone;
      expect(code, JSON.stringify(point)).toBe(1007);
      expect(reason, JSON.stringify(point)).toMatch(field);
    }
    // a well-behaved node next to them, with a negative counter (dropped) and a quoted value
    const { ws } = await sockets.agent(agentToken(), helloFrame('labels-ok'));
    const ack = message(ws, 'ack');
    ws.send(JSON.stringify(samplesFrame(1, [
      { f: 'node_load1', l: { zone: 'global', alias: 'say "hi"\\' }, v: 1.5 },
      { f: 'node_cpu_seconds_total', l: { mode: 'user' }, v: -5 },
    ])));
    await ack;
    const text = await (await fetch(`${http}/metrics`)).text();
    expect(text).toContain('zonescope_node_load1{node="labels-ok",zone="global",alias="say \\"hi\\"\\\\"} 1.5');
    expect(text).not.toMatch(/zonescope_node_cpu_seconds_total\{node="labels-ok"/);
    const lint = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    // promtool lints names too; what must not happen is a parse error
    expect(lint.stderr + lint.stdout).not.toMatch(/error while linting|parse/i);
  });
});
