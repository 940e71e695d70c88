// Token management for admins; the CLI's `zonescope token create` writes the same store.
import Type from 'typebox';
import type { FastifyPluginAsync } from 'fastify';
import { createToken, tokenScopeError } from '../auth.js';
import { Owner } from '../../protocol/messages.js';
import type { AppContext } from '../context.js';
import type { Role } from '../store.js';

const RoleT = Type.Union([Type.Literal('agent'), Type.Literal('metrics'), Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);
const AuditQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  owner: Type.Optional(Type.String({ maxLength: 128 })),
  actor: Type.Optional(Type.String({ maxLength: 256 })),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  /** ms since the epoch, or an ISO 8601 time */
  since: Type.Optional(Type.String({ maxLength: 64 })),
});

export const tokensApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  const admin = ctx.requireRole('admin');

  // token and audit routes are admins' (never a tenant's: scoped tokens are never admins)
  app.get('/api/tokens', { onRequest: admin, config: { scope: 'unscoped' } }, async () => ctx.store.tokens());

  app.post(
    '/api/tokens',
    { onRequest: admin, config: { scope: 'unscoped' }, schema: { body: Type.Object({ role: RoleT, name: Type.String({ minLength: 1, maxLength: 128 }), owner: Type.Optional(Owner) }, { additionalProperties: false }) } },
    async (req, reply) => {
      const { role, name, owner } = req.body as { role: Role; name: string; owner?: string };
      const why = tokenScopeError(role, owner);
      if (why) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `body/owner: ${why.replace('--owner', 'owner')}` });
      ctx.store.audit(ctx.actor(req), 'token.create', name, { role, ...(owner ? { owner } : {}) }, req.ip, owner ?? '');
      const { token, row } = createToken(ctx.store, role, name, owner);
      return reply.code(201).send({ ...row, token });
    },
  );

  app.delete('/api/tokens/:id', { onRequest: admin, config: { scope: 'unscoped' }, schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }) } }, async (req, reply) => {
    const { id } = req.params as { id: number };
    // audited inside the revocation, so an unknown id leaves no "revoked" row behind
    if (!ctx.store.revokeToken(id, ctx.actor(req), req.ip)) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no active token with id ${id}` });
    ctx.tokenRevoked(id);
    return { revoked: id };
  });

  // ?owner=&actor=&action=&since=: every given one must match
  app.get('/api/audit', { onRequest: admin, config: { scope: 'unscoped' }, schema: { querystring: AuditQuery } }, async (req, reply) => {
    const q = req.query as { limit?: number; owner?: string; actor?: string; action?: string; since?: string };
    let since: number | undefined;
    if (q.since !== undefined) {
      since = /^\d+$/.test(q.since) ? Number(q.since) : Date.parse(q.since);
      if (!Number.isSafeInteger(since)) return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `querystring/since: '${q.since}' is neither ms since the epoch nor an ISO 8601 time` });
    }
    return ctx.store.auditLog({ owner: q.owner, actor: q.actor, action: q.action, since, limit: q.limit ?? 100 });
  });
};
