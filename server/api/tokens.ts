// Token management for admins; the CLI's `zonescope token create` writes the same store.
import Type from 'typebox';
import type { FastifyPluginAsync } from 'fastify';
import { createToken } from '../auth.js';
import type { AppContext } from '../context.js';
import type { Role } from '../store.js';

const RoleT = Type.Union([Type.Literal('agent'), Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);

export const tokensApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  const admin = ctx.requireRole('admin');

  app.get('/api/tokens', { onRequest: admin }, async () => ctx.store.tokens());

  app.post(
    '/api/tokens',
    { onRequest: admin, schema: { body: Type.Object({ role: RoleT, name: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }) } },
    async (req, reply) => {
      const { role, name } = req.body as { role: Role; name: string };
      ctx.store.audit(ctx.actor(req), 'token.create', name, { role }, req.ip);
      const { token, row } = createToken(ctx.store, role, name);
      return reply.code(201).send({ ...row, token });
    },
  );

  app.delete('/api/tokens/:id', { onRequest: admin, schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } }, async (req, reply) => {
    const { id } = req.params as { id: number };
    // audited inside the revocation, so an unknown id leaves no "revoked" row behind
    if (!ctx.store.revokeToken(id, ctx.actor(req), req.ip)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no active token with id ${id}` });
    ctx.tokenRevoked(id);
    return { revoked: id };
  });

  app.get('/api/audit', { onRequest: admin, schema: { querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })) }) } }, async (req) =>
    ctx.store.auditLog((req.query as { limit?: number }).limit ?? 100),
  );
};
