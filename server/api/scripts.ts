// The curated catalog as the UI and `zonescope scripts` see it.
import type { FastifyPluginAsync } from 'fastify';
import type { AppContext } from '../context.js';
import { loadCatalog, type ScriptMeta } from '../../scripts/catalog.js';

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

export const scriptsApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  app.get('/api/scripts', { onRequest: ctx.requireRole('viewer') }, async () => loadCatalog().map(scriptSummary));
};
