// The flame graph and heatmap components in a real Chromium, on the built bench page (no
// server needed): what a user sees and does — hidden-frame count, search with % matched, click
// to zoom and Esc to reset, tooltip, icicle, live updates keeping zoom and search, differential
// colours, exports, the heatmap tooltip and drag-to-range.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { execa } from 'execa';
import type { Browser, Page } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test/artifacts');
const CHROMIUM = '/usr/bin/chromium';
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const FOLDED = [
  'main;parse;lex 30',
  'main;parse;tokenize 10',
  'main;render;draw_rect 40',
  'main;render;do_syscall_64_[k];vfs_write_[k] 15',
  'idle 5',
].join('\n');

describe.skipIf(!existsSync(CHROMIUM))('flame graph and heatmap components in Chromium', () => {
  let srv: Server;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zs-components-'));
    await execa('npx', ['vite', 'build', 'web', '--logLevel', 'warn', '--outDir', dir, '--emptyOutDir'], { cwd: ROOT });
    srv = createServer((req, res) => {
      const p = new URL(req.url ?? '/', 'http://x').pathname;
      const f = join(dir, p);
      if (!f.startsWith(dir) || !existsSync(f)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[extname(f)] ?? 'application/octet-stream' }).end(readFileSync(f));
    });
    await new Promise<void>((ok) => srv.listen(0, '127.0.0.1', ok));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`http://127.0.0.1:${(srv.address() as { port: number }).port}/bench.html`);
    await page.waitForFunction(() => document.title === 'bench ready');
    mkdirSync(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((ok) => srv?.close(ok));
  });

  const mount = (folded: string, baseline?: string) =>
    page.evaluate(
      ([f, b]) => {
        const w = window as unknown as { __zs: any; __fg?: any };
        w.__fg?.destroy();
        const host = document.getElementById('fg')!;
        host.replaceChildren();
        w.__fg = new w.__zs.FlameGraph(host, { maxHeight: 400, title: 'test' });
        w.__fg.setData(f, b ?? undefined);
      },
      [folded, baseline ?? null] as const,
    );
  const text = (sel: string) => page.textContent(sel).then((t) => t ?? '');
  const crumbs = () => page.$$eval('.fg-crumb', (els) => els.map((e) => e.textContent));
  /** centre of the frame at depth d whose x range (in samples) starts at sx, root at the bottom */
  const framePoint = async (d: number, sx: number, wSamples: number, total: number) => {
    const bb = (await (await page.$('.fg-canvas'))!.boundingBox())!;
    return { x: bb.x + ((sx + wSamples / 2) / total) * bb.width, y: bb.y + bb.height - d * 18 - 9 };
  };

  it('draws a profile, says how many frames are too narrow, and searches with % matched', async () => {
    await mount(FOLDED);
    expect(await text('.fg-status')).toMatch(/^100 samples · 9 frames/);
    await page.fill('.fg-search', 'LEX|tokeni');
    // lex 30 + tokenize 10 of 100 samples
    await expect.poll(() => text('.fg-match')).toBe('40.00% matched · 2 frames');
    await page.fill('.fg-search', '(');
    await expect.poll(() => text('.fg-match')).toMatch(/invalid regular expression/);
    await page.fill('.fg-search', '');
    // 1 sample among a million: too narrow at 1280 px
    await mount(FOLDED + '\nmain;tiny 0.0001');
    expect(await text('.fg-status')).toMatch(/1 frame too narrow to draw/);
  });

  it('zooms on click, shows the path as breadcrumbs, resets with Esc, and shows a tooltip', async () => {
    await mount(FOLDED);
    // depth 2 "render" spans samples 40..95 of 100 (siblings in name order: parse, render)
    const p = await framePoint(2, 40, 55, 100);
    await page.mouse.move(p.x, p.y);
    await expect.poll(() => text('.fg-tip')).toContain('render');
    expect(await text('.fg-tip')).toMatch(/of total\s*55\.00%/);
    expect(await text('.fg-tip')).toMatch(/of parent\s*57\.89%/); // 55 of main's 95
    await page.mouse.click(p.x, p.y);
    expect(await crumbs()).toEqual(['all', 'main', 'render']);
    await page.screenshot({ path: join(ARTIFACTS, 'component-flame-zoom.png') });
    await page.keyboard.press('Escape');
    expect(await crumbs()).toEqual(['all']);
    // "/" focuses the search box
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.className)).toBe('fg-search');
  });

  it('keeps zoom and search when live data replaces the profile', async () => {
    await mount(FOLDED);
    await page.fill('.fg-search', 'lex');
    const p = await framePoint(2, 0, 40, 100); // parse
    await page.mouse.click(p.x, p.y);
    expect(await crumbs()).toEqual(['all', 'main', 'parse']);
    await page.evaluate(() => (window as any).__fg.setData('main;parse;lex 90\nmain;parse;tokenize 10\nother 100'));
    expect(await crumbs()).toEqual(['all', 'main', 'parse']);
    expect(await page.inputValue('.fg-search')).toBe('lex');
    expect(await text('.fg-match')).toMatch(/^45\.00% matched \(90\.00% of zoom\)/);
    await page.fill('.fg-search', '');
  });

  it('colours kernel frames apart from user frames, and grew/shrank in a differential view', async () => {
    await mount(FOLDED);
    const pixel = async (d: number, sx: number, w: number, total: number) => {
      const p = await framePoint(d, sx, w, total);
      const bb = (await (await page.$('.fg-canvas'))!.boundingBox())!;
      return page.evaluate(
        ([x, y]) => {
          const c = document.querySelector('.fg-canvas') as HTMLCanvasElement;
          const r = c.width / c.getBoundingClientRect().width;
          return Array.from(c.getContext('2d')!.getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data.slice(0, 3));
        },
        [p.x - bb.x - 10, p.y - bb.y] as const,
      );
    };
    // siblings in name order: under render, do_syscall_64_[k] (40..55) then draw_rect (55..95)
    // user frame draw_rect (warm: red > blue), kernel frame do_syscall_64_[k] (cool: blue > red)
    const user = await pixel(3, 55, 40, 100);
    const kernel = await pixel(3, 40, 15, 100);
    expect(user[0]).toBeGreaterThan(user[2]);
    expect(kernel[2]).toBeGreaterThan(kernel[0]);
    // baseline: lex had 60 of 100, now 30 of 100 → shrank (blue); draw_rect 10 → 40 grew (red)
    await mount(FOLDED, 'main;parse;lex 60\nmain;render;draw_rect 10\nmain;parse;tokenize 10\nmain;render;do_syscall_64_[k];vfs_write_[k] 15\nidle 5');
    const lex = await pixel(3, 0, 30, 100);
    const draw = await pixel(3, 55, 40, 100);
    expect(lex[2]).toBeGreaterThan(lex[0]);
    expect(draw[0]).toBeGreaterThan(draw[2]);
    expect(await text('.fg-status')).toMatch(/differential/);
    await page.screenshot({ path: join(ARTIFACTS, 'component-flame-diff.png') });
  });

  it('exports folded text that round-trips and speedscope JSON', async () => {
    await mount(FOLDED);
    const folded = await page.evaluate(() => (window as any).__fg.toFolded() as string);
    expect(folded.trim().split('\n').sort()).toEqual(FOLDED.split('\n').sort());
    const ss = JSON.parse(await page.evaluate(() => (window as any).__fg.toSpeedscope() as string));
    expect(ss.profiles[0].type).toBe('sampled');
    expect(ss.profiles[0].weights.reduce((a: number, b: number) => a + b, 0)).toBe(100);
    const names = ss.shared.frames.map((f: { name: string }) => f.name);
    const lexStack = ss.profiles[0].samples[ss.profiles[0].weights.indexOf(30)].map((i: number) => names[i]);
    expect(lexStack).toEqual(['main', 'parse', 'lex']);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('.fg-export-folded')]);
    expect(dl.suggestedFilename()).toBe('test.folded');
  });

  it('exports carry the unit: speedscope nanoseconds and bytes, pprof with its sample type, gzipped', async () => {
    const exportAs = (unit: string) =>
      page.evaluate(async (u) => {
        const w = window as unknown as { __zs: any; __fg?: any };
        w.__fg?.destroy();
        const host = document.getElementById('fg')!;
        host.replaceChildren();
        w.__fg = new w.__zs.FlameGraph(host, { maxHeight: 400, title: 'units', unit: u });
        w.__fg.setData('main;read 3000\nmain;wait 1000');
        const ss = JSON.parse(w.__fg.toSpeedscope()).profiles[0].unit;
        const pb = new Uint8Array(await (await w.__fg.toPprof()).arrayBuffer());
        return { ss, pb: Array.from(pb) };
      }, unit);
    const { Profile } = await import('pprof-format');
    const { gunzipSync } = await import('node:zlib');
    for (const [unit, ss, type] of [['nanoseconds', 'nanoseconds', 'time/nanoseconds'], ['bytes', 'bytes', 'space/bytes'], ['samples', 'none', 'samples/count']]) {
      const got = await exportAs(unit);
      expect(got.ss, unit).toBe(ss);
      const p = Profile.decode(gunzipSync(Buffer.from(got.pb)));
      const str = (i: number | bigint) => p.stringTable.strings[Number(i)];
      expect(p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`)).toEqual([type]);
      expect(p.sample.reduce((a, x) => a + Number(x.value[0]), 0)).toBe(4000);
    }
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('.fg-export-pprof')]);
    expect(dl.suggestedFilename()).toBe('units.pb.gz');
  });

  it('inverts to an icicle: the root row moves to the top', async () => {
    await mount(FOLDED);
    await page.check('.fg-invert input');
    const bb = (await (await page.$('.fg-canvas'))!.boundingBox())!;
    await page.mouse.move(bb.x + bb.width / 2, bb.y + 9);
    await expect.poll(() => text('.fg-tip-name')).toBe('all');
    await page.uncheck('.fg-invert input');
  });

  it('latency heatmap: hover shows bucket range, count and column percentiles; subsecond drag reports a time range', async () => {
    const t0 = 1_700_000_000_000;
    const result = await page.evaluate((t0) => {
      const w = window as any;
      const host = document.getElementById('fg')!;
      w.__fg?.destroy();
      w.__fg = undefined;
      host.replaceChildren();
      const ivs = [0, 1, 2, 3].map((i) => ({
        interval: i,
        time: t0 + (i + 1) * 1000,
        records: [{ kind: 'hist', agg: 'lat', keys: [], buckets: [{ lo: 1000, hi: 2000, count: 10 }, { lo: 2000, hi: 4000, count: 80 }, { lo: 4000, hi: 8000, count: 10 }] }],
      }));
      const box = document.createElement('div');
      box.id = 'lat';
      host.append(box);
      w.__hm = new w.__zs.Heatmap(box, w.__zs.latencyHeatmap(ivs), { height: 260, width: 800, log: true, percentiles: true, countLabel: 'events' });
      // 50 samples of one stack in one 20 ms slice a second, 200 ms later each second
      const sub = ivs.map((iv: any, i: number) => ({ ...iv, records: [{ kind: 'stack', agg: 'samples', keys: [], stack: ['f'], kernel: 0, value: 50, slices: [[t0 + i * 1000 + i * 200 + 100, 50]] }] }));
      const box2 = document.createElement('div');
      box2.id = 'sub';
      host.append(box2);
      w.__ranges = [];
      w.__sub = new w.__zs.Heatmap(box2, w.__zs.subsecondHeatmap(sub), {
        height: 240,
        width: 800,
        cellTime: (s: number, v: number) => s * 1000 + v,
        onRange: (r: [number, number]) => w.__ranges.push(r),
      });
      return true;
    }, t0);
    expect(result).toBe(true);
    const over = (await page.$('#lat .u-over'))!;
    const ob = (await over.boundingBox())!;
    // the middle of the plot: the second column, the 2000–4000 bucket (log scale 1000..8000)
    await page.mouse.move(ob.x + ob.width * 0.375, ob.y + ob.height * 0.5);
    await expect.poll(() => text('#lat .hm-tip')).toContain('2k – 4k');
    const tip = await text('#lat .hm-tip');
    expect(tip).toContain('80 events');
    expect(tip).toContain('p50 ≤4k');
    expect(tip).toContain('p99 ≤8k');
    await page.screenshot({ path: join(ARTIFACTS, 'component-heatmaps.png') });
    const sub = (await (await page.$('#sub .u-over'))!.boundingBox())!;
    await page.mouse.move(sub.x + sub.width * 0.1, sub.y + sub.height - 5);
    await page.mouse.down();
    await page.mouse.move(sub.x + sub.width * 0.6, sub.y + 5, { steps: 5 });
    await page.mouse.up();
    const ranges = await page.evaluate(() => (window as any).__ranges as [number, number][]);
    expect(ranges).toHaveLength(1);
    const [from, to] = ranges[0];
    expect(from).toBeGreaterThanOrEqual(t0);
    expect(to).toBeGreaterThan(from + 1000);
    expect(to).toBeLessThanOrEqual(t0 + 4000);
  });

  it('a flame graph of nanoseconds (off-CPU) says ms and µs, not "samples"', async () => {
    await page.evaluate(() => {
      const w = window as any;
      w.__fg?.destroy();
      const host = document.getElementById('fg')!;
      host.replaceChildren();
      w.__fg = new w.__zs.FlameGraph(host, { maxHeight: 400, unit: 'nanoseconds', fmtValue: w.__zs.unitFormatter('nanoseconds') });
      w.__fg.setData('main;read 1500000\nmain;poll 500000');
    });
    expect(await text('.fg-status')).toMatch(/^2 ms · 3 frames/);
    const bb = (await (await page.$('.fg-canvas'))!.boundingBox())!;
    await page.mouse.move(bb.x + 5, bb.y + bb.height - 9);
    await expect.poll(() => text('.fg-tip')).toContain('2 ms');
    expect(await text('.fg-tip')).not.toContain('samples');
    await page.mouse.move(0, 0);
  });

  it('latency heatmap in nanoseconds: axis and tooltip in µs, whole-second time ticks, no selection dot', async () => {
    const t0 = 1_700_000_000_000;
    await page.evaluate((t0) => {
      const w = window as any;
      w.__fg?.destroy();
      w.__fg = undefined;
      const host = document.getElementById('fg')!;
      host.replaceChildren();
      const ivs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => ({
        interval: i,
        time: t0 + (i + 1) * 1000,
        records: [{ kind: 'hist', agg: 'lat', keys: [], buckets: [{ lo: null, hi: 1000, count: 5 }, { lo: 2000, hi: 4000, count: 80 }] }],
      }));
      const box = document.createElement('div');
      box.id = 'latns';
      host.append(box);
      w.__latns = new w.__zs.Heatmap(box, w.__zs.latencyHeatmap(ivs, w.__zs.fmtNs), { height: 260, width: 800, log: true, percentiles: true, countLabel: 'events', fmtValue: w.__zs.fmtNs, onRange: () => undefined });
    }, t0);
    // axis labels are painted on the canvas: read what uPlot painted (its per-axis _values)
    const axes = await page.evaluate(() => (window as any).__latns.plot.axes.map((a: any) => (a._values ?? []).join(' ')) as string[]);
    // y axis: durations with their unit; x axis: a 10 s trace is labelled in seconds, not ":51.100"
    expect(axes.some((a) => /\d (µs|ns)/.test(a))).toBe(true);
    expect(axes.join(' ')).not.toMatch(/:\d\d\.\d/);
    const over = (await (await page.$('#latns .u-over'))!.boundingBox())!;
    await page.mouse.move(over.x + over.width * 0.45, over.y + over.height * 0.3);
    await expect.poll(() => text('#latns .hm-tip')).toContain('2 µs – 4 µs');
    expect(await text('#latns .hm-tip')).toContain('p50 ≤4 µs');
    // the empty selection leaves no mark at the plot's corner
    const sel = await page.$eval('#latns .u-select', (e) => getComputedStyle(e).borderTopWidth);
    expect(sel).toBe('0px');
    await page.screenshot({ path: join(ARTIFACTS, 'component-latency-units.png') });
    await page.mouse.move(0, 0);
  });

  it('zone charts: byte axes on binary steps, paged-out bytes on their own bytes/s axis, legend time with seconds', async () => {
    const legendTime = await page.evaluate(() => {
      const w = window as any;
      const host = document.getElementById('fg')!;
      host.replaceChildren();
      const now = Date.now();
      const times = [0, 1, 2, 3, 4, 5].map((i) => now - (5 - i) * 10_000);
      const hist = {
        times,
        series: {
          zone_memory_rss_bytes: times.map(() => 1.1 * 2 ** 30),
          zone_memory_limit_bytes: times.map(() => 2 * 2 ** 30),
          zone_memory_over_limit_total: times.map((_, i) => i),
          zone_memory_pagedout_bytes_total: times.map((_, i) => i * 40960),
        },
      };
      const box = document.createElement('div');
      box.id = 'charts';
      host.append(box);
      w.__plots = w.__zs.drawCharts(box, hist, 800, 900);
      const u = w.__plots[0];
      u.setCursor({ left: u.valToPos(times[3] / 1000, 'x'), top: 10 });
      return box.querySelector('.u-legend .u-series:first-child .u-value')?.textContent ?? '';
    });
    const figs = await page.evaluate(() =>
      (window as any).__plots.map((u: any) => ({ cap: u.root.parentElement.querySelector('figcaption').textContent, axes: u.axes.map((a: any) => (a._values ?? []).join(' ')) as string[] })),
    );
    const mem = figs.find((f) => f.cap === 'Memory vs limit')!;
    // 2 GiB reads "2.0 GiB", not the decimal-step "1.9 GiB"
    expect(mem.axes.join(' ')).toMatch(/2\.0 GiB/);
    expect(mem.axes.join(' ')).not.toMatch(/1\.9 GiB/);
    const ev = figs.find((f) => f.cap === 'Over limit / paged out')!;
    expect(ev.axes.length).toBe(3); // time, events/s, bytes/s
    expect(ev.axes.join(' ')).toMatch(/B\/s/);
    expect(legendTime).toMatch(/:\d\d:\d\d/);
    await page.screenshot({ path: join(ARTIFACTS, 'component-zone-charts.png') });
    await page.evaluate(() => (window as any).__plots.forEach((p: any) => p.destroy()));
  });

  it('logged no page or console errors', () => {
    expect(errors).toEqual([]);
  });
});
