// What an on-call engineer sees of a node's health, in a real Chromium against a real server
// and real agents on loopback: a simulated SmartOS node (the illumos stand-ins) whose zfs
// command fails shows that failure on the fleet, node and zone pages; an agent that stops
// sending (SIGSTOP) makes its data "stale" there, and the hole it leaves is a shaded gap in the
// charts that says why on hover; the global zone of a Linux host charts load, network and disk;
// stopping a zone updates its header and controls without a reload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { startHarness, waitEnded, type Harness } from '../helpers/trace-harness.js';
import { FAKES } from '../helpers/cli.js';
import { buildWeb, launchChromium, newPage, login, shot, CHROMIUM } from '../helpers/browser.js';

const ready = existsSync(CHROMIUM) && process.getuid?.() === 0;
const SICK = `cn-sick-${process.pid}`;
const LINUX = `lx-host-${process.pid}`;
const WEB = 'web-frontend'; // a running joyent zone of the simulated node
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!ready)('node health, host charts and VM state in Chromium', () => {
  let h: Harness;
  let browser: Browser;
  let sick: ChildProcess;
  const problems: string[] = [];
  let webUuid = '';

  beforeAll(async () => {
    h = await startHarness({ webDir: await buildWeb() });
    sick = await h.startAgent(SICK, {
      // 2 s: a busy machine still answers within the round (1 s rounds time samplers out)
      args: ['--platform', 'illumos', '--interval', '2'],
      env: { PATH: `${FAKES}:${process.env.PATH}`, ZONESCOPE_FAKE_FAIL: 'zfs', ZONESCOPE_FAKE_STATE: mkdtempSync(join(tmpdir(), 'zs-vmstate-')) },
    });
    await h.startAgent(LINUX, { args: ['--interval', '2'] });
    const zones = (await h.api('GET', `/api/nodes/${SICK}/zones`)).json as { name: string; alias?: string }[];
    webUuid = zones.find((z) => z.alias === WEB)!.name;
    browser = await launchChromium();
  }, 120_000);

  const temps: string[] = [];
  afterAll(async () => {
    if (sick?.pid) process.kill(sick.pid, 'SIGCONT');
    await browser?.close();
    await h?.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  /** A simulated SmartOS node whose commands are links in a directory of its own (so one can be
   * left out, or taken away later): that directory, and the uuid of its WEB zone. */
  const fakeNode = async (name: string, without?: string): Promise<{ bin: string; uuid: string }> => {
    const bin = mkdtempSync(join(tmpdir(), 'zs-fakebin-'));
    const state = mkdtempSync(join(tmpdir(), 'zs-vmstate-'));
    temps.push(bin, state);
    for (const f of readdirSync(FAKES)) if (f !== without) symlinkSync(join(FAKES, f), join(bin, f));
    await h.startAgent(name, {
      args: ['--platform', 'illumos', '--interval', '2'],
      env: { PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, ZONESCOPE_FAKE_STATE: state },
    });
    const zones = (await h.api('GET', `/api/nodes/${name}/zones`)).json as { name: string; alias?: string }[];
    return { bin, uuid: zones.find((z) => z.alias === WEB)!.name };
  };

  const page = async (token: string, hash: string): Promise<Page> => {
    const p = await newPage(browser, problems);
    await login(p, h.url, token, hash);
    return p;
  };

  it('a failing sampler shows on the fleet, node and zone pages, with its count, message and since when', async () => {
    const fleet = await page(h.tokens.viewer, '#/');
    const row = fleet.locator('tr', { has: fleet.locator(`a[href="#/node/${SICK}"]`) });
    await expect.poll(() => row.locator('.health-bad').textContent(), { timeout: 20_000 }).toMatch(/samplers? failing: (.*, )?zfs\b/);
    // the other node's zfs is fine (on a busy machine its own samplers may time out, and it says so)
    const other = fleet.locator('tr', { has: fleet.locator(`a[href="#/node/${LINUX}"]`) });
    expect(await other.locator('.health').textContent()).not.toMatch(/zfs/);
    expect(await fleet.textContent('.summary')).toMatch(/ with stale data or failing samplers/);
    await shot(fleet, 'fleet-health');
    await fleet.close();

    const node = await page(h.tokens.viewer, `#/node/${SICK}`);
    const issue = node.locator('table.sampler-issues tbody tr', { has: node.locator('td:first-child', { hasText: /^zfs$/ }) });
    await issue.waitFor({ timeout: 15_000 });
    const cells = await issue.locator('td').allTextContents();
    expect(Number(cells[1].replace(/,/g, ''))).toBeGreaterThanOrEqual(1);
    expect(cells[2]).toMatch(/\d\d:\d\d:\d\d \(\d+[smh] ago\)/);
    // the stand-in's own words (or, on a busy machine, the round that gave up waiting for it,
    // or the back-off that followed such rounds)
    expect(cells[3]).toMatch(/simulated failure \(ZONESCOPE_FAKE_FAIL=zfs\)|zfs: no answer within|zfs: still running from a round .* timed out \d+ rounds in a row/);
    // the count moves with the frames, without a reload
    const first = Number(cells[1]);
    await expect.poll(async () => Number(await issue.locator('td').nth(1).textContent()), { timeout: 15_000 }).toBeGreaterThan(first);
    await node.close();

    const zone = await page(h.tokens.viewer, `#/node/${SICK}/zone/${webUuid}`);
    await expect.poll(() => zone.textContent('.zone-health'), { timeout: 15_000 }).toMatch(/samplers? on .* failing/);
    expect(await zone.textContent('.zone-health table')).toMatch(/zfs/);
    await zone.close();
  }, 90_000);

  it("a tenant's token sees that its node's data is stale or broken, never the samplers' messages", async () => {
    const { createToken } = await import('../../server/auth.js');
    const tenant = createToken(h.app.ctx.store, 'viewer', 't-tenant', '7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b').token; // web-frontend's owner
    const hist = await h.waitFor('a sampler error in the zone history', async () => {
      const r = await h.api('GET', `/api/nodes/${SICK}/zones/${webUuid}/history?window=300`);
      return (r.json.events as { kind: string }[]).some((e) => e.kind === 'sampler-error') && r.json;
    });
    expect(JSON.stringify(hist.events)).toMatch(/sampler zfs failed/);
    const scoped = (await h.api('GET', `/api/nodes/${SICK}/zones/${webUuid}/history?window=300`, undefined, tenant)).json;
    const errors = (scoped.events as { kind: string; message: string }[]).filter((e) => e.kind === 'sampler-error');
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors.map((e) => e.message))).toEqual(new Set(['a sampler of this node failed']));
    const node = (await h.api('GET', `/api/nodes/${SICK}`, undefined, tenant)).json;
    expect(node.samplerIssues).toBeUndefined();
    expect(typeof node.lastSampleAt).toBe('number');
  }, 60_000);

  it('an agent that stops sending makes the pages say "stale", and its hole is a gap that says why', async () => {
    const zone = await page(h.tokens.viewer, `#/node/${SICK}/zone/${webUuid}`);
    const fleet = await page(h.tokens.viewer, '#/');
    await zone.waitForSelector('figure.chart canvas', { timeout: 20_000 });
    // let the charts have some history before the hole
    await sleep(3000);
    process.kill(sick.pid!, 'SIGSTOP');
    try {
      await expect.poll(() => zone.textContent('.zone-health'), { timeout: 20_000 }).toMatch(/Stale data: the last sample from .* is \d+s ago/);
      const row = fleet.locator('tr', { has: fleet.locator(`a[href="#/node/${SICK}"]`) });
      await expect.poll(() => row.locator('.health').textContent(), { timeout: 15_000 }).toMatch(/stale: last sample \d+s ago/);
      await shot(zone, 'zone-stale');
      await sleep(2000);
    } finally {
      process.kill(sick.pid!, 'SIGCONT');
    }
    await fleet.close();
    // samples again: no longer stale, and the CPU chart has a shaded gap where the hole was
    await expect.poll(() => zone.textContent('.zone-health'), { timeout: 20_000 }).not.toMatch(/Stale/);
    const cpu = zone.locator('figure.chart', { hasText: 'CPU (user / system)' });
    await expect.poll(async () => Number(await cpu.getAttribute('data-gaps')), { timeout: 20_000 }).toBeGreaterThan(0);
    // where the gap is: the chart's own pointer handler, probed across the plot in the page (a
    // pixel at a time, without a round trip per pixel on a loaded machine); then the real
    // pointer goes to the middle of the gap. Both again on each try: until the pointer rests
    // on the chart, the live page redraws it and the gap moves left.
    await expect
      .poll(async () => {
        const at = await cpu.evaluate((fig) => {
          fig.scrollIntoView({ block: 'center' }); // the health box above it changes height
          const over = fig.querySelector<HTMLElement>('.u-over')!;
          const tipEl = fig.querySelector<HTMLElement>('.gap-tip')!;
          const r = over.getBoundingClientRect();
          const y = r.top + r.height / 2;
          let right: number | null = null;
          let left: number | null = null;
          for (let x = r.right - 2; x > r.left && left === null; x--) {
            over.dispatchEvent(new MouseEvent('mousemove', { clientX: x, clientY: y, bubbles: true }));
            if (!tipEl.hidden) right ??= x;
            else if (right !== null) left = x + 1;
          }
          over.dispatchEvent(new MouseEvent('mouseleave'));
          return right === null ? null : { x: (right + (left ?? right)) / 2, y };
        });
        if (!at) return 'no point of the CPU chart is over its gap';
        await zone.mouse.move(at.x, at.y);
        return (await cpu.locator('.gap-tip').isVisible()) ? await cpu.locator('.gap-tip').textContent() : 'no tip under the pointer';
      }, { timeout: 20_000 })
      .toMatch(/^Gap \d\d:\d\d:\d\d–\d\d:\d\d:\d\d: no trustworthy samples for \d+ s/);
    // the legend names the series in words, with the unit
    const legend = await cpu.locator('.u-legend .u-label').allTextContents();
    expect(legend).toContain('CPU user (CPUs)');
    await shot(zone, 'zone-gap');
    await zone.close();
  }, 90_000);

  it("the global zone of a Linux host charts the host's load, network and disk; its processes table fits 1440 px", async () => {
    const zone = await page(h.tokens.viewer, `#/node/${LINUX}/zone/global`);
    await expect
      .poll(() => zone.$$eval('figure.chart figcaption', (els) => els.map((e) => e.textContent)), { timeout: 20_000 })
      .toEqual(expect.arrayContaining(['Load average (host)', 'Network (host)', 'Disk (host)']));
    const load = await zone.locator('figure.chart', { hasText: 'Load average (host)' }).locator('.u-legend .u-label').allTextContents();
    expect(load).toContain('Load, 1 min');
    await shot(zone, 'zone-global-host');
    // the host's processes (long command lines: chromium, node) fit 1440 px, one line a row,
    // and each row says its program and arguments without hovering
    await zone.getByRole('button', { name: 'Show processes' }).click();
    await zone.waitForSelector('table.procs-table tbody tr');
    const fit = await zone.$eval('table.procs-table', (t) => ({
      table: t.getBoundingClientRect().width,
      box: t.parentElement!.clientWidth,
      page: document.documentElement.scrollWidth,
      heights: [...t.querySelectorAll('tbody tr')].map((r) => Math.round(r.getBoundingClientRect().height)),
      cmds: [...t.querySelectorAll('tbody td.cmd')].map((td) => td.textContent ?? ''),
    }));
    expect(fit.table).toBeLessThanOrEqual(fit.box + 1);
    expect(fit.page).toBeLessThanOrEqual(1440);
    expect(new Set(fit.heights).size).toBe(1);
    expect(fit.cmds.some((c) => /\S+ \S/.test(c))).toBe(true);
    await zone.locator('table.procs-table').scrollIntoViewIfNeeded();
    await shot(zone, 'zone-processes');
    await zone.close();
  }, 60_000);

  it('stopping a zone updates its header and controls without a reload, and offers no Run trace while stopped', async () => {
    const zone = await page(h.tokens.operator, `#/node/${SICK}/zone/${webUuid}`);
    zone.on('dialog', (d) => void d.accept());
    await zone.waitForSelector('button.launch');
    expect(await zone.textContent('h1')).toMatch(/running/);
    const clicked = Date.now();
    await zone.getByRole('button', { name: 'Stop' }).click();
    await expect.poll(() => zone.textContent('h1'), { timeout: 30_000 }).toMatch(/installed|stopped/);
    const tookMs = Date.now() - clicked;
    console.log(`VM stop: header said the zone stopped ${tookMs} ms after the click`);
    await expect.poll(() => zone.textContent('.vm-result'), { timeout: 10_000 }).toMatch(/the zone is (installed|stopped)/);
    expect(await zone.$('button.launch')).toBeNull();
    expect(await zone.textContent('.launcher')).toMatch(/not running: start it to trace it/);
    expect(await zone.getByRole('button', { name: 'Start' }).isVisible()).toBe(true);
    expect(await zone.getByRole('button', { name: 'Stop' }).isVisible()).toBe(false);
    await shot(zone, 'zone-stopped');
    await zone.getByRole('button', { name: 'Start' }).click();
    await expect.poll(() => zone.textContent('h1'), { timeout: 30_000 }).toMatch(/running/);
    await zone.waitForSelector('button.launch');
    await zone.close();
  }, 90_000);

  it('a node whose tracer is missing says why on the zone page instead of offering a trace', async () => {
    // the simulated SmartOS node's commands, all but dtrace
    const name = `cn-nodtrace-${process.pid}`;
    const { uuid } = await fakeNode(name, 'dtrace');
    const zone = await page(h.tokens.operator, `#/node/${name}/zone/${uuid}`);
    await expect.poll(() => zone.textContent('.launcher'), { timeout: 20_000 }).toMatch(/No curated script can run on this node: dtrace is not installed \(not found on PATH\)/);
    expect(await zone.$('button.launch')).toBeNull();
    await zone.close();
  }, 60_000);

  it('the zone page follows what the node can run: a tracer removed under a running agent takes Run trace away, without a reload', async () => {
    const name = `cn-tracer-gone-${process.pid}`;
    const { bin, uuid } = await fakeNode(name);
    const zone = await page(h.tokens.operator, `#/node/${name}/zone/${uuid}`);
    await zone.waitForSelector('button.launch', { timeout: 20_000 });
    unlinkSync(join(bin, 'dtrace'));
    // a trace start makes the agent look again: the trace fails naming what is missing, and the
    // agent tells the server, whose fleet message reaches the open page
    const r = await h.api('POST', '/api/traces', { node: name, zone: uuid, script: 'cpu-profile', durationS: 2 });
    expect(r.status, r.text).toBe(201);
    const t = await waitEnded(h, r.json.id);
    expect(t.status).toBe('failed');
    expect(t.error).toMatch(/dtrace is not installed/);
    await expect.poll(() => zone.textContent('.launcher'), { timeout: 20_000 }).toMatch(/No curated script can run on this node: dtrace is not installed/);
    expect(await zone.$('button.launch')).toBeNull();
    await zone.close();
  }, 60_000);

  it('logged no page or console errors', () => {
    expect(problems).toEqual([]);
  });
});
