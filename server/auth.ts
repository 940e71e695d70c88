// Tokens are 32 random bytes; only their SHA-256 is stored, so a copy of the database does
// not let anyone in. High-entropy secrets need no slow hash: there is nothing to brute-force.
import { createHash, randomBytes } from 'node:crypto';
import { bearer } from '../protocol/bearer.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Role, Store, TokenRow } from './store.js';

export const SESSION_COOKIE = 'zs_session';
const RANK: Record<Role, number> = { agent: 0, viewer: 1, operator: 2, admin: 3 };

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function createToken(store: Store, role: Role, name: string): { token: string; row: TokenRow } {
  const token = `zs_${role}_${randomBytes(32).toString('base64url')}`;
  return { token, row: store.addToken(name, role, hashToken(token)) };
}

export function verifyToken(store: Store, token: string | undefined): TokenRow | undefined {
  if (!token || token.length > 512) return undefined;
  return store.tokenByHash(hashToken(token));
}

/** Agents may not use the user API, and users may not pose as agents: roles are separate. */
export function allows(have: Role, need: Role): boolean {
  if (have === 'agent' || need === 'agent') return have === need;
  return RANK[have] >= RANK[need];
}

export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    // anyone can send any cookie: a bad %-escape is no token, not an exception (in an upgrade
    // handler that would be uncaught and stop the server)
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The token a request carries: Authorization header first, then the UI's session cookie. */
export function requestToken(req: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const auth = req.headers.authorization;
  const c = req.headers.cookie;
  return bearer(typeof auth === 'string' ? auth : undefined) ?? cookie(typeof c === 'string' ? c : undefined, SESSION_COOKIE);
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: TokenRow;
  }
}

/** A preHandler that lets through only tokens of at least `need`. */
export function requireRole(store: Store, need: Role) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const user = verifyToken(store, requestToken(req));
    if (!user) return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'missing or invalid token' });
    if (!allows(user.role, need)) {
      return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `role '${user.role}' may not do this (needs '${need}')` });
    }
    req.user = user;
  };
}
