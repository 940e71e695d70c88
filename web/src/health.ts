// Whether a node's data can be trusted right now: samplers that fail (count, last message,
// since when) and samples that stopped coming (the latest frame's age against the interval).
// The fleet, node and zone pages show the same words, so a failure is seen wherever one looks.
import type { NodeInfo, SamplerIssue } from './api.js';
import { h, fmtAgo } from './dom.js';

/** A frame later than this many intervals (and at least this many seconds) is stale. */
const STALE_INTERVALS = 3;
const STALE_MIN_S = 5;

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
}

const clock = (ms: number): string => new Date(ms).toLocaleTimeString('en-GB');

/** Seconds since the latest sample when that is stale for the node's interval; null otherwise. */
export function staleAge(n: NodeInfo, now = Date.now()): number | null {
  if (!n.lastSampleAt) return null;
  const age = (now - n.lastSampleAt) / 1000;
  return age > Math.max(STALE_MIN_S, STALE_INTERVALS * n.intervalS) ? age : null;
}

export const failing = (n: NodeInfo): SamplerIssue[] => (n.samplerIssues ?? []).filter((i) => i.failing);

/** One line for a table cell: "ok", "stale: last sample 45s ago", "2 samplers failing". */
export function healthCell(n: NodeInfo, now = Date.now()): HTMLElement {
  const bad = failing(n);
  const stale = n.up ? staleAge(n, now) : null;
  const parts: (HTMLElement | string)[] = [];
  if (!n.up) parts.push(h('span.dim', 'no data (agent away)'));
  if (stale !== null) parts.push(h('span.health-stale', `stale: last sample ${fmtAgo(n.lastSampleAt, now)}`));
  if (bad.length)
    parts.push(
      h('span.health-bad', { title: bad.map((i) => `${i.sampler}: ${i.message}`).join('\n') }, `${plural(bad.length, 'sampler')} failing: ${bad.map((i) => i.sampler).join(', ')}`),
    );
  if (!parts.length) parts.push(h('span.up', 'ok'), n.samplerErrors ? h('span.dim', ` (${plural(n.samplerErrors, 'error')} earlier)`) : '');
  const cell = h('span.health');
  parts.forEach((p, i) => cell.append(...(i ? [' · ', p] : [p])));
  return cell;
}

/** Sort key: worse is larger (down, stale, failing samplers). */
export function healthRank(n: NodeInfo, now = Date.now()): number {
  return (n.up ? 0 : 100) + (staleAge(n, now) !== null ? 50 : 0) + failing(n).length;
}

/**
 * The panel for a node (node page) or a zone's node (zone page): stale data first, then each
 * sampler that failed, with its failures, last message and since when; nothing when all is well.
 */
export function healthPanel(n: NodeInfo, now = Date.now()): HTMLElement | null {
  const issues = n.samplerIssues ?? [];
  const stale = n.up ? staleAge(n, now) : null;
  const bad = issues.filter((i) => i.failing);
  if (!bad.length && stale === null && n.up) return null;
  const box = h('section.health-panel', { role: 'status' });
  if (!n.up) box.append(h('p.warn', `The agent of ${n.node} is away (last seen ${fmtAgo(n.lastSeen, now)}): what this page shows stopped then.`));
  else if (stale !== null)
    box.append(
      h(
        'p.warn.stale',
        `Stale data: the last sample from ${n.node} is ${fmtAgo(n.lastSampleAt, now)} old (${clock(n.lastSampleAt!)}); it samples every ${n.intervalS} s.`,
      ),
    );
  if (bad.length) {
    box.append(
      h('p.warn', `${plural(bad.length, 'sampler')} on ${n.node} failing: their series are missing from the charts while they fail.`),
      h(
        'table.grid.sampler-issues',
        h('thead', h('tr', h('th', 'Sampler'), h('th.num', 'Failures'), h('th', 'Failing since'), h('th', 'Last message'))),
        h(
          'tbody',
          ...bad.map((i) =>
            h('tr', h('td', h('code', i.sampler)), h('td.num', i.count.toLocaleString('en-US')), h('td', `${clock(i.since)} (${fmtAgo(i.since, now)})`), h('td.msg', i.message)),
          ),
        ),
      ),
    );
  }
  return box;
}
