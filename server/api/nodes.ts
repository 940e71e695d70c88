// Nodes and their zones, as the fleet knows them now.
import Type from 'typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { NodeState } from '../fleet.js';
import type { AppContext } from '../context.js';
import { zoneSummary, historyOf } from '../zone-view.js';

export const NodeSummary = Type.Object({
  node: Type.String(),
  hostname: Type.String(),
  platform: Type.String(),
  simulated: Type.Boolean(),
  up: Type.Boolean(),
  lastSeen: Type.Union([Type.Number(), Type.Null()]),
  connectedAt: Type.Union([Type.Number(), Type.Null()]),
  agentVersion: Type.String(),
  /** available: at least one script can run; scripts: how many of the catalog can */
  tracer: Type.Object({ name: Type.String(), available: Type.Boolean(), scripts: Type.Optional(Type.Object({ available: Type.Integer(), total: Type.Integer() })) }),
  intervalS: Type.Number(),
  zoneCount: Type.Integer(),
  samplerErrors: Type.Integer(),
  /** when the latest sample frame was taken (ms), null before the first */
  lastSampleAt: Type.Union([Type.Number(), Type.Null()]),
  /** samplers that failed since the server started, failing ones first */
  samplerIssues: Type.Array(
    Type.Object({ sampler: Type.String(), count: Type.Integer(), message: Type.String(), since: Type.Number(), last: Type.Number(), failing: Type.Boolean() }),
  ),
});

export function nodeSummary(n: NodeState) {
  return {
    node: n.node,
    hostname: n.hello.hostname,
    platform: n.hello.platform,
    simulated: n.hello.simulated,
    up: n.up,
    lastSeen: n.lastSeen,
    connectedAt: n.connectedAt,
    agentVersion: n.hello.agentVersion,
    tracer: {
      name: n.hello.tracer.name,
      available: n.hello.tracer.available,
      ...(n.hello.scripts ? { scripts: { available: n.hello.scripts.filter((s) => s.available).length, total: n.hello.scripts.length } } : {}),
    },
    intervalS: n.hello.intervalS,
    zoneCount: n.zones.length,
    samplerErrors: n.samplerErrors,
    lastSampleAt: n.latest?.time ?? null,
    samplerIssues: [...n.samplerIssues.values()].sort((a, b) => Number(b.failing) - Number(a.failing) || b.last - a.last).map(({ clean: _, ...i }) => i),
  };
}

const NodeParams = Type.Object({ node: Type.String({ maxLength: 256 }) });
const ZoneParams = Type.Object({ node: Type.String({ maxLength: 256 }), zone: Type.String({ maxLength: 256 }) });

export const nodesApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  const viewer = ctx.requireRole('viewer');
  const unknownNode = (node: string) => ({ statusCode: 404, error: 'Not Found', message: `unknown node '${node}'` });

  app.get('/api/nodes', { onRequest: viewer, schema: { response: { 200: Type.Array(NodeSummary) } } }, async () =>
    [...ctx.fleet.nodes.values()].map(nodeSummary),
  );

  app.get('/api/nodes/:node', { onRequest: viewer, schema: { params: NodeParams } }, async (req, reply) => {
    const { node } = req.params as { node: string };
    const n = ctx.fleet.nodes.get(node);
    if (!n) return reply.code(404).send(unknownNode(node));
    const summary = { ...nodeSummary(n), seq: { received: n.seq.received, gaps: n.seq.gaps }, history: { frames: n.history.length } };
    // the agent run's epoch and sequence positions are what a forged hello would need to pass
    // for the node: admins only (for debugging resume), never viewers
    if (req.user?.role !== 'admin') return summary;
    return { ...summary, seq: n.seq, history: { ...summary.history, firstSeq: n.history.frames[0]?.seq ?? null, seqs: n.history.frames.map((f) => f.seq) } };
  });

  app.get('/api/nodes/:node/zones', { onRequest: viewer, schema: { params: NodeParams } }, async (req, reply) => {
    const { node } = req.params as { node: string };
    const n = ctx.fleet.nodes.get(node);
    if (!n) return reply.code(404).send(unknownNode(node));
    return n.zones.map((z) => zoneSummary(n, z));
  });

  app.get(
    '/api/nodes/:node/zones/:zone/history',
    { onRequest: viewer, schema: { params: ZoneParams, querystring: Type.Object({ window: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })) }) } },
    async (req, reply) => {
      const { node, zone } = req.params as { node: string; zone: string };
      const n = ctx.fleet.nodes.get(node);
      if (!n) return reply.code(404).send(unknownNode(node));
      if (!n.zones.some((z) => z.name === zone)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `unknown zone '${zone}' on node '${node}'` });
      const window = (req.query as { window?: number }).window ?? ctx.fleet.opts.retentionS;
      const since = Date.now() - window * 1000;
      // what interrupted the samples in the window, so the charts can say why a gap is there
      return { ...historyOf(n, zone, since), intervalS: n.hello.intervalS, events: n.events.filter((e) => e.time >= since) };
    },
  );
};
