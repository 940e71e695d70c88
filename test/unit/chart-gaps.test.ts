// Zone charts draw no value they cannot trust: a counter's rate only between samples one
// interval apart, never across a hole (where a late sampler value reads as a false dip), and
// each hole is found with the reason the node gave for it.
import { describe, expect, it } from 'vitest';
import { rate, findGaps } from '../../web/src/chart-gaps.js';

describe('chart gaps', () => {
  it('a steady counter reads steady; frames after a hole or one not an interval apart give no rate', () => {
    // 0.42 CPUs, 10 s interval; a 30 s hole, then a frame only 4 s after the one before it
    const t = [0, 10, 20, 50, 54, 64, 74].map((s) => s * 1000);
    const v = t.map((ms) => 0.42 * (ms / 1000));
    expect(rate(t, v, 10)).toEqual([null, 4.2 / 10, 4.2 / 10, null, null, 4.2 / 10, 4.2 / 10].map((x) => (x === null ? null : expect.closeTo(x, 9))));
  });

  it('drops the two rates after a missing value (the first value after a failed sampler may have been read late)', () => {
    const t = [0, 1, 2, 3, 4, 5, 6].map((s) => s * 1000);
    // frame 3 failed; frame 4 carries a value read late (too high), frame 5 is right again
    const v = [0, 1, 2, null, 4.6, 5, 6];
    const r = rate(t, v, 1);
    expect(r).toEqual([null, 1, 1, null, null, null, 1]);
    // without the interval (older servers) only the plain rules apply
    expect(rate(t, v)[5]).toBeCloseTo(0.4);
  });

  it('finds holes in the timeline and in a series, merged, each with the reason the node gave', () => {
    const t = [0, 1, 2, 8, 9, 10, 11].map((s) => s * 1000);
    const a = [1, 1, 1, 1, 1, null, 1];
    const gaps = findGaps(t, [a], 1, [
      { time: 8000, kind: 'frames-missing', message: '5 sample frames never arrived' },
      { time: 10_000, kind: 'sampler-error', message: 'sampler cpu failed: kstat: exit 3' },
    ]);
    expect(gaps).toEqual([
      { from: 2000, to: 8000, reason: 'no trustworthy samples for 6 s: 5 sample frames never arrived' },
      { from: 9000, to: 11_000, reason: 'no trustworthy samples for 2 s: sampler cpu failed: kstat: exit 3' },
    ]);
    // nothing to say: the hole still says how long, and that nothing came
    expect(findGaps(t, [], 1)[0].reason).toMatch(/^no trustworthy samples for 6 s: no frames arrived/);
    // a series still missing now: the hole reaches the latest frame
    expect(findGaps([0, 1000, 2000], [[1, null, null]], 1)).toMatchObject([{ from: 0, to: 2000 }]);
  });
});
