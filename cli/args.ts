// Flag parsing shared by every command: node's parseArgs in strict mode, with errors turned
// into one line that names the command, and durations/intervals read the same everywhere.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse<O extends Options>(cmd: string, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** "10", "10s", "2m", "500ms", "7d" → seconds */
export function seconds(what: string, text: string | undefined, fallback: number, max = 86400, min = 0): number {
  if (text === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${what}: '${text}' is not a duration (e.g. 10, 10s, 2m)`);
  const n = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as const)[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  if (n <= 0 || n > max) throw new UsageError(`${what}: '${text}' is out of range (0, ${max}s]`);
  if (n < min) throw new UsageError(`${what}: '${text}' is shorter than ${min === 1 ? 'a second' : `${min}s`}`);
  return n;
}

export function port(what: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${what}: '${text}' is not a port number`);
  return n;
}

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, kb: 1e3, mb: 1e6, gb: 1e9 };

/** "1GiB", "500MiB", "1048576" → bytes */
export function size(what: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new UsageError(`${what}: '${text}' is not a size (e.g. 500MiB, 1GiB)`);
  const n = Math.floor(Number(m[1]) * unit);
  if (n < 1024 * 1024) throw new UsageError(`${what}: '${text}' is below 1MiB`);
  return n;
}
