// Continuous profiles of zones (`--always-on cpu-profile`), and pprof exports of traces.
import Type from 'typebox';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AppContext } from '../context.js';
import type { ProfileStore } from '../profile-store.js';
import type { TraceManager } from '../traces.js';
import { PROFILES } from '../always-on.js';
import { foldStacks, formatFolded } from '../../protocol/folded.js';
import { PPROF_TYPE, pprofFileName, pprofOfFolded } from '../pprof.js';

const ZoneParams = Type.Object({ node: Type.String({ maxLength: 256 }), zone: Type.String({ maxLength: 256 }) });
/** ms since the epoch; a window is at most what can be kept (a year bounds hostile values) */
const Millis = Type.Integer({ minimum: 0, maximum: 8.64e15 });
const ProfileQuery = Type.Object(
  {
    from: Type.Optional(Millis),
    to: Type.Optional(Millis),
    /** json: samples per bucket and the folded stacks; buckets: only the former (the time strip) */
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('buckets'), Type.Literal('folded'), Type.Literal('pprof')])),
  },
  { additionalProperties: false },
);
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Range = Type.Object({ from: Type.Optional(Type.Number()), to: Type.Optional(Type.Number()) });

const HZ = PROFILES['cpu-profile'].params.hz;

const fail = (reply: FastifyReply, code: number, message: string) =>
  reply.code(code).send({ statusCode: code, error: code === 404 ? 'Not Found' : 'Bad Request', message });

export const profileApi = (ctx: AppContext, profiles: ProfileStore, traces: TraceManager): FastifyPluginAsync => async (app) => {
  const viewer = ctx.requireRole('viewer');

  app.get('/api/nodes/:node/zones/:zone/profile', { onRequest: viewer, config: { scope: 'checked' }, schema: { params: ZoneParams, querystring: ProfileQuery } }, async (req, reply) => {
    const { node, zone } = req.params as { node: string; zone: string };
    const q = req.query as { from?: number; to?: number; format?: string };
    const now = Date.now();
    const to = q.to ?? now;
    const from = q.from ?? to - 3600_000;
    if (from >= to) return fail(reply, 400, `querystring/from must be before to (from ${from}, to ${to})`);
    const first = profiles.first(node, zone);
    // a zone that left the fleet keeps its stored profile (what was it doing before it went?)
    if (first === null && !ctx.fleet.nodes.get(node)?.zones.some((z) => z.name === zone)) {
      return fail(reply, 404, ctx.fleet.nodes.has(node) ? `unknown zone '${zone}' on node '${node}'` : `unknown node '${node}'`);
    }
    const format = q.format ?? 'json';
    const meta = { node, zone, from, to, bucketS: profiles.opts.bucketMs / 1000, hz: HZ, unit: 'samples', retentionS: profiles.opts.retentionMs / 1000, first };
    if (format === 'buckets') return { ...meta, buckets: profiles.buckets(node, zone, from, to) };
    const folded = profiles.window(node, zone, from, to);
    if (format === 'json') return { ...meta, buckets: profiles.buckets(node, zone, from, to), folded: formatFolded(folded) };
    if (!folded.size) {
      // never an empty download: say why there is nothing
      const why = first === null ? 'no continuous profile is stored for it (is the server run with --always-on cpu-profile@ZONE?)' : `nothing was sampled between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}`;
      return fail(reply, 404, `zone '${zone}' on node '${node}': ${why}`);
    }
    if (format === 'folded') return reply.type('text/plain; charset=utf-8').send(formatFolded(folded));
    const body = pprofOfFolded(folded, { unit: 'samples', hz: HZ, startMs: from, durationMs: to - from, comments: [`node ${node}`, `zone ${zone}`, 'continuous cpu-profile']});
    return reply.type(PPROF_TYPE).header('content-disposition', `attachment; filename="${pprofFileName(node, zone, String(from))}"`).send(body);
  });

  app.get('/api/traces/:id/pprof', { onRequest: viewer, config: { scope: 'checked' }, schema: { params: IdParams, querystring: Range } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const q = req.query as { from?: number; to?: number };
    const t = traces.get(id);
    if (!t) return fail(reply, 404, `unknown trace '${id}'`);
    const folded = foldStacks(traces.records(t, q.from, q.to));
    if (![...folded.values()].some((v) => v > 0)) {
      const where = q.from !== undefined || q.to !== undefined ? ' in that time range' : '';
      return fail(reply, 404, `trace '${id}' has no stacks${where}`);
    }
    const hz = t.script === 'cpu-profile' && typeof t.params.hz === 'number' ? t.params.hz : undefined;
    const startMs = q.from ?? t.startedAt ?? t.createdAt;
    const endMs = q.to ?? t.endedAt ?? Date.now();
    const body = pprofOfFolded(folded, { unit: t.unit, hz, startMs, durationMs: endMs - startMs, comments: [`node ${t.node}`, `zone ${t.zone}`, `script ${t.script}`, `trace ${t.id}`] });
    return reply.type(PPROF_TYPE).header('content-disposition', `attachment; filename="${pprofFileName(t.script, t.id)}"`).send(body);
  });
};
