// The curated script catalog: scripts/NAME.json (metadata) next to NAME.d and NAME.bt. Read
// by the agent (what to run, how to check parameters) and by the server (GET /api/scripts,
// checking a request before anything is sent), so both refuse the same things.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

export const ParamSpec = Type.Object({
  name: Type.String({ pattern: '^[a-z][A-Za-z0-9]{0,31}$' }),
  type: Type.Union([Type.Literal('int'), Type.Literal('string'), Type.Literal('duration')]),
  min: Type.Optional(Type.Number()),
  max: Type.Optional(Type.Number()),
  default: Type.Optional(Type.Union([Type.Number(), Type.String()])),
  /** string parameters: the whole value must match (anchored); required for strings */
  pattern: Type.Optional(Type.String()),
  description: Type.String(),
});
export type ParamSpec = Static<typeof ParamSpec>;

/** A host facility a script needs (see agent/tracers/prerequisites.ts). */
export const Need = Type.Union([Type.Literal('tracefs'), Type.Literal('uprobes')]);
export type Need = Static<typeof Need>;

export const ScriptMeta = Type.Object({
  id: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' }),
  title: Type.String(),
  question: Type.String(),
  output: Type.Union([Type.Literal('flame'), Type.Literal('heatmap'), Type.Literal('table')]),
  /** what record values count: samples, nanoseconds, bytes, calls */
  unit: Type.String(),
  keys: Type.Optional(Type.Array(Type.String())),
  defaultDurationS: Type.Integer({ minimum: 1 }),
  maxDurationS: Type.Integer({ minimum: 1, maximum: 3600 }),
  overhead: Type.String(),
  notes: Type.Optional(Type.String()),
  /** the stack map's last key is the sample's time slice (the monotonic clock in SLICE_MS
   * units, protocol/records.ts): the agent turns it into the records' `slices` */
  timeSliced: Type.Optional(Type.Boolean()),
  /** DTrace only: the script prints alloc/free events, joined by the agent (agent/parse/dtrace-events.ts) */
  join: Type.Optional(Type.Literal('alloc-free')),
  /** in declaration order they become $3, $4, ... ($1 is the zone, $2 the duration) */
  params: Type.Array(ParamSpec),
  /** what the host must offer beyond the tracer and its privileges, per tracer (checked by the
   * agent at start and before each trace): tracefs for tracepoints, uprobes for user probes */
  needs: Type.Optional(Type.Object({ dtrace: Type.Optional(Type.Array(Need)), bpftrace: Type.Optional(Type.Array(Need)) })),
  /** extra tracer flags per tracer; `{name}` is replaced by that (validated) parameter */
  tracerArgs: Type.Optional(Type.Object({ dtrace: Type.Optional(Type.Array(Type.String())), bpftrace: Type.Optional(Type.Array(Type.String())) })),
});
export type ScriptMeta = Static<typeof ScriptMeta>;

const check = Compile(ScriptMeta);
const here = dirname(fileURLToPath(import.meta.url));

/** scripts/ of the source tree or of the installed package (dist/scripts → ../../scripts). */
export function scriptsDir(): string {
  if (process.env.ZONESCOPE_SCRIPTS) return resolve(process.env.ZONESCOPE_SCRIPTS);
  for (let d = here, i = 0; i < 5; i++, d = dirname(d)) {
    const c = join(d, 'scripts');
    if (existsSync(join(c, 'cpu-profile.json'))) return c;
  }
  throw new Error(`the script catalog (scripts/*.json) was not found above ${here}; set ZONESCOPE_SCRIPTS`);
}

let cached: { dir: string; scripts: ScriptMeta[] } | undefined;

/** Every script, sorted by id. A malformed metadata file is an error naming the file. */
export function loadCatalog(dir = scriptsDir()): ScriptMeta[] {
  if (cached?.dir === dir) return cached.scripts;
  const scripts: ScriptMeta[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, f);
    let meta: unknown;
    try {
      meta = JSON.parse(readFileSync(path, 'utf8'));
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
    if (!check.Check(meta)) {
      const err = [...check.Errors(meta)][0];
      throw new Error(`${path}: ${err ? `${err.instancePath || '/'} ${err.message}` : 'not a script description'}`);
    }
    if (`${meta.id}.json` !== f) throw new Error(`${path}: id '${meta.id}' does not match the file name`);
    if (meta.defaultDurationS > meta.maxDurationS) throw new Error(`${path}: defaultDurationS is over maxDurationS`);
    for (const p of meta.params) if (p.type === 'string' && !p.pattern) throw new Error(`${path}: string parameter '${p.name}' needs a pattern`);
    scripts.push(meta);
  }
  cached = { dir, scripts };
  return scripts;
}

export function findScript(id: string, dir?: string): ScriptMeta | undefined {
  return loadCatalog(dir).find((s) => s.id === id);
}

export function scriptFile(meta: ScriptMeta, tracer: 'dtrace' | 'bpftrace', dir = scriptsDir()): string {
  return join(dir, `${meta.id}.${tracer === 'dtrace' ? 'd' : 'bt'}`);
}
