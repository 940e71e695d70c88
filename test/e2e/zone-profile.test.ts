// The zone page's continuous profile in a real Chromium, against a real server keeping a real
// bpftrace cpu-profile on a test zone (5 s buckets instead of minutes): the strip shows the
// samples, the flame graph of the last minutes has the burner's hot function without any trace
// started, dragging a window redraws it, and Shift-dragging a baseline draws the difference.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';
import { dragMouse, onScreenBox } from '../helpers/browser.js';
import { makeTestZone, type TestZone } from '../helpers/zone.js';
import { buildBurner, startBurner, killAll } from '../helpers/burner.js';
import { startHarness, type Harness } from '../helpers/trace-harness.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test/artifacts');
const CHROMIUM = '/usr/bin/chromium';
const NODE = `zs-zprof-${process.pid}`;
const HOT = 'zonescope_strip_hot';
const BUCKET = 5000;
const usable = existsSync(CHROMIUM) && process.getuid?.() === 0 && existsSync('/usr/bin/bpftrace');

describe.skipIf(!usable)('zone page: continuous profile', () => {
  let h: Harness;
  let zone: TestZone;
  let browser: Browser;
  const kids: ChildProcess[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    const webDir = mkdtempSync(join(tmpdir(), 'zs-zprof-web-'));
    await execa('npx', ['vite', 'build', 'web', '--logLevel', 'warn', '--outDir', webDir, '--emptyOutDir'], { cwd: ROOT });
    zone = await makeTestZone(`zs-zprof-${process.pid}`);
    h = await startHarness({ webDir, alwaysOn: [{ script: 'cpu-profile', zones: [zone.name] }], profiles: { bucketMs: BUCKET } });
    const burner = await startBurner(buildBurner(HOT), 'spin');
    kids.push(burner);
    await zone.addPid(burner.pid!);
    await h.startAgent(NODE);
    await h.waitFor('the test zone to be discovered', () => h.app.ctx.fleet.nodes.get(NODE)?.zones.some((z) => z.name === zone.name));
    // a few buckets of the burner
    await h.waitFor('three buckets of profile', async () => {
      const r = await h.api('GET', `/api/nodes/${NODE}/zones/${zone.name}/profile?format=buckets&from=${Date.now() - 600_000}`);
      return r.json?.buckets?.filter((b: { samples: number }) => b.samples > 0).length >= 3;
    }, 60_000);
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    killAll(kids);
    await browser?.close();
    await h?.close();
    await zone?.destroy();
  });

  const open = async (): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && problems.push(m.text()));
    await page.goto(`${h.url}/#/node/${NODE}/zone/${zone.name}`);
    await page.fill('#token', h.tokens.viewer);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('.zone-profile .fg-canvas', { timeout: 30_000 });
    return page;
  };

  it('draws the last minutes without a trace, redraws a dragged window, and compares with a baseline', async () => {
    const page = await open();
    await expect.poll(() => page.textContent('.zone-profile'), { timeout: 20_000 }).toMatch(/[1-9][\d,]* samples at 19 Hz/);
    // no trace was started for it
    expect((await h.api('GET', '/api/traces')).json).toEqual([]);
    await page.fill('.zone-profile .fg-search', HOT);
    await expect.poll(() => page.textContent('.zone-profile .fg-match'), { timeout: 10_000 }).toMatch(/[1-9][\d.]*% matched/);
    await page.screenshot({ path: join(ARTIFACTS, 'zone-profile.png'), fullPage: true });

    // drag the right end of the strip: a new window, named in the status line. Each drag
    // measures the strip again: the live health box above it can change height meanwhile.
    const drag = async (from: number, to: number) => {
      const strip = await onScreenBox(page.locator('.profile-strip'));
      const x = (f: number) => strip.x + 1 + (strip.width - 2) * f; // inside its edges
      await dragMouse(page, { x: x(from), y: strip.y + 10 }, { x: x(to), y: strip.y + 20 });
    };
    const before = await page.textContent('.zone-profile .range');
    await drag(0.9, 1);
    await expect.poll(() => page.textContent('.zone-profile .range')).not.toBe(before);
    await expect.poll(() => page.textContent('.zone-profile .fg-status'), { timeout: 10_000 }).toMatch(/samples/);

    // Shift-drag the whole strip (the profile is minutes old: all of it sits at the right
    // end): the baseline; the flame graph becomes differential
    await page.keyboard.down('Shift');
    await drag(0, 1);
    await page.keyboard.up('Shift');
    await expect.poll(() => page.textContent('.zone-profile .range')).toMatch(/compared with/);
    await expect.poll(() => page.textContent('.zone-profile .fg-status'), { timeout: 10_000 }).toMatch(/differential/);
    await page.screenshot({ path: join(ARTIFACTS, 'zone-profile-diff.png'), fullPage: true });

    // an hour earlier there was nothing: it says so rather than showing a blank diff
    await page.click('text=Clear baseline');
    await page.click('text=Compare with 1 h earlier');
    await expect.poll(() => page.textContent('.zone-profile')).toMatch(/Nothing was sampled in the baseline window/);
    await page.close();
    expect(problems).toEqual([]);
  }, 90_000);
});
