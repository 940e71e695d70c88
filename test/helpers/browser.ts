// The UI in a real Chromium for the browser tests: the UI built once into a temporary
// directory, Chromium launched headless, pages that collect page and console errors (a test
// ends by asserting there were none), login through the form, screenshots into test/artifacts/.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Browser, ElementHandle, Locator, Page } from 'playwright-core';
import { ROOT } from './cli.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(ROOT, 'test/artifacts');

/** Builds the UI (vite) into a new temporary directory; returns it. */
export async function buildWeb(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'zs-web-'));
  await execa('npx', ['vite', 'build', 'web', '--logLevel', 'warn', '--outDir', dir, '--emptyOutDir'], { cwd: ROOT });
  return dir;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page whose errors land in `problems` (deliberate 404s and dropped sockets excepted). */
export async function newPage(browser: Browser, problems: string[], viewport = { width: 1440, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|WebSocket connection/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return page;
}

export async function login(page: Page, base: string, token: string, hash = ''): Promise<void> {
  await page.goto(`${base}/${hash}`);
  await page.fill('#token', token);
  await page.click('form.login button[type=submit]');
  await page.waitForSelector('header.top');
}

export async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

export interface Point2 {
  x: number;
  y: number;
}

/** The box the pointer is to act on, scrolled on screen first (the pointer reaches only what is
 * in the viewport, and a live page above it may have changed height): measure right before use. */
export async function onScreenBox(target: Locator | ElementHandle): Promise<{ x: number; y: number; width: number; height: number }> {
  await target.scrollIntoViewIfNeeded();
  const box = await target.boundingBox();
  if (!box) throw new Error('the element to point at is not shown');
  return box;
}

/** A drag as a user makes it: press at `from`, move to `to` in `steps`, release. */
export async function dragMouse(page: Page, from: Point2, to: Point2, steps = 4): Promise<void> {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps });
  await page.mouse.up();
}
