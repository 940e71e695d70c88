// Checks trace parameters against the script's declared types and bounds. Values reach the
// tracer only as positional arguments; on top of that, anything that is not a plain number
// or a string matching the declared pattern is refused, so nothing resembling D, bpftrace or
// shell syntax gets that far.
import type { ScriptMeta } from './catalog.js';

export class ParamError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

const ZONE = /^[A-Za-z0-9_.:@-]{1,256}$/;

export function checkZoneName(zone: unknown): string {
  if (typeof zone !== 'string' || !ZONE.test(zone) || zone === '.' || zone === '..') throw new ParamError('zone', `zone: '${String(zone).slice(0, 80)}' is not a zone name (letters, digits and _.:@- only)`);
  return zone;
}

export function checkDuration(meta: ScriptMeta, d: unknown): number {
  if (d === undefined || d === null) return meta.defaultDurationS;
  const n = typeof d === 'string' && /^\d+$/.test(d) ? Number(d) : d;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > meta.maxDurationS)
    throw new ParamError('durationS', `durationS: must be a whole number of seconds from 1 to ${meta.maxDurationS} for ${meta.id}, not ${JSON.stringify(d)}`);
  return n;
}

/** The parameters with defaults filled in, in declaration order; throws ParamError naming the first bad one. */
export function checkParams(meta: ScriptMeta, params: Record<string, unknown> = {}): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const k of Object.keys(params)) {
    if (!meta.params.some((p) => p.name === k))
      throw new ParamError(`params.${k}`.slice(0, 80), `params.${k.slice(0, 64)}: ${meta.id} has no such parameter (it takes: ${meta.params.map((p) => p.name).join(', ') || 'none'})`);
  }
  for (const p of meta.params) {
    const field = `params.${p.name}`;
    const raw = params[p.name] ?? p.default;
    if (raw === undefined) throw new ParamError(field, `${field}: required (${p.description})`);
    if (p.type === 'int' || p.type === 'duration') {
      const n = typeof raw === 'string' && /^-?\d{1,16}$/.test(raw) ? Number(raw) : raw;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new ParamError(field, `${field}: must be a whole number, not ${JSON.stringify(raw).slice(0, 80)}`);
      if (p.min !== undefined && n < p.min) throw new ParamError(field, `${field}: ${n} is below the minimum ${p.min}`);
      if (p.max !== undefined && n > p.max) throw new ParamError(field, `${field}: ${n} is above the maximum ${p.max}`);
      out[p.name] = n;
    } else {
      if (typeof raw !== 'string') throw new ParamError(field, `${field}: must be a string`);
      // the catalog requires a pattern for strings; on top, never quotes, code or paths
      const ok = new RegExp(`^(?:${p.pattern})$`).test(raw) && /^[A-Za-z0-9_.:@-]*$/.test(raw);
      if (!ok) throw new ParamError(field, `${field}: '${raw.slice(0, 80)}' is not allowed (must match ${p.pattern}; letters, digits and _.:@- only)`);
      out[p.name] = raw;
    }
  }
  return out;
}

/** $3.. in declaration order, then the script's extra tracer flags with `{name}` filled in. */
export function positional(meta: ScriptMeta, values: Record<string, number | string>): string[] {
  return meta.params.map((p) => String(values[p.name]));
}

export function tracerFlags(meta: ScriptMeta, tracer: 'dtrace' | 'bpftrace', values: Record<string, number | string>): string[] {
  return (meta.tracerArgs?.[tracer] ?? []).map((a) => a.replace(/\{([a-zA-Z0-9]+)\}/g, (_m, name: string) => {
    if (!(name in values)) throw new Error(`${meta.id}: tracerArgs names unknown parameter '${name}'`);
    return String(values[name]);
  }));
}
