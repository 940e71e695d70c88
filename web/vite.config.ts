import { defineConfig } from 'vite';
import { resolve } from 'node:path';

// root is web/; the server serves dist/web. bench.html is a second entry used only by
// test/bench/flamegraph.bench.mjs (a synthetic 100k-frame profile in Chromium).
export default defineConfig({
  root: import.meta.dirname,
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: {
        main: resolve(import.meta.dirname, 'index.html'),
        bench: resolve(import.meta.dirname, 'bench.html'),
      },
    },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:9080',
      '/live': { target: 'ws://127.0.0.1:9080', ws: true },
    },
  },
});
