import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // integration and e2e tests start servers, tracers and containers: two cores, keep it calm
    maxWorkers: 2,
    globalSetup: ['test/global-setup.ts'],
  },
});
