// Property-based fuzzing of the agent channel against a real server process: generated frames
// of every message type (test/helpers/fuzz-frames.ts). The server stays up, every rejection is
// counted (one per connection it closed for one), and /metrics stays promtool-clean.
// `npm run fuzz` runs the long version (FUZZ_FRAMES=100000) and prints the figures.
import { describe, expect, it } from 'vitest';
import { fuzzServer } from '../helpers/fuzz.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 2000);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;

describe('agent frame fuzzing', () => {
  it(`survives ${FRAMES} generated frames, counting every rejection`, async () => {
    const r = await fuzzServer({ frames: FRAMES, seed: SEED });
    console.log(`fuzz: ${JSON.stringify({ ...r, promtool: r.promtool.ok ? 'clean' : r.promtool.output })}`);
    expect(r.crashes, `seed ${r.seed}`).toBe(0);
    expect(r.frames).toBeGreaterThanOrEqual(FRAMES);
    // the fuzzer reached the checks, not only the JSON parser
    expect(Object.keys(r.rejected).length, JSON.stringify(r.rejected)).toBeGreaterThanOrEqual(4);
    // each rejection closed one connection; a close whose frame did not arrive shows as 1006
    expect(r.rejectedTotal, `seed ${r.seed}: ${JSON.stringify(r)}`).toBeGreaterThanOrEqual(r.rejectedConnections);
    expect(r.rejectedTotal, `seed ${r.seed}: ${JSON.stringify(r)}`).toBeLessThanOrEqual(r.rejectedConnections + (r.closes[1006] ?? 0));
    expect(r.promtool.ok, r.promtool.output).toBe(true);
  }, Math.max(60_000, FRAMES * 10));
});
