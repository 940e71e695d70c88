// A real Prometheus (the Debian binary) on loopback, started with a temporary config and data
// dir, discovers the fleet through the server's /sd, scrapes it and answers PromQL over its
// HTTP API. Two servers: one open, with the always-on syscall-latency histogram on the test
// zone; one behind --metrics-token, whose second agent serves its own /metrics
// (--metrics-listen --control-only), which /sd hands out so Prometheus scrapes that node
// directly while the server carries only its control (the layout for large fleets).
// The test zone is a real cgroup holding a child that burns up to one CPU and makes a steady
// stream of cheap system calls; every agent samples this same host, so each node shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { freePort, spawnZonescope, stopAll, tempDir, until, type Proc } from '../helpers/cli.js';
import { TEST_ENV } from '../helpers/procs.js';
import { makeTestZone, type TestZone } from '../helpers/zone.js';

const PROMETHEUS = '/usr/bin/prometheus';
const hasBpftrace = ['/usr/bin/bpftrace', '/usr/sbin/bpftrace', '/usr/local/bin/bpftrace'].some(existsSync) && process.getuid?.() === 0;

// busy for ~1 ms, then one stat(2): ~1 CPU and ~1000 system calls a second
const BURNER = `const fs = require('fs'); for (;;) { const t = Date.now(); while (Date.now() - t < 1) {} fs.statSync('/'); }`;

/** CPU seconds (user + system) the kernel has charged to a process: fields 14 and 15 of its stat, in USER_HZ ticks */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

interface Target {
  health: string;
  scrapeUrl: string;
  lastError: string;
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
}
interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.skipIf(!existsSync(PROMETHEUS))('a real Prometheus scraping the fleet through /sd', () => {
  const pid = process.pid;
  const viaServer = `it-prom-srv-${pid}`;
  const authed = `it-prom-auth-${pid}`;
  const direct = `it-prom-direct-${pid}`;
  // a second node behind the open server, fed through the Fleet API (no second agent process
  // on two shared cores): two nodes scraped through one server address
  const synthetic = `it-prom-synth-${pid}`;
  const metricsToken = `it-metrics-${pid}-${Math.random().toString(36).slice(2)}`;
  let zone: TestZone | undefined;
  let burner: ResultPromise | undefined;
  let open: App | undefined;
  let closed: App | undefined;
  let prometheus: ResultPromise | undefined;
  let promLog = '';
  let openBase = '';
  let closedBase = '';
  let promBase = '';
  let directAddr = '';
  let authedAgent: Proc | undefined;
  // the burner's CPU as the kernel counts it, every 250 ms: what the zone's rate must match
  // (a loaded machine gives it anything from a fraction of a CPU to one)
  const burnt: [number, number][] = [];
  let recorder: NodeJS.Timeout | undefined;
  /** the burner's CPUs over [from, to] (ms), or undefined while fewer than 3 s are recorded */
  const burnerRate = (from: number, to: number): number | undefined => {
    const a = burnt.find(([t]) => t >= from);
    const b = burnt.findLast(([t]) => t <= to);
    return a && b && b[0] - a[0] >= 3000 ? (b[1] - a[1]) / ((b[0] - a[0]) / 1000) : undefined;
  };
  /** a PromQL rate over [5s] now agrees with the burner's (samples reach Prometheus about 1 s late) */
  const isBurnerRate = (s: Sample[]) => {
    const want = burnerRate(Date.now() - 6500, Date.now() - 1000);
    return s.length === 1 && want !== undefined && want > 0.05 && Math.abs(Number(s[0].value[1]) - want) <= 0.35 * want;
  };

  const query = async (promql: string): Promise<Sample[]> => {
    const r = await fetch(`${promBase}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await r.json()) as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result;
  };
  const targets = async (): Promise<Target[]> => {
    const body = (await (await fetch(`${promBase}/api/v1/targets?state=active`)).json()) as { data: { activeTargets: Target[] } };
    return body.data.activeTargets;
  };
  const targetOf = async (node: string) => (await targets()).find((t) => t.discoveredLabels.__meta_zonescope_node === node);
  /** wait for a PromQL result that satisfies ok(), with Prometheus's own log when it never comes */
  const eventually = async (promql: string, ok: (s: Sample[]) => boolean, timeoutMs = 40_000) => {
    try {
      return await until(promql, async () => {
        const r = await query(promql);
        return ok(r) && r;
      }, timeoutMs, 500);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast result: ${JSON.stringify(await query(promql).catch(String))}\ntargets: ${JSON.stringify(await targets().catch(String))}\nprometheus log:\n${promLog.slice(-2000)}`);
    }
  };

  beforeAll(async () => {
    zone = await makeTestZone(`zs-prom-${pid}`);
    burner = execa(process.execPath, ['-e', BURNER], { env: TEST_ENV, reject: false, buffer: false });
    await zone.addPid(burner.pid!);
    recorder = setInterval(() => burnt.push([Date.now(), cpuSeconds(burner!.pid!)]), 250);

    open = await buildApp({ dataDir: tempDir(), alwaysOn: hasBpftrace ? [{ script: 'syscall-latency', zones: [zone.name] }] : [] });
    await open.app.listen({ port: 0, host: '127.0.0.1' });
    openBase = `http://127.0.0.1:${(open.app.server.address() as { port: number }).port}`;
    const f = open.ctx.fleet;
    f.connect({ v: 1, type: 'hello', node: synthetic, hostname: synthetic, platform: 'illumos', simulated: true, tracer: { name: 'dtrace', available: false },
      capabilities: [], agentVersion: 'test', epoch: 1, intervalS: 1, dropped: 0 }, { epoch: 1, last: 0, received: 0, gaps: 0 });
    f.setZones(synthetic, [{ name: 'web', brand: 'joyent', state: 'running' }]);
    f.addSamples(synthetic, { v: 1, type: 'samples', seq: 1, time: Date.now(), points: [{ f: 'zone_pids', l: { zone: 'web' }, v: 42 }], errors: [] });

    closed = await buildApp({ dataDir: tempDir(), metricsToken });
    await closed.app.listen({ port: 0, host: '127.0.0.1' });
    closedBase = `http://127.0.0.1:${(closed.app.server.address() as { port: number }).port}`;

    const agentArgs = (app: App, base: string, node: string) =>
      ['agent', '--server', base, '--token', createToken(app.ctx.store, 'agent', node).token, '--node', node, '--interval', '1'];
    directAddr = `127.0.0.1:${await freePort()}`;
    spawnZonescope(agentArgs(open, openBase, viaServer));
    authedAgent = spawnZonescope(agentArgs(closed, closedBase, authed));
    spawnZonescope([...agentArgs(closed, closedBase, direct), '--metrics-listen', directAddr, '--metrics-token', metricsToken, '--control-only']);
    await until('two nodes sending samples with the test zone, a third its zones only', () =>
      [[open!, viaServer], [closed!, authed], [closed!, direct]].every(([app, node]) => {
        const n = (app as App).ctx.fleet.nodes.get(node as string);
        return n && (node === direct || n.seq.received >= 1) && n.zones.some((z) => z.name === zone!.name);
      }), 30_000);

    const dir = tempDir('zonescope-prom-');
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: zonescope
    http_sd_configs:
      - url: ${openBase}/sd
        refresh_interval: 1s
  - job_name: zonescope-token
    authorization:
      credentials: ${metricsToken}
    http_sd_configs:
      - url: ${closedBase}/sd
        refresh_interval: 1s
        # type spelled out: http_sd_configs send the bare credentials without it
        # (prometheus/prometheus#12762), which the server rightly refuses
        authorization:
          type: Bearer
          credentials: ${metricsToken}
`);
    const port = await freePort();
    promBase = `http://127.0.0.1:${port}`;
    prometheus = execa(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {
      env: TEST_ENV, reject: false, all: true, buffer: false, cwd: dir,
    });
    prometheus.all?.on('data', (d: Buffer) => void (promLog += d.toString()));
    await until('Prometheus ready', async () => (await fetch(`${promBase}/-/ready`)).ok, 30_000, 300).catch((e) => {
      throw new Error(`${(e as Error).message}\nprometheus log:\n${promLog.slice(-2000)}`);
    });
  }, 90_000);

  afterAll(async () => {
    clearInterval(recorder);
    if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
      prometheus.kill('SIGTERM');
      const t = setTimeout(() => prometheus?.kill('SIGKILL'), 5000);
      await prometheus;
      clearTimeout(t);
    }
    await stopAll();
    burner?.kill('SIGKILL');
    await burner?.catch(() => undefined);
    await zone?.destroy();
    await open?.close();
    await closed?.close();
  }, 30_000);

  it('discovers one target per node through /sd and finds them all up', async () => {
    const all = await until('all four targets up', async () => {
      const ts = await Promise.all([viaServer, authed, direct, synthetic].map(targetOf));
      return ts.every((t) => t?.health === 'up') && (ts as Target[]);
    }, 40_000, 500).catch(async (e) => {
      throw new Error(`${(e as Error).message}\ntargets: ${JSON.stringify(await targets())}\nprometheus log:\n${promLog.slice(-2000)}`);
    });
    const [srv, tok, , syn] = all;
    expect(srv.labels.job).toBe('zonescope');
    expect(srv.scrapeUrl).toBe(`${openBase}/metrics?node=${viaServer}`);
    expect(syn.scrapeUrl).toBe(`${openBase}/metrics?node=${synthetic}`);
    expect(tok.labels.job).toBe('zonescope-token');
    expect(tok.scrapeUrl).toBe(`${closedBase}/metrics?node=${authed}`);
    // each node is a target of its own, so `up` says something per node, even when two nodes
    // are scraped through the same server
    const up = await eventually('up{job=~"zonescope.*"}', (r) => r.length >= 4);
    expect(up.map((s) => `${s.metric.job} ${s.metric.instance}`).sort()).toEqual(
      [`zonescope ${synthetic}`, `zonescope ${viaServer}`, `zonescope-token ${authed}`, `zonescope-token ${directAddr}`].sort(),
    );
    const pids = await eventually(`zonescope_zone_pids{node="${synthetic}"}`, (r) => r.length === 1);
    expect(pids[0].value[1]).toBe('42');
    expect(pids[0].metric.instance).toBe(synthetic);
  });

  it('returns the test zone\'s CPU rate (the CPU its burner gets) through PromQL', async () => {
    const promql = `sum(rate(zonescope_zone_cpu_seconds_total{zone="${zone!.name}",node="${viaServer}"}[5s]))`;
    await eventually(promql, isBurnerRate);
    const modes = await query(`zonescope_zone_cpu_seconds_total{zone="${zone!.name}",node="${viaServer}"}`);
    expect(modes.map((s) => s.metric.mode).sort()).toEqual(['system', 'user']);
  });

  it('refuses /metrics and /sd without the metrics token, and Prometheus with it scrapes fine', async () => {
    for (const path of ['/metrics', '/sd', `/metrics?node=${authed}`]) {
      expect((await fetch(`${closedBase}${path}`)).status, path).toBe(401);
      expect((await fetch(`${closedBase}${path}`, { headers: { authorization: 'Bearer wrong' } })).status, path).toBe(401);
      expect((await fetch(`${closedBase}${path}`, { headers: { authorization: `Bearer ${metricsToken}` } })).status, path).toBe(200);
    }
    const r = await eventually(`zonescope_agent_up{node="${authed}",job="zonescope-token"}`, (s) => s.length === 1);
    expect(r[0].value[1]).toBe('1');
    await eventually(`rate(zonescope_zone_cpu_seconds_total{zone="${zone!.name}",node="${authed}",mode="user"}[5s])`, (s) => s.length === 1 && Number(s[0].value[1]) > 0);
  });

  it('scrapes a node with --metrics-listen directly at the address /sd lists', async () => {
    const sd = (await (await fetch(`${closedBase}/sd`, { headers: { authorization: `Bearer ${metricsToken}` } })).json()) as { targets: string[]; labels: Record<string, string> }[];
    const group = sd.find((g) => g.labels.__meta_zonescope_node === direct);
    expect(group).toMatchObject({ targets: [directAddr], labels: { __meta_zonescope_direct: 'true', __metrics_path__: '/metrics' } });
    // the agent's own listener wants the token too
    expect((await fetch(`http://${directAddr}/metrics`)).status).toBe(401);

    const t = await until('the direct target up', async () => {
      const x = await targetOf(direct);
      return x?.health === 'up' && x;
    }, 40_000, 500);
    expect(t.scrapeUrl).toBe(`http://${directAddr}/metrics`);
    await eventually(`sum(rate(zonescope_zone_cpu_seconds_total{zone="${zone!.name}",node="${direct}"}[5s]))`, isBurnerRate);
    const inst = await query(`zonescope_agent_up{node="${direct}"}`);
    expect(inst.map((s) => s.metric.instance)).toEqual([directAddr]);
    // --control-only: the server never received one of its samples, and says so in its hello
    const n = closed!.ctx.fleet.nodes.get(direct)!;
    expect(n.seq.received).toBe(0);
    expect(n.hello.capabilities).not.toContain('samples');
    expect(n.zones.some((z) => z.name === zone!.name)).toBe(true);
  });

  it('sees a node whose agent stopped keep only zonescope_agent_up 0, its zone series gone stale', async () => {
    await eventually(`zonescope_zone_cpu_seconds_total{node="${authed}",zone="${zone!.name}"}`, (s) => s.length === 2);
    await authedAgent!.stop();
    const up = await eventually(`zonescope_agent_up{node="${authed}"}`, (s) => s.length === 1 && s[0].value[1] === '0');
    expect(up[0].metric.instance).toBe(authed);
    // the target is still up (the server answers for it); what the node exposed is stale now
    await eventually(`count({node="${authed}",__name__=~"zonescope_.+"})`, (s) => s.length === 1 && s[0].value[1] === '1');
    expect(await query(`zonescope_zone_cpu_seconds_total{node="${authed}"}`)).toEqual([]);
    expect((await targetOf(authed))?.health).toBe('up');
  });

  // ALWAYS-ON HISTOGRAM: the server runs the curated syscall-latency script on the test zone
  // (buildApp alwaysOn) and exports zonescope_syscall_latency_seconds_bucket{node,zone,syscall,le}.
  // Needs bpftrace and root, as the tracer does.
  it.skipIf(!hasBpftrace)('computes histogram_quantile over the always-on syscall latency histogram', async () => {
    const promql = `histogram_quantile(0.9, sum by (le) (rate(zonescope_syscall_latency_seconds_bucket{zone="${zone!.name}",node="${viaServer}"}[10s])))`;
    const r = await eventually(promql, (s) => s.length === 1 && Number.isFinite(Number(s[0].value[1])) && Number(s[0].value[1]) > 0, 60_000);
    // a stat(2) of / is microseconds; a p90 of a second or more would mean broken bucket bounds
    expect(Number(r[0].value[1])).toBeLessThan(1);
    const les = await query(`count by (le) (zonescope_syscall_latency_seconds_bucket{zone="${zone!.name}",node="${viaServer}"})`);
    expect(les.map((s) => s.metric.le)).toContain('+Inf');
    const sum = await query(`sum(zonescope_syscall_latency_seconds_sum{zone="${zone!.name}",node="${viaServer}"})`);
    expect(Number(sum[0].value[1])).toBeGreaterThan(0);
    // the server's own traces: not in the people's list, audited once (configuration), not per restart
    const list = open.ctx.store.auditLog(1000);
    expect(list.filter((a) => a.action === 'trace.start')).toHaveLength(0);
    expect(list.filter((a) => a.action === 'always-on.configure')).toHaveLength(1);
    const res = await open.app.inject({ method: 'GET', url: '/api/traces', headers: { authorization: `Bearer ${createToken(open.ctx.store, 'viewer', 'ao-check').token}` } });
    expect(res.json()).toEqual([]);
  }, 90_000);
});
