// The continuous profiles' bounds, as flags of `server` and `start`: how long they are kept and
// how much disk they may take. `--profile-bucket` (not in --help) shortens the one-minute
// bucket, so a test can see minutes go by in seconds.
import type { ProfileStoreOptions } from '../server/profile-store.js';
import { seconds, size } from './args.js';

export const profileFlags = {
  'profile-retention': { type: 'string' },
  'profile-budget': { type: 'string' },
  'profile-bucket': { type: 'string' },
} as const;

export const profilesHelp = `  --profile-retention D  continuous profiles kept this long (default 24h, at most 30d)
  --profile-budget SIZE  ... and at most this much disk, oldest minutes out first
                      (default 1GiB; e.g. 500MiB, 2GiB)
`;

type Values = Record<string, string | boolean | string[] | undefined>;

export function parseProfiles(v: Values): ProfileStoreOptions {
  return {
    retentionMs: seconds('--profile-retention', v['profile-retention'] as string | undefined, 24 * 3600, 720 * 3600) * 1000,
    budgetBytes: size('--profile-budget', v['profile-budget'] as string | undefined, 1024 ** 3),
    bucketMs: Math.round(seconds('--profile-bucket', v['profile-bucket'] as string | undefined, 60, 3600) * 1000),
  };
}
