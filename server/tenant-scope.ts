// Tenants: what a scoped token (one made with --owner) may see. The one place that decides it —
// may this principal see node N, zone Z, trace T — used by a hook on every route, by the list
// routes, by /live and by the metrics. A scoped principal sees only the zones its owner owns
// (never the global zone, never host-wide data) and the nodes that hold one of them; anything
// else answers 404 exactly as if it did not exist (as Triton's cmon does), so a tenant cannot
// learn that other tenants' zones, nodes or traces exist by probing names.
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Zone } from '../protocol/messages.js';
import type { Fleet, NodeState } from './fleet.js';

/** How a route meets the tenant rule; every route under /api, /metrics and /sd declares one
 * (`config: { scope }`), or the server refuses to start (so a new route cannot forget it):
 * - `checked`: the hook checks the node, zone and trace the request names (`:node`, `:zone`,
 *   `:id`, `?node=`, a body's `node` and `zone`): another tenant's is a 404 before the handler;
 * - `filtered`: as `checked`, and the handler lists only what `TenantScope` lets through;
 * - `unscoped`: whole-fleet or server-wide data: a scoped principal gets 404;
 * - `public`: needs no token and shows no tenant's data (login, health). */
export type ScopeRule = 'checked' | 'filtered' | 'unscoped' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: ScopeRule;
  }
}

/** The paths whose routes must say their scope rule (the UI's static files need none). */
const RULED = /^\/(api\/|metrics|sd$)/;

/** What the scope needs to know of a trace. */
export interface TraceOwner {
  /** the owner of the token that started it; undefined: started unscoped */
  owner?: string;
}

/** A principal's owner: null for unscoped (operators' tokens, the global metrics token). */
export const ownerOf = (req: FastifyRequest): string | null => req.user?.owner ?? null;

export class TenantScope {
  constructor(
    private readonly fleet: Fleet,
    private readonly trace: (id: string) => TraceOwner | undefined,
  ) {}

  zoneVisible(owner: string | null, z: Zone): boolean {
    return owner === null || (z.name !== 'global' && z.owner === owner);
  }

  zones(owner: string | null, n: NodeState): Zone[] {
    return owner === null ? n.zones : n.zones.filter((z) => this.zoneVisible(owner, z));
  }

  nodeVisible(owner: string | null, n: NodeState): boolean {
    return owner === null || n.zones.some((z) => this.zoneVisible(owner, z));
  }

  nodes(owner: string | null): NodeState[] {
    return [...this.fleet.nodes.values()].filter((n) => this.nodeVisible(owner, n));
  }

  /** A scoped principal sees the traces its owner's tokens started (on its own zones: starting
   * one anywhere else is refused); never an operator's, never another tenant's. */
  traceVisible(owner: string | null, t: TraceOwner | undefined): boolean {
    return !!t && (owner === null || t.owner === owner);
  }

  /** Whether a zone still belongs to the owner a trace was started for (a zone name that moves to
   * another tenant mid-trace must not keep feeding the first one). */
  stillOwned(owner: string, node: string, zone: string): boolean {
    const z = this.fleet.nodes.get(node)?.zones.find((x) => x.name === zone);
    return !!z && this.zoneVisible(owner, z);
  }

  /** Why a request names something its principal may not see (the 404's message), or undefined.
   * The messages are the ones a name that does not exist gets, word for word. */
  refusal(owner: string | null, rule: ScopeRule, req: { params?: unknown; query?: unknown; body?: unknown }): string | undefined {
    if (owner === null || rule === 'public') return undefined;
    if (rule === 'unscoped') return 'not found';
    const p = (req.params ?? {}) as Record<string, unknown>;
    const q = (req.query ?? {}) as Record<string, unknown>;
    const b = (req.body && typeof req.body === 'object' ? req.body : {}) as Record<string, unknown>;
    const node = str(p.node) ?? str(q.node) ?? str(b.node);
    const zone = str(p.zone) ?? str(b.zone);
    if (node !== undefined) {
      const n = this.fleet.nodes.get(node);
      if (!n || !this.nodeVisible(owner, n)) return `unknown node '${node}'`;
      if (zone !== undefined && !n.zones.some((z) => z.name === zone && this.zoneVisible(owner, z))) return `unknown zone '${zone}' on node '${node}'`;
    } else if (zone !== undefined) {
      return `unknown zone '${zone}'`;
    }
    const id = str(p.id);
    // the only `:id` outside /api/traces is the token's, an admin route a scoped token never reaches
    if (id !== undefined && !this.traceVisible(owner, this.trace(id))) return `unknown trace '${id}'`;
    return undefined;
  }

  /** Installs the rule: every route must declare one, and the hook applies it to each request
   * after its principal is known and its parameters validated. */
  install(app: FastifyInstance): void {
    app.addHook('onRoute', (r: RouteOptions) => {
      if (RULED.test(r.url) && !r.config?.scope) throw new Error(`route ${String(r.method)} ${r.url} has no tenant scope rule (config.scope: see server/tenant-scope.ts)`);
    });
    app.addHook('preHandler', async (req: FastifyRequest, reply: FastifyReply) => {
      const rule = req.routeOptions.config?.scope;
      if (!rule) return;
      const why = this.refusal(ownerOf(req), rule, req);
      if (why) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: why });
    });
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
