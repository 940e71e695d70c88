// Browser sessions: the UI trades a token for an HttpOnly cookie, so scripts on the page
// never hold it and the /live WebSocket is authenticated the same way as the API.
import Type from 'typebox';
import type { FastifyPluginAsync } from 'fastify';
import { requestToken, SESSION_COOKIE, verifyToken } from '../auth.js';
import type { AppContext } from '../context.js';

const Me = Type.Object({ name: Type.String(), role: Type.String() });

export const sessionApi = (ctx: AppContext): FastifyPluginAsync => async (app) => {
  app.post(
    '/api/session',
    { schema: { body: Type.Object({ token: Type.String({ minLength: 1, maxLength: 512 }) }) } },
    async (req, reply) => {
      const { token } = req.body as { token: string };
      const user = verifyToken(ctx.store, token);
      if (!user || user.role === 'agent') {
        ctx.metrics.authFailures.inc({ endpoint: '/api/session' });
        return reply.code(401).send({ statusCode: 401, error: 'Unauthorized', message: 'invalid token (or an agent token, which cannot log in)' });
      }
      ctx.store.audit(user.name, 'login', 'session', { role: user.role });
      // behind a TLS-terminating proxy the browser speaks https even though we see http; a
      // spurious Secure only makes a plain-http browser drop the cookie, so the header is safe to honour
      const proxied = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim().toLowerCase();
      const secure = req.protocol === 'https' || proxied === 'https' ? '; Secure' : '';
      reply.header('set-cookie', `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${secure}`);
      return { name: user.name, role: user.role };
    },
  );

  // who this browser is logged in as, or null: 200 either way (a login page is not an error)
  app.get('/api/session', async (req) => {
    const user = verifyToken(ctx.store, requestToken(req));
    return { user: user && user.role !== 'agent' ? { name: user.name, role: user.role } : null };
  });

  app.delete('/api/session', async (_req, reply) => {
    reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.code(204).send();
  });

  app.get('/api/me', { preHandler: ctx.requireRole('viewer'), schema: { response: { 200: Me } } }, async (req) => ({
    name: req.user!.name,
    role: req.user!.role,
  }));
};
