// Flame graph benchmark in Chromium: builds the UI's bench page with Vite, serves it on
// loopback, and times (median of several runs) the first draw of a synthetic profile with
// 100k distinct frames and 1M samples, a zoom redraw and a search.
// Run: `node test/bench/flamegraph.bench.mjs` (or through `npm run bench`).
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, extname, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const webRoot = resolve(here, '../../web');
const RUNS = 7;
const TARGETS = { firstDrawMs: 100, zoomMs: 16 };
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

async function buildPage() {
  const { build } = await import('vite');
  const outDir = await mkdtemp(join(tmpdir(), 'zs-bench-'));
  await build({
    configFile: join(webRoot, 'vite.config.ts'),
    root: webRoot,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  return outDir;
}

function serve(dir) {
  const srv = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = join(dir, path === '/' ? 'bench.html' : path);
    if (!file.startsWith(dir)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv)));
}

export async function run({ print = true } = {}) {
  const { chromium } = await import('playwright-core');
  const dir = await buildPage();
  const srv = await serve(dir);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${srv.address().port}/bench.html`);
    await page.waitForFunction(() => document.title === 'bench ready');
    const profile = await page.evaluate(() => window.__bench.prepare(100_000, 1_000_000));
    const first = [], zoom = [], search = [], parse = [];
    // one warm-up round so the JIT has seen the code, as it has in a page that is in use
    await page.evaluate(() => (window.__bench.firstDraw(), window.__bench.zoom(), window.__bench.search()));
    for (let i = 0; i < RUNS; i++) {
      first.push(await page.evaluate(() => window.__bench.firstDraw()));
      zoom.push(await page.evaluate(() => window.__bench.zoom()));
      search.push(await page.evaluate(() => window.__bench.search()));
      if (i < 3) parse.push(await page.evaluate(() => window.__bench.parse()));
    }
    const status = await page.evaluate(() => window.__bench.status());
    const laidOut = await page.evaluate(() => window.__bench.frames());
    if (errors.length) throw new Error(`page errors during the benchmark:\n${errors.join('\n')}`);
    const r = {
      frames: laidOut,
      samples: 1_000_000,
      foldedLines: profile.foldedLines,
      firstDrawMs: median(first.map((x) => x.totalMs)),
      layoutMs: median(first.map((x) => x.layoutMs)),
      drawMs: median(first.map((x) => x.drawMs)),
      framesDrawn: first[0].drawn,
      framesHidden: first[0].hidden,
      zoomMs: median(zoom.map((x) => x.zoomInMs)),
      zoomOutMs: median(zoom.map((x) => x.zoomOutMs)),
      searchMs: median(search.map((x) => x.searchMs)),
      searchMatched: search[0].matched,
      parseFoldedMs: median(parse.map((x) => x.parseMs)),
      status,
    };
    if (print) {
      const ok = (v, t) => (v <= t ? `ok (target ≤ ${t} ms)` : `OVER TARGET (≤ ${t} ms)`);
      const f = (v) => v.toFixed(1).padStart(7) + ' ms';
      console.log(`flame graph, Chromium, synthetic profile: ${r.frames.toLocaleString('en-US')} distinct frames, ` +
        `${r.samples.toLocaleString('en-US')} samples (${r.foldedLines.toLocaleString('en-US')} folded lines); median of ${RUNS}`);
      console.log(`  first draw (layout + draw) ${f(r.firstDrawMs)}  ${ok(r.firstDrawMs, TARGETS.firstDrawMs)}`);
      console.log(`    layout                   ${f(r.layoutMs)}`);
      console.log(`    draw                     ${f(r.drawMs)}   ${r.framesDrawn} frames drawn, ${r.framesHidden} too narrow`);
      console.log(`  zoom redraw                ${f(r.zoomMs)}  ${ok(r.zoomMs, TARGETS.zoomMs)}`);
      console.log(`  reset zoom redraw          ${f(r.zoomOutMs)}`);
      console.log(`  search (regex)             ${f(r.searchMs)}   ${r.searchMatched}`);
      console.log(`  parse folded text          ${f(r.parseFoldedMs)}   (live updates from /folded)`);
    }
    return r;
  } finally {
    await browser.close();
    await new Promise((ok) => srv.close(ok));
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  run().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
