// Checking a received frame: JSON, then envelope (version, type), then the type's schema.
// Each failure has a short machine reason (a metric label) and a message naming the field.
import { Compile } from 'typebox/compile';
import type { Static, TSchema } from 'typebox';
import { PROTOCOL_VERSION } from './messages.js';

export type RejectReason = 'not-json' | 'bad-version' | 'unknown-type' | 'bad-shape' | 'too-large' | 'too-deep';

/** Deepest nesting of objects and arrays a frame may have: the deepest schema needs 6; deeper
 * values would only be carried along (and once made the zone API answer 500). */
export const MAX_DEPTH = 16;

/** How deeply a JSON text nests, counted without parsing it (so JSON.parse never sees a
 * pathological nesting); stops counting once over `limit`. */
export function jsonDepth(text: string, limit = MAX_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \\ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max && (max = depth) > limit) return max;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}
export type Decoded<M> = { ok: true; msg: M } | { ok: false; reason: RejectReason; message: string };

type Table = Record<string, TSchema>;
type Validator = ReturnType<typeof Compile>;
type MessageOf<T extends Table> = { [K in keyof T]: Static<T[K]> }[keyof T];

const compiled = new WeakMap<Table, Map<string, Validator>>();

function validators(table: Table): Map<string, Validator> {
  let m = compiled.get(table);
  if (!m) {
    m = new Map(Object.entries(table).map(([k, s]) => [k, Compile(s)]));
    compiled.set(table, m);
  }
  return m;
}

/** Describe the first schema error as "field: problem" for a human reading a close reason. */
export function firstError(check: Validator, value: unknown): string {
  for (const e of check.Errors(value)) {
    const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(frame)';
    return `${where}: ${e.message}`;
  }
  return 'does not match schema';
}

export function decode<T extends Table>(table: T, text: string): Decoded<MessageOf<T>> {
  if (jsonDepth(text) > MAX_DEPTH) return { ok: false, reason: 'too-deep', message: `frame nests objects or arrays more than ${MAX_DEPTH} deep` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: 'not-json', message: `frame is not JSON: ${(e as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'bad-shape', message: 'frame is not a JSON object' };
  }
  const { v, type } = value as { v?: unknown; type?: unknown };
  if (v !== PROTOCOL_VERSION) {
    return { ok: false, reason: 'bad-version', message: `protocol version ${JSON.stringify(v)} not supported (want ${PROTOCOL_VERSION})` };
  }
  const check = typeof type === 'string' ? validators(table).get(type) : undefined;
  if (!check) return { ok: false, reason: 'unknown-type', message: `unknown message type ${JSON.stringify(type)}` };
  if (!check.Check(value)) {
    return { ok: false, reason: 'bad-shape', message: `${type}: ${firstError(check, value)}` };
  }
  return { ok: true, msg: value as MessageOf<T> };
}
