// The web UI over HTTPS in a real Chromium that trusts a private CA (made with openssl, added to
// the browser's NSS database with certutil): login, the fleet with a simulated node whose agent
// connects over WSS with --ca, /live over WSS, all under the CSP without a violation. A browser
// that does not trust the CA is refused by the certificate check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Browser } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
const CHROMIUM = '/usr/bin/chromium';
const HAVE = { chromium: existsSync(CHROMIUM), certutil: existsSync('/usr/bin/certutil') };
const missing = Object.entries(HAVE).filter(([, ok]) => !ok).map(([k]) => k);
if (missing.length) console.warn(`e2e TLS tests skipped: missing ${missing.join(', ')} (Debian: chromium, libnss3-tools)`);

describe.skipIf(missing.length > 0)('web UI over HTTPS with a private CA', () => {
  const node = `e2e-tls-${process.pid}`;
  let base = '';
  let viewer = '';
  let revokeViewer: () => Promise<{ token: string; revoke(): Promise<number> }>;
  let server: { close(): Promise<void> } | null = null;
  const browsers: Browser[] = [];
  let pki: import('../helpers/tls-ca.js').TestPki;

  /** A Chromium whose certificate store (NSS, in $HOME/.pki/nssdb) trusts exactly this CA. */
  async function browserTrusting(caFile: string): Promise<Browser> {
    const { tempDir } = await import('../helpers/cli.js');
    const { chromium } = await import('playwright-core');
    const home = tempDir('zs-e2e-home-');
    const db = `sql:${join(home, '.pki/nssdb')}`;
    await execa('mkdir', ['-p', join(home, '.pki/nssdb')]);
    await execa('certutil', ['-d', db, '-N', '--empty-password']);
    await execa('certutil', ['-d', db, '-A', '-t', 'C,,', '-n', 'zonescope test CA', '-i', caFile]);
    const b = await chromium.launch({
      executablePath: CHROMIUM,
      env: { ...process.env, HOME: home },
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    browsers.push(b);
    return b;
  }

  beforeAll(async () => {
    const { tempDir, freePort, spawnZonescope, until } = await import('../helpers/cli.js');
    const { makePki } = await import('../helpers/tls-ca.js');
    const { buildApp } = await import('../../server/app.js');
    const { createToken } = await import('../../server/auth.js');
    pki = await makePki();
    const webDir = tempDir('zs-e2e-tls-web-');
    await execa('npx', ['vite', 'build', 'web', '--logLevel', 'warn', '--outDir', webDir, '--emptyOutDir'], { cwd: ROOT });
    const port = await freePort();
    base = `https://127.0.0.1:${port}`;
    const s = await buildApp({ dataDir: tempDir(), webDir, tls: { cert: readFileSync(pki.cert), key: readFileSync(pki.key) } });
    await s.app.listen({ port, host: '127.0.0.1' });
    server = s;
    viewer = createToken(s.ctx.store, 'viewer', 'e2e-tls-viewer').token;
    const admin = createToken(s.ctx.store, 'admin', 'e2e-tls-admin').token;
    const { Agent, fetch } = await import('undici');
    const trusted = new Agent({ connect: { ca: readFileSync(pki.ca, 'utf8') } });
    revokeViewer = async () => {
      const t = createToken(s.ctx.store, 'viewer', 'e2e-tls-revoked');
      return {
        token: t.token,
        revoke: async () => (await fetch(`${base}/api/tokens/${t.row.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` }, dispatcher: trusted })).status,
      };
    };
    const agentToken = createToken(s.ctx.store, 'agent', 'e2e-tls-agent').token;
    spawnZonescope(['agent', '--server', base, '--ca', pki.ca, '--node', node, '--interval', '1'], { ZONESCOPE_TOKEN: agentToken });
    await until('the agent over WSS', () => s.ctx.fleet.nodes.get(node)?.up, 30_000);
  }, 120_000);

  afterAll(async () => {
    const { stopAll } = await import('../helpers/cli.js');
    for (const b of browsers) await b.close();
    await stopAll();
    await server?.close();
  }, 60_000);

  it('logs in over HTTPS, shows the node, and follows the fleet over WSS, with no CSP violation', async () => {
    const b = await browserTrusting(pki.ca);
    const page = await b.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`)),
    );
    const frames: string[] = [];
    page.on('websocket', (ws) => {
      frames.push(`open ${ws.url()}`);
      ws.on('framereceived', (f) => frames.push(String(f.payload).slice(0, 40)));
    });
    const first = await page.goto(base);
    expect(first?.status()).toBe(200);
    expect(first?.headers()['content-security-policy']).toMatch(/upgrade-insecure-requests/);
    expect(first?.headers()['strict-transport-security']).toMatch(/max-age/);
    await page.fill('#token', viewer);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector(`a[href="#/node/${node}"]`);
    await expect.poll(() => frames.some((f) => f.startsWith('{"type":"fleet"'))).toBe(true);
    expect(frames[0]).toMatch(new RegExp(`^open wss://127\\.0\\.0\\.1:\\d+/live$`));
    // the session cookie is Secure and HttpOnly: the page's scripts cannot read it
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'zs_session')).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // logging out ends it: the login form is back and a reload stays logged out
    await page.click('button.logout');
    await page.waitForSelector('form.login');
    await page.reload();
    await page.waitForSelector('form.login');
    expect(problems).toEqual([]);
  });

  it('goes back to the login form, saying why, when its token is revoked while the page is open', async () => {
    const b = browsers[0] ?? (await browserTrusting(pki.ca));
    const page = await b.newPage();
    const t = await revokeViewer();
    await page.goto(base);
    await page.fill('#token', t.token);
    await page.click('form.login button[type=submit]');
    await page.waitForSelector(`a[href="#/node/${node}"]`);
    expect(await t.revoke()).toBe(200);
    // no click, no reload: /live is closed by the server and the page notices
    await page.waitForSelector('form.login', { timeout: 10_000 });
    expect(await page.textContent('.error-text')).toMatch(/session has ended/);
    await page.close();
  });

  it('is refused by a browser that does not trust the CA', async () => {
    const b = await browserTrusting(pki.wrongCa);
    const page = await b.newPage();
    await expect(page.goto(base)).rejects.toThrow(/ERR_CERT_AUTHORITY_INVALID/);
  });
});
