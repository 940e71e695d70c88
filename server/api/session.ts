// Browser sessions: the UI trades a token for a session whose random id is an HttpOnly cookie,
// so scripts on the page never hold a credential, and the /live WebSocket is authenticated the
// same way as the API. Logins are rate-limited per source address; failures are logged and audited.
import Type from 'typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { browserScheme, SESSION_COOKIE, verifyToken, type Auth } from '../auth.js';
import type { AppContext } from '../context.js';

const Me = Type.Object({ name: Type.String(), role: Type.String(), owner: Type.Optional(Type.String()) });

export interface LoginLimit {
  /** attempts per source address per window */
  max: number;
  windowMs: number;
}
export const DEFAULT_LOGIN_LIMIT: LoginLimit = { max: 10, windowMs: 60_000 };

export const sessionApi = (ctx: AppContext, auth: Auth, limit: LoginLimit): FastifyPluginAsync => async (app) => {
  const secure = (req: FastifyRequest) => (browserScheme(req.headers, req.protocol === 'https') === 'https' ? '; Secure' : '');
  const clear = (req: FastifyRequest, reply: FastifyReply) => reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure(req)}`);

  app.post(
    '/api/session',
    {
      config: {
        scope: 'public',
        rateLimit: {
          max: limit.max,
          timeWindow: limit.windowMs,
          onExceeded: (req: FastifyRequest) => {
            auth.failed('/api/session', 'rate-limit');
            req.log.warn({ source: req.ip }, `login: too many attempts from ${req.ip}`);
          },
          errorResponseBuilder: (req: FastifyRequest, c: { after: string; max: number }) => ({
            statusCode: 429,
            error: 'Too Many Requests',
            message: `too many login attempts from ${req.ip} (at most ${c.max} per ${limit.windowMs / 1000}s): try again in ${c.after}`,
          }),
        },
      },
      schema: { body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }) },
    },
    async (req, reply) => {
      const { token } = req.body as { token: string };
      const user = verifyToken(ctx.store, token);
      if (!user || user.role === 'agent' || user.role === 'metrics') {
        auth.failed('/api/session', 'token');
        // never the token itself: a mistyped one is often one character from a real one
        const why = user ? `an ${user.role} token, which cannot log in` : 'unknown or revoked token';
        req.log.warn({ source: req.ip }, `login failed from ${req.ip}: ${why}`);
        ctx.store.audit('anonymous', 'login.failed', 'session', { reason: why }, req.ip);
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'invalid token (or an agent or metrics token, which cannot log in)' });
      }
      ctx.store.audit(`${user.role}:${user.name}`, 'login', 'session', { role: user.role }, req.ip, user.owner ?? '');
      // a fresh id at every login, and the browser's previous session ends: an id planted or
      // seen before the login is worth nothing after it
      const previous = auth.sessionHash(req.headers);
      if (previous && ctx.store.deleteSession(previous)) ctx.sessionEnded(previous);
      const id = auth.startSession(user);
      reply.header('set-cookie', `${SESSION_COOKIE}=${id}; Path=/; Max-Age=${Math.floor(auth.sessions.ttlMs / 1000)}; HttpOnly; SameSite=Strict${secure(req)}`);
      return { name: user.name, role: user.role, ...(user.owner ? { owner: user.owner } : {}) };
    },
  );

  // who this browser is logged in as, or null: 200 either way (a login page is not an error)
  app.get('/api/session', { config: { scope: 'public' } }, async (req) => {
    const c = auth.caller(req.headers);
    return { user: c && c.user.role !== 'agent' && c.user.role !== 'metrics' ? { name: c.user.name, role: c.user.role, ...(c.user.owner ? { owner: c.user.owner } : {}) } : null };
  });

  // logging out ends the session in the store: a copied cookie is worth nothing afterwards
  app.delete('/api/session', { config: { scope: 'public' } }, async (req, reply) => {
    const hash = auth.sessionHash(req.headers);
    const c = hash ? auth.caller({ cookie: req.headers.cookie }) : undefined;
    if (hash && ctx.store.deleteSession(hash)) {
      ctx.store.audit(c ? `${c.user.role}:${c.user.name}` : 'anonymous', 'logout', 'session', {}, req.ip, c?.user.owner ?? '');
      ctx.sessionEnded(hash);
    }
    clear(req, reply);
    return reply.code(204).send();
  });

  app.get('/api/me', { onRequest: auth.requireRole('viewer'), config: { scope: 'checked' }, schema: { response: { 200: Me } } }, async (req) => ({
    name: req.user!.name,
    role: req.user!.role,
    ...(req.user!.owner ? { owner: req.user!.owner } : {}),
  }));
};
