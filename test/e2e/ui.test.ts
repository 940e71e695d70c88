// The web UI in a real Chromium (playwright-core driving /usr/bin/chromium) against the real
// server (in process, built by buildApp) and a real agent process on loopback, tracing a real
// zone (a cgroup) with bpftrace. Screenshots go to test/artifacts/ (git-ignored).
//
// Needs: server/app.ts (buildApp), the built agent (global setup runs tsc), /usr/bin/chromium,
// root (to make the test zone's cgroup and run bpftrace), gcc (to build the burner). The trace
// tests also need the scripts and traces API (GET /api/scripts lists cpu-profile and
// syscall-latency); while the server lacks it they are skipped at run time, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { dragMouse, onScreenBox } from '../helpers/browser.js';
import { TEST_ENV } from '../helpers/procs.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test/artifacts');
const CHROMIUM = '/usr/bin/chromium';
const HAVE = {
  server: existsSync(join(ROOT, 'server/app.ts')),
  chromium: existsSync(CHROMIUM),
  root: process.getuid?.() === 0,
};
const missing = Object.entries(HAVE).filter(([, ok]) => !ok).map(([k]) => k);
if (missing.length) console.warn(`e2e UI tests skipped: missing ${missing.join(', ')}`);

const HOT = 'zs_e2e_hot_spin';
const BURNER_C = `
#include <stdio.h>
#include <unistd.h>
volatile unsigned long sink;
__attribute__((noinline)) void ${HOT}(void) { for (unsigned long i = 0; i < 20000000UL; i++) sink += i * 7; }
__attribute__((noinline)) void zs_e2e_outer(void) { ${HOT}(); }
int main(int argc, char **argv) {
  fputs("ready\\n", stdout); fflush(stdout);
  /* "syscalls": a steady stream of cheap system calls for syscall-latency */
  if (argc > 1) for (unsigned long n = 0;; n++) { getppid(); if (n % 64 == 0) usleep(200); }
  for (;;) zs_e2e_outer();
}
`;

describe.skipIf(missing.length > 0)('web UI in Chromium against a real server and agent', () => {
  const node = `e2e-node-${process.pid}`;
  const zoneName = `zs-e2e-${process.pid}`;
  let base = '';
  let port = 0;
  let dataDir = '';
  let webDir = '';
  let operatorToken = '';
  let viewerToken = '';
  let server: { close(): Promise<void>; app: { listen(o: { port: number; host: string }): Promise<string> } } | null = null;
  let agent: { stop(): Promise<void> } | null = null;
  let burner: ResultPromise | null = null;
  let caller: ResultPromise | null = null;
  let zone: { addPid(pid: number): Promise<void>; destroy(): Promise<void> } | null = null;
  let browser: Browser | null = null;
  let scripts: { id: string }[] = [];
  const problems: string[] = [];

  const startServer = async (): Promise<void> => {
    const { buildApp } = await import('../../server/app.js');
    const { retryAddrInUse } = await import('../helpers/cli.js');
    // the reconnect test starts it again on the same port, which a parallel test file may hold a moment
    server = await retryAddrInUse(async () => {
      const s = await buildApp({ dataDir, webDir });
      try {
        await s.app.listen({ port, host: '127.0.0.1' });
      } catch (e) {
        await s.close();
        throw e;
      }
      return s;
    });
  };

  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: join(ARTIFACTS, `ui-${name}.png`) });
  };

  const newPage = async (): Promise<Page> => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // anything the Content-Security-Policy blocks is a problem: the UI must live within it
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`)),
    );
    page.on('console', (m) => {
      // expected: the deliberate 404s and the server going away in the reconnect test
      if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    return page;
  };

  const login = async (page: Page, token: string, hash = ''): Promise<void> => {
    await page.goto(`${base}/${hash}`);
    await page.fill('#token', token);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('header.top');
  };

  beforeAll(async () => {
    const { tempDir, freePort, spawnZonescope } = await import('../helpers/cli.js');
    const { createToken } = await import('../../server/auth.js');
    const { makeTestZone } = await import('../helpers/zone.js');
    const { chromium } = await import('playwright-core');
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = tempDir('zs-e2e-data-');
    webDir = tempDir('zs-e2e-web-');
    await execa('npx', ['vite', 'build', 'web', '--logLevel', 'warn', '--outDir', webDir, '--emptyOutDir'], { cwd: ROOT });
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    await startServer();
    const store = (server as unknown as { ctx: { store: Parameters<typeof createToken>[0] } }).ctx.store;
    operatorToken = createToken(store, 'operator', 'e2e-operator').token;
    viewerToken = createToken(store, 'viewer', 'e2e-viewer').token;
    const agentToken = createToken(store, 'agent', 'e2e-agent').token;

    // the traced workload: a C program whose hot function has a name we can search for
    const bin = join(dataDir, 'burner');
    writeFileSync(`${bin}.c`, BURNER_C);
    await execa('gcc', ['-O1', '-g', '-fno-omit-frame-pointer', '-fno-inline', '-o', bin, `${bin}.c`]);
    zone = await makeTestZone(zoneName);
    burner = execa(bin, [], { env: TEST_ENV, reject: false, buffer: false });
    await zone.addPid(burner.pid!);
    caller = execa(bin, ['syscalls'], { env: TEST_ENV, reject: false, buffer: false });
    await zone.addPid(caller.pid!);

    agent = spawnZonescope(['agent', '--server', base, '--token', agentToken, '--node', node, '--interval', '1']);
    // wait until the server has the node and its zone
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await fetch(`${base}/api/nodes/${node}/zones`, { headers: { authorization: `Bearer ${viewerToken}` } });
      if (r.ok && ((await r.json()) as { name: string }[]).some((z) => z.name === zoneName)) break;
      if (Date.now() > deadline) throw new Error(`the agent did not report zone ${zoneName} within 30 s`);
      await new Promise((ok) => setTimeout(ok, 300));
    }
    const sr = await fetch(`${base}/api/scripts`, { headers: { authorization: `Bearer ${viewerToken}` } });
    scripts = sr.ok ? ((await sr.json()) as { id: string }[]) : [];
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await agent?.stop();
    burner?.kill('SIGKILL');
    caller?.kill('SIGKILL');
    await burner?.catch(() => undefined);
    await caller?.catch(() => undefined);
    await zone?.destroy();
    await server?.close();
  }, 60_000);

  it('logs in with a token, shows the node and its zones in the fleet, and opens the zone with charts', async () => {
    const page = await newPage();
    const first = await page.goto(base);
    // the page is served under a strict policy (and the UI below works within it)
    expect(first?.headers()['content-security-policy']).toMatch(/script-src 'self';\s*style-src 'self'/);
    await page.fill('#token', 'not-a-token');
    await page.click('form.login button[type=submit]');
    await expect.poll(() => page.textContent('.error-text')).toContain('not valid');
    await page.fill('#token', operatorToken);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector(`a[href="#/node/${node}"]`);
    await page.waitForSelector(`a[href="#/node/${node}/zone/${zoneName}"]`);
    expect(await page.textContent('.summary')).toMatch(/^(1 node|\d+ nodes), \d+ up/);
    // filter narrows the zones table
    await page.fill('.filter', zoneName);
    await expect.poll(async () => (await page.$$('table.grid >> nth=1 >> tbody tr')).length).toBe(1);
    await shot(page, 'fleet');
    await page.click(`a[href="#/node/${node}/zone/${zoneName}"]`);
    // CPU is a rate: its chart comes with the second CPU sample (a loaded machine's samplers
    // may miss rounds), memory with the first
    await expect
      .poll(() => page.$$eval('figure.chart figcaption', (els) => els.map((e) => e.textContent)), { timeout: 30_000 })
      .toContain('CPU (user / system)');
    // no window longer than the server keeps (--retention, 1 h by default); this server is
    // seconds old, so the 15-minute window reaches before its first sample and says so
    await expect.poll(() => page.$$eval('select[aria-label=window] option', (os) => os.map((o) => (o as HTMLOptionElement).textContent))).toEqual(['5 min', '15 min', '1 h']);
    expect(await page.textContent('.kept-note')).toMatch(/^No samples before \d+:\d+:\d+: the server holds this node's history from then on \(it keeps at most 1 h\)\.$/);
    await shot(page, 'zone');
    await page.close();
  });

  it('shows clear messages for an unknown zone and an unknown trace in the URL', async () => {
    const page = await newPage();
    await login(page, viewerToken);
    await page.goto(`${base}/#/node/${node}/zone/no-such-zone`);
    await expect.poll(() => page.textContent('main')).toContain("Unknown zone 'no-such-zone'");
    await page.goto(`${base}/#/trace/no-such-trace`);
    await expect.poll(() => page.textContent('main')).toContain("Unknown trace 'no-such-trace'");
    await page.goto(`${base}/#/node/no-such-node`);
    await expect.poll(() => page.textContent('main')).toContain("Unknown node 'no-such-node'");
    await shot(page, 'unknown');
    await page.close();
  });

  it('does not show a viewer the launch button', async () => {
    const page = await newPage();
    await login(page, viewerToken, `#/node/${node}/zone/${zoneName}`);
    await page.waitForSelector('section.launcher');
    expect(await page.$$('button.launch')).toHaveLength(0);
    await shot(page, 'viewer-zone');
    await page.close();
  });

  it('lists the zone\'s processes by memory and goes on to memleak for one of them', async () => {
    const page = await newPage();
    await login(page, operatorToken, `#/node/${node}/zone/${zoneName}`);
    await page.getByRole('button', { name: 'Show processes' }).click();
    await page.waitForSelector('table.procs-table tbody tr');
    const pids = await page.$$eval('table.procs-table tbody tr td:first-child', (tds) => tds.map((td) => Number(td.textContent)));
    // the zone's own processes: the burner is there, the test runner is not
    expect(pids).toContain(burner!.pid);
    expect(pids).not.toContain(process.pid);
    await shot(page, 'processes');
    const row = page.locator('table.procs-table tbody tr', { hasText: String(burner!.pid) });
    await row.getByRole('button', { name: 'memleak' }).click();
    await page.waitForURL(/#\/trace\//);
    await expect.poll(() => page.textContent('h1')).toMatch(/memleak/);
    await page.close();
  }, 60_000);

  it('shows "reconnecting" when the server goes away and recovers by itself when it returns', async () => {
    const page = await newPage();
    await login(page, viewerToken);
    await page.waitForSelector(`a[href="#/node/${node}"]`);
    await server!.close();
    await page.waitForSelector('.banner:not([hidden])', { timeout: 15_000 });
    expect(await page.textContent('.banner')).toMatch(/reconnecting/i);
    await shot(page, 'reconnecting');
    await startServer();
    await page.waitForSelector('.banner[hidden]', { state: 'attached', timeout: 20_000 });
    await page.waitForSelector(`a[href="#/node/${node}"]`, { timeout: 20_000 });
    await page.close();
  });

  it('launches cpu-profile: the flame graph has the hot function, search shows % matched, click zooms, a subsecond range redraws it', async (ctx) => {
    if (!scripts.some((s) => s.id === 'cpu-profile')) ctx.skip(); // needs GET /api/scripts with cpu-profile
    const page = await newPage();
    await login(page, operatorToken, `#/node/${node}/zone/${zoneName}`);
    await page.waitForSelector('button.launch');
    await page.selectOption('#script', 'cpu-profile');
    await page.fill('#durationS', '6');
    await page.click('button.launch');
    await page.waitForURL(/#\/trace\//);
    await expect.poll(() => page.textContent('.fg-status'), { timeout: 30_000 }).toMatch(/[1-9][\d,]* samples/);
    await page.fill('.fg-search', HOT);
    await expect.poll(() => page.textContent('.fg-match'), { timeout: 20_000 }).toMatch(/[1-9][\d.]*% matched/);
    await shot(page, 'flame-search');
    // once the trace has ended (a live update redraws the graph), click the widest frame
    // above the root: the zoom path grows
    await expect.poll(() => page.textContent('h1 .status'), { timeout: 30_000 }).toMatch(/done|stopped/);
    const crumbs = async (): Promise<number> => (await page.$$('.fg-crumb')).length;
    expect(await crumbs()).toBe(1);
    // measured and clicked on each try: the final result may still redraw the graph
    await expect
      .poll(async () => {
        const box = page.locator('.fg-canvas').first();
        // the pointer only reaches what is in the viewport (the outcome and the heatmap sit above)
        await box.evaluate((e) => e.scrollIntoView({ block: 'end' }));
        const bb = (await box.boundingBox())!;
        await page.mouse.click(bb.x + bb.width / 2, bb.y + bb.height - 18 - 9);
        return crumbs();
      })
      .toBeGreaterThan(1);
    await page.keyboard.press('Escape');
    await expect.poll(crumbs).toBe(1);
    // pick a range on the subsecond heatmap: the flame graph is redrawn for its slices (their
    // exact count is checked in trace-page.test.ts). From the
    // bottom (0 ms) of one column to the top of a later one: in time order that is a second or
    // more of slices (top to bottom would be the few slices around one second's end, which a
    // burner starved by a loaded machine may not have been sampled in)
    const before = await page.textContent('.fg-status');
    const ob = await onScreenBox(page.locator('.subsecond .u-over')); // it sits above the flame graph scrolled to
    await dragMouse(page, { x: ob.x + ob.width * 0.3, y: ob.y + ob.height - 5 }, { x: ob.x + ob.width * 0.55, y: ob.y + 5 });
    // what the page says about the range, the selection and missing stacks: all of it, should it fail
    const said = () => page.$$eval('.range, .selection, .no-stacks:not([hidden]), .error-text:not([hidden])', (els) => els.map((e) => e.textContent).join(' | '));
    await expect.poll(said).toMatch(/Showing the selected slices \d/);
    await expect.poll(() => page.textContent('.fg-status')).not.toBe(before);
    await shot(page, 'flame-range');
    await page.close();
  }, 90_000);

  it('launches syscall-latency and draws a latency heatmap', async (ctx) => {
    if (!scripts.some((s) => s.id === 'syscall-latency')) ctx.skip(); // needs GET /api/scripts with syscall-latency
    const page = await newPage();
    await login(page, operatorToken, `#/node/${node}/zone/${zoneName}`);
    await page.waitForSelector('button.launch');
    await page.selectOption('#script', 'syscall-latency');
    await page.fill('#durationS', '5');
    await page.click('button.launch');
    await page.waitForURL(/#\/trace\//);
    await page.waitForSelector('.latency canvas');
    // heat-coloured cells appear in the plot once intervals arrive: any colour of the palette
    // (pale yellow for a few events to dark red for the most), never the white background or
    // the grey grid — one dominant bucket leaves every other cell pale
    const hot = (): Promise<number> =>
      page.$eval('.latency canvas', (c) => {
        const cv = c as HTMLCanvasElement;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 200 && d[i] - d[i + 2] > 40) n++;
        return n;
      });
    await expect.poll(hot, { timeout: 30_000 }).toBeGreaterThan(20);
    // latencies are nanoseconds: the records say µs/ms, never bare "2000"
    await expect.poll(() => page.textContent('.records'), { timeout: 30_000 }).toMatch(/\d (ns|µs|ms)\b/);
    await shot(page, 'latency-heatmap');
    await page.close();
  }, 90_000);

  it('stops a running trace: the page says how long it ran, not "100%"', async (ctx) => {
    if (!scripts.some((s) => s.id === 'syscall-count')) ctx.skip();
    const page = await newPage();
    await login(page, operatorToken, `#/node/${node}/zone/${zoneName}`);
    await page.waitForSelector('button.launch');
    await page.selectOption('#script', 'syscall-count');
    await page.fill('#durationS', '60');
    await page.click('button.launch');
    await page.waitForURL(/#\/trace\//);
    await expect.poll(() => page.textContent('h1 .status'), { timeout: 30_000 }).toMatch(/running/);
    await page.focus('button.stop');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.textContent('h1 .status'), { timeout: 30_000 }).toMatch(/stopped/);
    expect(await page.textContent('.progress-line')).toMatch(/stopped after (\d+ s|less than an interval) of 60 s/);
    expect(await page.isVisible('button.stop')).toBe(false);
    await shot(page, 'trace-stopped');
    await page.close();
  }, 90_000);

  it('the node page says which trace scripts can run there', async () => {
    const page = await newPage();
    await login(page, viewerToken, `#/node/${node}`);
    await expect.poll(() => page.textContent('.scripts'), { timeout: 15_000 }).toMatch(/^\d+ of 7 scripts can run on this node/);
    // whatever cannot run says why, and the fleet's tracer column does not claim more
    const listed = await page.$$eval('.scripts ul.unavailable li', (els) => els.map((e) => e.textContent ?? ''));
    for (const l of listed) expect(l).toMatch(/cannot run: \S/);
    await page.close();
  });

  it('a trace whose process exits says so ("partial", the reason) and offers no empty export', async () => {
    const victim = execa(join(dataDir, 'burner'), [], { env: TEST_ENV, reject: false, buffer: false });
    await zone!.addPid(victim.pid!);
    const auth = { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' };
    const res = await fetch(`${base}/api/traces`, { method: 'POST', headers: auth, body: JSON.stringify({ node, zone: zoneName, script: 'malloc-sizes', params: { pid: victim.pid }, durationS: 60 }) });
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const page = await newPage();
    await login(page, viewerToken, `#/trace/${id}`);
    await expect.poll(() => page.textContent('h1 .status'), { timeout: 30_000 }).toMatch(/running/);
    victim.kill('SIGKILL');
    await victim.catch(() => undefined);
    await expect.poll(() => page.textContent('h1 .status'), { timeout: 30_000 }).toBe('partial');
    expect(await page.textContent('.reasons')).toMatch(new RegExp(`process ${victim.pid} exited after \\d+ s`));
    // nothing was lost, so no "Lost data"; the spinning process never called malloc: no
    // stacks, so no flame graph to export
    expect(await page.$('.lost')).toBeNull();
    await expect.poll(() => page.isVisible('.no-stacks')).toBe(true);
    expect(await page.textContent('.no-stacks')).toMatch(/No stacks to show or export/);
    expect(await page.isVisible('.fg-export-folded')).toBe(false);
    await shot(page, 'trace-partial');
    await page.close();
  }, 90_000);

  it('logged no page or console errors', () => {
    expect(problems).toEqual([]);
  });
});
