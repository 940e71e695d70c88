// A tenant's fleet view in a real Chromium: a viewer token scoped to one owner lists exactly that
// owner's zones of a simulated SmartOS node whose zones belong to two owners — no node table, no
// other tenant's zone, no global zone — while an unscoped viewer of the same server sees them all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test/artifacts');
const CHROMIUM = '/usr/bin/chromium';
const A = '7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b';

describe.skipIf(!existsSync(CHROMIUM))('a tenant\'s fleet view in Chromium', () => {
  const node = `e2e-tenant-${process.pid}`;
  let base = '';
  let server: { close(): Promise<void> } | undefined;
  let browser: Browser | undefined;
  let tenantToken = '';
  let viewerToken = '';
  let zones: { name: string; alias?: string; owner?: string }[] = [];

  const rows = async (page: Page): Promise<string[]> => page.$$eval('table tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).innerText.replace(/\s+/g, ' ').trim()));
  const login = async (token: string): Promise<Page> => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${base}/`);
    await page.fill('#token', token);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector('header.top');
    return page;
  };

  beforeAll(async () => {
    const { tempDir, spawnZonescope, FAKES, until } = await import('../helpers/cli.js');
    const { buildApp } = await import('../../server/app.js');
    const { createToken } = await import('../../server/auth.js');
    const { chromium } = await import('playwright-core');
    mkdirSync(ARTIFACTS, { recursive: true });
    const webDir = tempDir('zs-e2e-tenant-web-');
    await execa('npx', ['vite', 'build', 'web', '--logLevel', 'warn', '--outDir', webDir, '--emptyOutDir'], { cwd: ROOT });
    const srv = await buildApp({ dataDir: tempDir('zs-e2e-tenant-data-'), webDir });
    server = srv;
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`;
    tenantToken = createToken(srv.ctx.store, 'viewer', 'tenant-a', A).token;
    viewerToken = createToken(srv.ctx.store, 'viewer', 'all-zones').token;
    const agentToken = createToken(srv.ctx.store, 'agent', 'e2e-tenant-agent').token;
    spawnZonescope(['agent', '--server', base, '--token', agentToken, '--node', node, '--interval', '1', '--platform', 'illumos'], {
      PATH: `${FAKES}:${process.env.PATH}`,
      ZONESCOPE_FAKE_STATE: tempDir(),
    });
    zones = await until('the simulated node\'s zones with their owners', () => {
      const z = srv.ctx.fleet.nodes.get(node)?.zones ?? [];
      return z.some((x) => x.owner === A) && z.some((x) => x.owner && x.owner !== A) && z;
    }, 30_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    const { stopAll } = await import('../helpers/cli.js');
    await stopAll();
    await server?.close();
  });

  it('lists only the tenant\'s zones, with no sign that others exist', async () => {
    const mine = zones.filter((z) => z.owner === A);
    const others = zones.filter((z) => z.owner !== A);
    const page = await login(tenantToken);
    await page.waitForFunction((n) => document.querySelectorAll('table tbody tr').length === n && document.body.innerText.includes('web-frontend'), mine.length, { timeout: 20_000 });
    // a sample or two later, the list is still exactly its zones
    await page.waitForTimeout(2500);
    const shown = await rows(page);
    await page.screenshot({ path: join(ARTIFACTS, 'tenant-fleet.png') });
    expect(shown).toHaveLength(mine.length);
    for (const z of mine) expect(shown.some((r) => r.includes(z.alias ?? z.name)), z.alias).toBe(true);
    const text = await page.innerText('main');
    for (const z of others) {
      expect(text).not.toContain(z.name);
      if (z.alias) expect(text).not.toContain(z.alias);
    }
    expect(await page.$$eval('h2', (hs) => hs.map((x) => x.textContent))).not.toContain('Nodes');
    expect(await page.innerText('h1')).toBe('Your zones');
    expect(await page.innerText('p.summary')).toBe(`${mine.length} zones`);
    await page.close();
  });

  it('lists every zone, the global one too, to an unscoped viewer of the same server', async () => {
    const page = await login(viewerToken);
    await page.waitForFunction(() => document.body.innerText.includes('billing-reconciliation'), undefined, { timeout: 20_000 });
    const text = await page.innerText('main');
    for (const z of zones) expect(text).toContain(z.alias ?? z.name);
    expect(await page.$$eval('h2', (hs) => hs.map((x) => x.textContent))).toContain('Nodes');
    await page.close();
  });
});
