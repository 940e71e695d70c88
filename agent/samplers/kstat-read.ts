// What every illumos kstat sampler shares: one `kstat -p` run with a filter, parsed and
// grouped, and each per-zone kstat placed on its zone (by the `zonename` statistic, else the
// 30-character kstat name, else the zone id), labelled `zone` and `alias`.
import type { Zone } from '../../protocol/messages.js';
import { CommandError } from '../exec.js';
import { groupKstats, kstatNumber, kstatZoneName, parseKstat, type Kstat } from '../parse/kstat.js';
import type { SampleContext } from '../platform/types.js';

/**
 * Runs `kstat -p ARGS`. kstat exits 1 with no output when nothing matched (no capped zone,
 * no ZFS), which is an empty answer, not a failure. Output with no kstat line at all is a
 * broken tool and throws, naming the command; odd lines among good ones are counted.
 */
export async function readKstat(args: string[], ctx: SampleContext): Promise<Kstat[]> {
  const cmd = ['kstat', '-p', ...args].join(' ');
  let text: string;
  try {
    text = await ctx.run('kstat', ['-p', ...args], ctx.timeoutMs);
  } catch (e) {
    if (e instanceof CommandError && e.message === `${cmd}: exit 1`) return [];
    throw e;
  }
  const { rows, bad } = parseKstat(text);
  if (rows.length === 0 && bad.length > 0) {
    throw new Error(`${cmd}: output is not kstat -p lines (module:instance:name:statistic<TAB>value), first line: ${JSON.stringify(bad[0].slice(0, 120))}`);
  }
  for (const line of bad.slice(0, 20)) ctx.unparsed(`${cmd}: ${line.slice(0, 120)}`);
  return groupKstats(rows);
}

/** Labels of a zone's points: `zone`, and `alias` when discovery knows one. */
export function zoneLabels(zones: readonly Zone[], name: string): Record<string, string> {
  const alias = zones.find((z) => z.name === name)?.alias;
  return alias ? { zone: name, alias } : { zone: name };
}

/**
 * Each kstat with the zone it belongs to. A kstat that cannot be placed is counted through
 * `unparsed` and skipped: a point on the wrong zone would be worse than none.
 */
export function* perZone(
  kstats: readonly Kstat[],
  zones: readonly Zone[],
  ctx: SampleContext,
  byInstance = false,
): Generator<{ k: Kstat; zone: string; labels: Record<string, string> }> {
  for (const k of kstats) {
    const zone = kstatZoneName(k, zones, byInstance);
    if (zone === undefined) {
      ctx.unparsed(`${k.module}:${k.instance}:${k.name}: no zone matches this kstat`);
      continue;
    }
    yield { k, zone, labels: zoneLabels(zones, zone) };
  }
}

/** A statistic as a number: undefined when the kstat does not have it, NaN when it is not a number. */
export function stat(k: Kstat, name: string): number | undefined {
  const v = k.stats.get(name);
  return v === undefined ? undefined : kstatNumber(v);
}

export const where = (k: Kstat, s: string) => `${k.module}:${k.instance}:${k.name}:${s}`;
