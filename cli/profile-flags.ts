// The continuous profiles' bounds, as flags of `server` and `start`: how long they are kept and
// how much disk they may take. `--profile-bucket` (not in --help) shortens the one-minute
// bucket, so a test can see minutes go by in seconds.
import type { ProfileStoreOptions } from '../server/profile-store.js';
import { seconds, UsageError } from './args.js';

export const profileFlags = {
  'profile-retention': { type: 'string' },
  'profile-budget': { type: 'string' },
  'profile-bucket': { type: 'string' },
} as const;

export const profilesHelp = `  --profile-retention D  continuous profiles kept this long (default 24h, at most 720h)
  --profile-budget SIZE  ... and at most this much disk, oldest minutes out first
                      (default 1GiB; e.g. 500MiB, 2GiB)
`;

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

type Values = Record<string, string | boolean | string[] | undefined>;

export function parseProfiles(v: Values): ProfileStoreOptions {
  return {
    retentionMs: seconds('--profile-retention', v['profile-retention'] as string | undefined, 24 * 3600, 720 * 3600) * 1000,
    budgetBytes: size('--profile-budget', v['profile-budget'] as string | undefined, 1024 ** 3),
    bucketMs: Math.round(seconds('--profile-bucket', v['profile-bucket'] as string | undefined, 60, 3600) * 1000),
  };
}
