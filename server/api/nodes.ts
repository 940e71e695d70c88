// Nodes and their zones, as the fleet knows them now.
import Type from 'typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { NodeState } from '../fleet.js';
import type { Zone } from '../../protocol/messages.js';
import { ownerOf } from '../tenant-scope.js';
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
  /** host-wide: not shown to a scoped token */
  samplerErrors: Type.Optional(Type.Integer()),
  /** when the latest sample frame was taken (ms), null before the first */
  lastSampleAt: Type.Union([Type.Number(), Type.Null()]),
  /** samplers that failed since the server started, failing ones first (host-wide: not shown to a scoped token) */
  samplerIssues: Type.Optional(
    Type.Array(
      Type.Object({ sampler: Type.String(), count: Type.Integer(), message: Type.String(), since: Type.Number(), last: Type.Number(), failing: Type.Boolean() }),
    ),
  ),
});

/** A node as the API shows it; `zones` are the ones the caller may see (a scoped token counts
 * only its own, and sees no host-wide figures). */
export function nodeSummary(n: NodeState, zones: readonly Zone[] = n.zones, scoped = false) {
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
    zoneCount: zones.length,
    lastSampleAt: n.latest?.time ?? null,
    // the node's samplers' health is the operator's (their messages name any zone of the node)
    ...(scoped
      ? {}
      : {
          samplerErrors: n.samplerErrors,
          samplerIssues: [...n.samplerIssues.values()].sort((a, b) => Number(b.failing) - Number(a.failing) || b.last - a.last).map(({ clean: _, ...i }) => i),
        }),
  };
}

const NodeParams = Type.Object({ node: Type.String({ maxLength: 256 }) });
const ZoneParams = Type.Object({ node: Type.String({ maxLength: 256 }), zone: Type.String({ maxLength: 256 }) });

export const nodesApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  const viewer = ctx.requireRole('viewer');
  const unknownNode = (node: string) => ({ statusCode: 404, error: 'Not Found', message: `unknown node '${node}'` });

  const visible = (req: FastifyRequest, n: NodeState) => {
    const owner = ownerOf(req);
    return nodeSummary(n, ctx.scope.zones(owner, n), owner !== null);
  };

  app.get('/api/nodes', { onRequest: viewer, config: { scope: 'filtered' }, schema: { response: { 200: Type.Array(NodeSummary) } } }, async (req) =>
    ctx.scope.nodes(ownerOf(req)).map((n) => visible(req, n)),
  );

  app.get('/api/nodes/:node', { onRequest: viewer, config: { scope: 'filtered' }, schema: { params: NodeParams } }, async (req, reply) => {
    const { node } = req.params as { node: string };
    const n = ctx.fleet.nodes.get(node);
    if (!n) return reply.code(404).send(unknownNode(node));
    // the agent's sequence positions and history are the node's, not a tenant's
    if (ownerOf(req) !== null) return visible(req, n);
    const summary = { ...nodeSummary(n), seq: { received: n.seq.received, gaps: n.seq.gaps }, history: { frames: n.history.length } };
    // the agent run's epoch and sequence positions are what a forged hello would need to pass
    // for the node: admins only (for debugging resume), never viewers
    if (req.user?.role !== 'admin') return summary;
    return { ...summary, seq: n.seq, history: { ...summary.history, firstSeq: n.history.frames[0]?.seq ?? null, seqs: n.history.frames.map((f) => f.seq) } };
  });

  app.get('/api/nodes/:node/zones', { onRequest: viewer, config: { scope: 'filtered' }, schema: { params: NodeParams } }, async (req, reply) => {
    const { node } = req.params as { node: string };
    const n = ctx.fleet.nodes.get(node);
    if (!n) return reply.code(404).send(unknownNode(node));
    return ctx.scope.zones(ownerOf(req), n).map((z) => zoneSummary(n, z));
  });

  app.get(
    '/api/nodes/:node/zones/:zone/history',
    { onRequest: viewer, config: { scope: 'checked' }, schema: { params: ZoneParams, querystring: Type.Object({ window: Type.Optional(Type.Integer({ minimum: 1, maximum: 86400 })) }) } },
    async (req, reply) => {
      const { node, zone } = req.params as { node: string; zone: string };
      const n = ctx.fleet.nodes.get(node);
      if (!n) return reply.code(404).send(unknownNode(node));
      if (!n.zones.some((z) => z.name === zone)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `unknown zone '${zone}' on node '${node}'` });
      const window = (req.query as { window?: number }).window ?? ctx.fleet.opts.retentionS;
      const since = Date.now() - window * 1000;
      // what interrupted the samples in the window, so the charts can say why a gap is there
      // a sampler's message can name any zone of the node: a scoped token learns only that one failed
      const scoped = ownerOf(req) !== null;
      const events = n.events
        .filter((e) => e.time >= since)
        .map((e) => (scoped && e.kind === 'sampler-error' ? { ...e, message: 'a sampler of this node failed' } : e));
      return { ...historyOf(n, zone, since, ctx.fleet.opts.retentionS), intervalS: n.hello.intervalS, events };
    },
  );
};
