// `zonescope simulate --nodes 200` against a real server for a minute: every node connects
// and keeps sending, nothing is lost, and the whole simulated fleet stays under one core.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnZonescope, stopAll, tempDir, until, zonescope } from '../helpers/cli.js';

const data = tempDir('zonescope-simulate-');
afterAll(async () => {
  await stopAll();
  rmSync(data, { recursive: true, force: true });
});

/** CPU seconds a process has used (user + system) */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const NODES = 200;

describe('zonescope simulate', () => {
  it(`runs ${NODES} simulated nodes for a minute under one core, every node up, no gaps`, async () => {
    const port = await freePort();
    const server = spawnZonescope(['server', '--data', data, '--port', String(port), '--host', '127.0.0.1']);
    await server.waitFor(/zonescope is up/);
    const created = await zonescope(['token', 'create', '--role', 'agent', '--name', 'simulated-fleet', '--data', data]);
    expect(created.exitCode, created.stderr).toBe(0);
    const tokenFile = join(data, 'sim.token');
    writeFileSync(tokenFile, created.stdout.trim(), { mode: 0o600 });
    const base = `http://127.0.0.1:${port}`;
    const sim = spawnZonescope(['simulate', '--nodes', String(NODES), '--interval', '10', '--server', base, '--token-file', tokenFile]);
    const upCount = async () => ((await (await fetch(`${base}/metrics`)).text()).match(/^zonescope_agent_up\{node="sim-\d+"\} 1$/gm) ?? []).length;
    await until(`${NODES} nodes up`, async () => (await upCount()) === NODES, 60_000, 1000);

    const cpu0 = cpuSeconds(sim.pid);
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 60_000));
    const cores = (cpuSeconds(sim.pid) - cpu0) / ((Date.now() - t0) / 1000);
    const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${sim.pid}/status`, 'utf8'))?.[1]) / 1024;
    console.log(`zonescope simulate --nodes ${NODES} --interval 10: ${(cores * 100).toFixed(1)}% of one core over 60 s, RSS ${rss.toFixed(0)} MiB`);

    const text = await (await fetch(`${base}/metrics`)).text();
    expect(await upCount()).toBe(NODES);
    const zonesPerNode = (text.match(/^zonescope_zone_info\{node="sim-0001",/gm) ?? []).length;
    expect(zonesPerNode).toBe(5); // the global zone and four zones, as described
    const gaps = [...text.matchAll(/^zonescope_agent_sample_gaps_total\{node="sim-\d+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    expect(gaps).toHaveLength(NODES);
    expect(gaps.filter((g) => g > 0)).toEqual([]);
    // the samplers ran for real: every node has its zones' memory
    expect((text.match(/^zonescope_zone_memory_rss_bytes\{node="sim-\d+",zone="global"/gm) ?? []).length).toBe(NODES);
    expect(cores).toBeLessThan(1);
    await sim.stop();
    await server.stop();
  }, 180_000);
});
