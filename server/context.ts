// What every route plugin gets: the state it reads and the guards it uses.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Fleet } from './fleet.js';
import type { Hub } from './hub.js';
import type { ServerMetrics } from './metrics.js';
import type { Role, Store } from './store.js';
import type { TenantScope } from './tenant-scope.js';

export interface AppContext {
  fleet: Fleet;
  store: Store;
  hub: Hub;
  metrics: ServerMetrics;
  /** what a scoped token may see (server/tenant-scope.ts) */
  scope: TenantScope;
  requireRole(role: Role): (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /** a token was revoked: connections made with it are cut */
  tokenRevoked(id: number): void;
  /** a browser session ended (logout): its /live connections are cut */
  sessionEnded(hash: string): void;
  /** who did it, for the audit log */
  actor(req: FastifyRequest): string;
}
