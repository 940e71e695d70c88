// Soak (`npm run soak`; not part of `npm test` or `npm run bench`): a simulated fleet (default
// 1,000 nodes at 10 s) against one server process for 30 minutes. After a warm-up (a third of
// the run, at least 10 minutes: the zone history fills its fleet-wide budget in about 8.5 minutes
// at 1,000 nodes, and growing into a budget is not a leak) the server's RSS must not grow by 5%
// or more, and no node may have a sample gap. Prints the RSS readings once a minute and exits 1 when a goal is missed.
// ZONESCOPE_SOAK_NODES, ZONESCOPE_SOAK_MINUTES change the run.
import { cpuSeconds, median, requireBuild, rssMiB, startFleet, startServer, upCount, waitUntil } from './lib/fleet.mjs';

const NODES = Number(process.env.ZONESCOPE_SOAK_NODES ?? 1000);
const MINUTES = Number(process.env.ZONESCOPE_SOAK_MINUTES ?? 30);

requireBuild();
const server = await startServer();
const fleet = await startFleet({ count: NODES, server: server.url, token: server.token, intervalS: 10 });
let failed = false;
try {
  await fleet.started;
  await waitUntil(`${NODES} nodes up`, async () => (await upCount(server.url)) === NODES, 120_000);
  console.log(`soak: ${NODES} simulated nodes up; running ${MINUTES} min`);
  const t0 = Date.now();
  const cpu0 = cpuSeconds(server.pid);
  const warmS = Math.max(600, MINUTES * 20);
  const readings = [];
  while (Date.now() - t0 < MINUTES * 60_000) {
    await new Promise((r) => setTimeout(r, 60_000));
    const at = (Date.now() - t0) / 1000;
    readings.push({ at, rss: rssMiB(server.pid) });
    console.log(`soak: ${(at / 60).toFixed(0)} min: server RSS ${readings.at(-1).rss.toFixed(0)} MiB, ${await upCount(server.url)}/${NODES} up`);
  }
  const cpu = (cpuSeconds(server.pid) - cpu0) / ((Date.now() - t0) / 1000);
  const after = readings.filter((r) => r.at >= warmS);
  const start = median(after.slice(0, 3).map((r) => r.rss));
  const end = median(after.slice(-3).map((r) => r.rss));
  const growth = (end - start) / start;
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const gaps = [...text.matchAll(/^zonescope_agent_sample_gaps_total\{node="[^"]+"\} (\d+)$/gm)].reduce((s, m) => s + Number(m[1]), 0);
  const up = await upCount(server.url);
  console.log(`soak: RSS after warm-up ${start.toFixed(0)} → ${end.toFixed(0)} MiB (${(growth * 100).toFixed(1)}%, goal < 5%); sample gaps ${gaps} (goal 0); ${up}/${NODES} up; server CPU ${(cpu * 100).toFixed(1)}% of one core`);
  failed = !(growth < 0.05) || gaps > 0 || up !== NODES;
} finally {
  await fleet.stop();
  await server.stop();
}
process.exit(failed ? 1 : 0);
