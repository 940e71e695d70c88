// Time axis labels short enough never to run into each other at the ticks' spacing.
import { describe, expect, it } from 'vitest';
import { timeLabels, TIME_SPACE } from '../../web/src/time-axis.js';

describe('time axis labels', () => {
  const at = (iso: string) => new Date(iso).getTime() / 1000;
  it('say hours and minutes, seconds only when ticks are under a minute apart, the date only where the day changes', () => {
    const base = at('2026-12-04T16:48:00');
    expect(timeLabels([base, base + 60, base + 120], 60)).toEqual(['16:48', '16:49', '16:50']);
    expect(timeLabels([base, base + 10], 10)).toEqual(['16:48:00', '16:48:10']);
    const late = at('2026-12-04T23:00:00');
    expect(timeLabels([late, late + 3600], 3600)).toEqual(['23:00', 'Dec 5 00:00']);
  });

  it('fit the spacing between ticks (about 7 px a character at 12 px)', () => {
    const base = at('2026-12-04T16:48:00');
    for (const incr of [1, 10, 60, 900, 3600]) for (const l of timeLabels([base, base + incr], incr)) expect(l.length * 7).toBeLessThan(TIME_SPACE);
  });
});
