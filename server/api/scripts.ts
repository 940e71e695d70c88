// The curated catalog as the UI and `zonescope scripts` see it; with ?node=N, whether each
// script can run on that node and why not (from the prerequisites its agent checked).
import Type from 'typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { loadCatalog, type ScriptMeta } from '../../scripts/catalog.js';
import { unavailable } from '../traces.js';

export function scriptSummary(s: ScriptMeta) {
  return {
    id: s.id,
    title: s.title,
    question: s.question,
    output: s.output,
    unit: s.unit,
    defaultDurationS: s.defaultDurationS,
    maxDurationS: s.maxDurationS,
    overhead: s.overhead,
    ...(s.notes ? { notes: s.notes } : {}),
    params: s.params.map((p) => ({ ...p })),
  };
}

const Query = Type.Object({ node: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) });

export const scriptsApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  app.get('/api/scripts', { onRequest: ctx.requireRole('viewer'), config: { scope: 'checked' }, schema: { querystring: Query } }, async (req, reply) => {
    const { node } = req.query as { node?: string };
    if (node === undefined) return loadCatalog().map(scriptSummary);
    const n = ctx.fleet.nodes.get(node);
    if (!n) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `node: unknown node '${node}'` });
    return loadCatalog().map((s) => {
      const why = unavailable(n.hello, s.id);
      return { ...scriptSummary(s), available: !why, ...(why ? { reason: why } : {}) };
    });
  });
};
