// Who a request is, and whether it may do what it asks.
//
// Tokens are 32 random bytes; only their SHA-256 is stored, so a copy of the database does
// not let anyone in. High-entropy secrets need no slow hash: there is nothing to brute-force.
// The browser never keeps a token: it trades one for a session, whose random id is the cookie
// (hashed in the store too) and which ends on logout, after a while, or when its token is revoked.
// A cookie is ambient authority — the browser attaches it to requests any page makes — so a
// request that uses it must come from a page of this server (its Origin).
import { createHash, randomBytes } from 'node:crypto';
import { bearer, metricsAuthorized } from '../protocol/bearer.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OWNER_PATTERN } from '../protocol/messages.js';
import type { Role, SessionLimits, Store, TokenRow } from './store.js';
import type { ServerMetrics } from './metrics.js';

export const SESSION_COOKIE = 'zs_session';
const RANK: Record<Role, number> = { agent: 0, metrics: 0, viewer: 1, operator: 2, admin: 3 };
/** roles that are for one channel only (the agent's, the scrape's), never the user API */
const APART = new Set<Role>(['agent', 'metrics']);
/** roles a token may be scoped to an owner with: a tenant's admin or agent makes no sense */
export const SCOPABLE: readonly Role[] = ['metrics', 'viewer', 'operator'];

export const DEFAULT_SESSIONS: SessionLimits = { ttlMs: 12 * 3600_000, idleMs: 3600_000 };

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Why a role/owner pair cannot be a token, or undefined. */
export function tokenScopeError(role: Role, owner: string | undefined): string | undefined {
  if (owner === undefined) return role === 'metrics' ? 'a metrics token needs --owner (the global scrape token is the server\'s --metrics-token)' : undefined;
  if (!SCOPABLE.includes(role)) return `--owner is for ${SCOPABLE.join(', ')} tokens, not ${role}`;
  if (!new RegExp(OWNER_PATTERN).test(owner)) return `owner '${owner.slice(0, 140)}' may hold only 1-128 letters, digits and _.:@-`;
  return undefined;
}

export function createToken(store: Store, role: Role, name: string, owner?: string): { token: string; row: TokenRow } {
  const why = tokenScopeError(role, owner);
  if (why) throw new Error(why);
  const token = `zs_${role}_${randomBytes(32).toString('base64url')}`;
  return { token, row: store.addToken(name, role, hashToken(token), owner ?? null) };
}

export function verifyToken(store: Store, token: string | undefined): TokenRow | undefined {
  if (!token || token.length > 512) return undefined;
  return store.tokenByHash(hashToken(token));
}

/** Agents may not use the user API, and users may not pose as agents: roles are separate. */
export function allows(have: Role, need: Role): boolean {
  if (APART.has(have) || APART.has(need)) return have === need;
  return RANK[have] >= RANK[need];
}

export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    // anyone can send any cookie: a bad %-escape is no session, not an exception (in an upgrade
    // handler that would be uncaught and stop the server)
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

type Headers = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (typeof v === 'string' ? v : undefined);

/** The bearer token a request carries (agents and API clients; never a cookie). */
export function requestToken(req: { headers: Headers }): string | undefined {
  return bearer(one(req.headers.authorization));
}

/** Who is calling: the token behind the request, and the session if it came by cookie. */
export interface Caller {
  user: TokenRow;
  /** the session's hash when the request was authenticated by the session cookie */
  session?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: TokenRow;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The scheme the browser used: https over our own TLS, or behind a TLS-terminating proxy that
 * says so (a page cannot set that header on a cross-site request, and a spurious https only
 * makes a plain-http browser drop a Secure cookie or fail the Origin check: safe to honour). */
export function browserScheme(headers: Headers, encrypted: boolean): 'https' | 'http' {
  return encrypted || one(headers['x-forwarded-proto'])?.split(',')[0].trim().toLowerCase() === 'https' ? 'https' : 'http';
}

export interface AuthOptions {
  sessions: SessionLimits;
  /** the origin browsers use to reach the server, when a proxy stands in front (--public-url) */
  publicUrl?: string;
}

export class Auth {
  readonly sessions: SessionLimits;
  private readonly publicOrigin?: string;

  constructor(
    readonly store: Store,
    private readonly metrics: ServerMetrics,
    opts: AuthOptions,
  ) {
    this.sessions = opts.sessions;
    this.publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;
  }

  /** An Authorization header decides alone (a wrong one is not rescued by a cookie); else the
   * session cookie. Undefined: nobody, or a bad, revoked or expired credential. */
  caller(headers: Headers): Caller | undefined {
    if (headers.authorization !== undefined) {
      const user = verifyToken(this.store, requestToken({ headers }));
      return user && { user };
    }
    const hash = this.sessionHash(headers);
    const user = hash && this.store.sessionToken(hash, this.sessions);
    return user ? { user, session: hash } : undefined;
  }

  /** The hash of the session id in the request's cookie, if it has one that could be an id. */
  sessionHash(headers: Headers): string | undefined {
    const id = cookie(one(headers.cookie), SESSION_COOKIE);
    return id && id.length <= 128 ? hashToken(id) : undefined;
  }

  /** A new session for a token: the id to put in the cookie (the store keeps its hash). */
  startSession(user: TokenRow): string {
    const id = randomBytes(32).toString('base64url');
    this.store.addSession(hashToken(id), user.id, this.sessions);
    return id;
  }

  /** The origin this server has for the browser: --public-url, else what the request says. */
  ownOrigin(headers: Headers, encrypted: boolean): string {
    return this.publicOrigin ?? `${browserScheme(headers, encrypted)}://${one(headers.host) ?? ''}`;
  }

  /** Why a request must be refused for where it came from, or undefined. A foreign Origin may
   * never change state or use the cookie; a cookie that changes state (or opens /live) must come
   * with an Origin, which browsers always send for those. Clients with a bearer token and no
   * Origin (curl, the CLI, agents) are not browsers and pass. */
  originRefusal(headers: Headers, encrypted: boolean, o: { method: string; cookie: boolean; live?: boolean }): string | undefined {
    const origin = one(headers.origin);
    const own = this.ownOrigin(headers, encrypted);
    const changes = !SAFE.has(o.method) || o.live;
    if (origin === undefined) return o.cookie && changes ? 'a request with the session cookie must carry an Origin header' : undefined;
    if (origin === own || (!changes && !o.cookie)) return undefined;
    return `Origin '${origin}' is not this server's (${own})${this.publicOrigin ? '' : '; behind a proxy, start the server with --public-url'}`;
  }

  /** Counted by route pattern (or upgrade path), never by raw path: strangers mint no series. */
  failed(route: string, reason: 'token' | 'origin' | 'rate-limit'): void {
    this.metrics.authFailures.inc({ route, reason });
  }

  /** Who may scrape /metrics and /sd: the server's --metrics-token (or anyone, without one) sees
   * the whole fleet; a metrics token made with --owner sees its owner's zones (req.user set).
   * A scoped token is honoured even when no --metrics-token is set: it asked for its view. */
  metricsGuard(globalToken: string | undefined) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const h = req.headers.authorization;
      if (h !== undefined && globalToken && metricsAuthorized(h, globalToken)) return;
      const user = h !== undefined ? verifyToken(this.store, bearer(h) ?? (/\s/.test(h) ? undefined : h)) : undefined;
      if (user?.role === 'metrics') {
        req.user = user;
        return;
      }
      if (!globalToken) return;
      this.failed(req.routeOptions.url ?? 'unmatched', 'token');
      return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'missing or invalid metrics token' });
    };
  }

  /** An onRequest hook: runs before the body is read or validated, so a stranger learns nothing
   * about a route's schema and costs no parsing. */
  requireRole(need: Role) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const c = this.caller(req.headers);
      if (!c) {
        this.failed(req.routeOptions.url ?? 'unmatched', 'token');
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'missing, invalid or expired token or session' });
      }
      if (!allows(c.user.role, need)) {
        return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: `role '${c.user.role}' may not do this (needs '${need}')` });
      }
      req.user = c.user;
    };
  }

  /** An onRequest hook for every route: the Origin rule above. */
  originGuard() {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const viaCookie = req.headers.authorization === undefined && cookie(one(req.headers.cookie), SESSION_COOKIE) !== undefined;
      const why = this.originRefusal(req.headers, req.protocol === 'https', { method: req.method, cookie: viaCookie });
      if (!why) return;
      this.failed(req.routeOptions.url ?? 'unmatched', 'origin');
      return reply.code(403).send({ statusCode: 403, error: 'Forbidden', message: why });
    };
  }
}
