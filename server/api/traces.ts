// Traces: start (operator), follow, slice by time, fold, stop (operator).
import Type from 'typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AppContext } from '../context.js';
import { ownerOf } from '../tenant-scope.js';
import { TraceError, type TraceManager } from '../traces.js';
import { foldStacks, formatFolded } from '../../protocol/folded.js';

const StartBody = Type.Object(
  {
    node: Type.String({ minLength: 1, maxLength: 256 }),
    zone: Type.String({ minLength: 1, maxLength: 256 }),
    script: Type.String({ minLength: 1, maxLength: 64 }),
    params: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 1024 }), Type.Number()]))),
    durationS: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Range = Type.Object({ from: Type.Optional(Type.Number()), to: Type.Optional(Type.Number()), annotate: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')])) });

const fail = (reply: FastifyReply, code: number, message: string) =>
  reply.code(code).send({ statusCode: code, error: ({ 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 429: 'Too Many Requests' } as Record<number, string>)[code] ?? 'Error', message });

export const tracesApi = (ctx: AppContext, traces: TraceManager): FastifyPluginAsync => async (app) => {
  const viewer = ctx.requireRole('viewer');
  const operator = ctx.requireRole('operator');
  const unknown = (reply: FastifyReply, id: string) => fail(reply, 404, `unknown trace '${id}'`);

  app.post('/api/traces', { onRequest: operator, config: { scope: 'checked' }, schema: { body: StartBody } }, async (req, reply) => {
    try {
      // the owner comes from the token, never the body: a tenant's trace is only ever on its zones
      const owner = ownerOf(req);
      const body = req.body as Parameters<TraceManager['start']>[0];
      const t = traces.start({ ...body, ...(owner !== null ? { owner } : {}) }, ctx.actor(req), req.ip);
      return reply.code(201).send({ id: t.id });
    } catch (e) {
      if (e instanceof TraceError) return fail(reply, e.statusCode, e.message);
      throw e;
    }
  });

  app.get('/api/traces', { onRequest: viewer, config: { scope: 'filtered' } }, async (req) =>
    traces.list().filter((t) => ctx.scope.traceVisible(ownerOf(req), t)).map((t) => traces.summary(t)),
  );

  app.get('/api/traces/:id', { onRequest: viewer, config: { scope: 'checked' }, schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const t = traces.get(id);
    return t ? traces.detail(t) : unknown(reply, id);
  });

  app.get('/api/traces/:id/intervals', { onRequest: viewer, config: { scope: 'checked' }, schema: { params: IdParams, querystring: Range } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = req.query as { from?: number; to?: number };
    const t = traces.get(id);
    return t ? traces.intervals(t, q.from, q.to) : unknown(reply, id);
  });

  app.get('/api/traces/:id/folded', { onRequest: viewer, config: { scope: 'checked' }, schema: { params: IdParams, querystring: Range } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = req.query as { from?: number; to?: number; annotate?: string };
    const t = traces.get(id);
    if (!t) return unknown(reply, id);
    const folded = formatFolded(foldStacks(traces.records(t, q.from, q.to), { annotateKernel: q.annotate === '1' }));
    if (!folded) {
      // never a 0-byte "export": say why there is nothing
      const where = q.from !== undefined || q.to !== undefined ? ' in that time range' : '';
      const why = t.status === 'failed' ? `: it failed: ${t.error ?? 'no reason given'}` : t.status === 'starting' || t.status === 'running' ? ' yet' : '';
      return fail(reply, 404, `trace '${id}' has no stacks${where}${why}`);
    }
    return reply.type('text/plain; charset=utf-8').send(folded);
  });

  app.delete('/api/traces/:id', { onRequest: operator, config: { scope: 'checked' }, schema: { params: IdParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const t = traces.stop(id, ctx.actor(req), req.ip);
    return t ? traces.summary(t) : unknown(reply, id);
  });
};
