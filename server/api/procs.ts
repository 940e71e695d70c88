// A zone's processes, largest resident memory first, asked of its agent on demand: per-process
// series would swamp Prometheus, and the question ("which process grows?") is asked rarely.
import Type from 'typebox';
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { PROTOCOL_VERSION, type ProcsResult } from '../../protocol/messages.js';
import type { AppContext } from '../context.js';
import { redactArgs } from '../../protocol/redact.js';

const Params = Type.Object({ node: Type.String({ maxLength: 256 }), zone: Type.String({ maxLength: 256 }) });
const Query = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) });

export const procsApi = (ctx: AppContext, timeoutMs = 15_000): FastifyPluginAsync => async (app) => {
  app.get('/api/nodes/:node/zones/:zone/processes', { onRequest: ctx.requireRole('viewer'), config: { scope: 'checked' }, schema: { params: Params, querystring: Query } }, async (req, reply) => {
    const { node, zone } = req.params as { node: string; zone: string };
    const limit = (req.query as { limit?: number }).limit ?? 20;
    const fail = (code: number, message: string) => reply.code(code).send({ statusCode: code, error: code === 404 ? 'Not Found' : 'Error', message });
    const n = ctx.fleet.nodes.get(node);
    if (!n) return fail(404, `unknown node '${node}'`);
    if (!n.zones.some((z) => z.name === zone)) return fail(404, `unknown zone '${zone}' on node '${node}'`);
    if (!n.up) return fail(409, `node '${node}' is not connected`);
    if (!n.hello.capabilities.includes('procs')) return fail(409, `the agent of '${node}' cannot list processes (agent ${n.hello.agentVersion})`);
    const r = await ctx.hub.request<ProcsResult>(node, { v: PROTOCOL_VERSION, type: 'procs', id: randomUUID(), zone, limit }, timeoutMs);
    if (r === false) return fail(409, `node '${node}' is not connected`);
    if (!r) return fail(504, `no answer from '${node}' within ${timeoutMs / 1000}s`);
    if (!r.ok) return fail(502, `listing the processes of '${zone}' failed on '${node}': ${r.message ?? 'no reason given'}`);
    // redacted again here: agents older than the redaction send command lines as they are
    return { node, zone, time: Date.now(), ...(r.previous ? { previous: r.previous } : {}), processes: r.procs.map((p) => ({ ...p, args: redactArgs(p.args) })) };
  });
};
