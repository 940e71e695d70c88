import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration and e2e tests start servers, tracers and containers: two cores, keep it calm
    maxWorkers: 2,
    // a page waiting on the server (a fetch, a redraw after it) can take seconds while the
    // suite loads both cores: polls wait for the state they assert up to 10 s, not 1 s
    expect: { poll: { timeout: 10_000 } },
    globalSetup: ['test/global-setup.ts'],
  },
});
