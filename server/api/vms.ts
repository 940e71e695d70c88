// VM lifecycle: start, stop, reboot a zone (operator). Audited before it is sent; the answer
// is the agent's, or a timeout that says the outcome is unknown.
import Type from 'typebox';
import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { PROTOCOL_VERSION, type VmResult } from '../../protocol/messages.js';
import type { AppContext } from '../context.js';

const Params = Type.Object({ node: Type.String({ maxLength: 256 }), zone: Type.String({ maxLength: 256 }) });
const Body = Type.Object({ action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('reboot')]) }, { additionalProperties: false });

export const vmsApi = (ctx: AppContext, timeoutMs = 150_000): FastifyPluginAsync => async (app) => {
  app.post('/api/nodes/:node/zones/:zone/actions', { onRequest: ctx.requireRole('operator'), config: { scope: 'checked' }, schema: { params: Params, body: Body } }, async (req, reply) => {
    const { node, zone } = req.params as { node: string; zone: string };
    const { action } = req.body as { action: 'start' | 'stop' | 'reboot' };
    const fail = (code: number, message: string) => reply.code(code).send({ statusCode: code, error: code === 400 ? 'Bad Request' : code === 404 ? 'Not Found' : 'Error', message });
    const n = ctx.fleet.nodes.get(node);
    if (!n) return fail(404, `unknown node '${node}'`);
    const z = n.zones.find((x) => x.name === zone);
    if (!z) return fail(400, `zone: no zone '${zone}' on node '${node}'`);
    if (zone === 'global') return fail(400, 'zone: the global zone cannot be started, stopped or rebooted');
    if (!n.up) return fail(409, `node: '${node}' is not connected`);
    const id = randomUUID();
    ctx.store.audit(ctx.actor(req), `vm.${action}`, `${node}/${zone}`, { id, alias: z.alias ?? '' }, req.ip, z.owner ?? '');
    const r = await ctx.hub.request<VmResult>(node, { v: PROTOCOL_VERSION, type: 'vm-action', id, zone, action }, timeoutMs);
    if (r === false) return fail(409, `node: '${node}' is not connected`);
    if (!r) return fail(504, `no answer from '${node}' within ${timeoutMs / 1000}s: the ${action} may still happen`);
    ctx.store.audit('server', `vm.${action}.${r.ok ? 'done' : 'failed'}`, `${node}/${zone}`, { id, message: r.message }, req.ip, z.owner ?? '');
    if (!r.ok) return fail(502, `${action} of '${zone}' failed on '${node}': ${r.message}`);
    return { ok: true, action, node, zone, message: r.message };
  });
};
