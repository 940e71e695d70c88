// Prometheus HTTP service discovery of the fleet: one target group per node. A node whose agent
// serves its own /metrics (--metrics-listen) is scraped there; the others through the server
// with ?node=N, so each node is its own target either way and `up` means something per node.
import type { FastifyPluginAsync, onRequestAsyncHookHandler } from 'fastify';
import type { AppContext } from '../context.js';
import { ownerOf } from '../tenant-scope.js';

export const sdApi = (ctx: AppContext, guard: onRequestAsyncHookHandler): FastifyPluginAsync => async (app) => {
  app.get('/sd', { onRequest: guard, config: { scope: 'filtered' } }, async (req) => {
    const self = req.headers.host ?? `${req.hostname}`;
    const owner = ownerOf(req);
    return ctx.scope.nodes(owner).map((n) => {
      const labels: Record<string, string> = {
        __meta_zonescope_node: n.node,
        __meta_zonescope_platform: n.hello.platform,
        __meta_zonescope_simulated: String(n.hello.simulated),
        __meta_zonescope_up: String(n.up),
        __meta_zonescope_tracer: n.hello.tracer.name,
        __meta_zonescope_agent_version: n.hello.agentVersion,
      };
      // a tenant is always sent to the server, which filters: an agent's own /metrics is the node's
      const u = owner === null ? directUrl(n.hello.metricsUrl) : undefined;
      if (u) {
        labels.__scheme__ = u.protocol.replace(':', '');
        labels.__metrics_path__ = u.pathname;
        labels.__meta_zonescope_direct = 'true';
        return { targets: [u.host], labels };
      }
      labels.__metrics_path__ = '/metrics';
      labels.__param_node = n.node;
      // every such target shares the server's address: without its own instance, the nodes'
      // `up` (and scrape_*) series would collide in one series per server
      labels.instance = n.node;
      labels.__meta_zonescope_direct = 'false';
      return { targets: [self], labels };
    });
  });
};

/** The agent's own /metrics address, if it announced one Prometheus can scrape: one agent's
 * bad --metrics-listen must not take service discovery away from the whole fleet. */
function directUrl(text: string | undefined): URL | undefined {
  if (!text) return undefined;
  try {
    const u = new URL(text);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host ? u : undefined;
  } catch {
    return undefined;
  }
}
