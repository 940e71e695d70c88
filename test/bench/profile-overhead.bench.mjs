// Continuous profile overhead on the node, for real: a server (`--always-on cpu-profile@ZONE`)
// and an agent process on loopback, with a busy zone (two shell loops and a node process doing
// JSON work: many distinct stacks). Measures the agent's CPU (itself plus its bpftrace
// children, reaped or running) over the same stretch with and without the always-on profile;
// the difference is what the profile costs the node. Also: the stored bytes per minute of that
// busy zone, from the server's own database, × 1440 for a day.
// Needs root, bpftrace and cgroup v2 (on a hybrid host, /sys/fs/cgroup/unified).
// Run: `npm run bench -- profile-overhead` (after `npm run build`). ZONESCOPE_BENCH_SECONDS=N
// changes the stretch (default 150; the profile restarts every 120 s, which this includes).
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBuild, ROOT, startServer } from './lib/fleet.mjs';

const SECONDS = Number(process.env.ZONESCOPE_BENCH_SECONDS ?? 150);
const MAIN = join(ROOT, 'dist/cli/main.js');
const ENV = { ...process.env, ZONESCOPE_TEST: ROOT, ZONESCOPE_LOG: 'warn' };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function unifiedRoot() {
  if (existsSync('/sys/fs/cgroup/unified/cgroup.procs')) return '/sys/fs/cgroup/unified';
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  return undefined;
}

/** CPU seconds of a process and its children: its own, its reaped children's, its live ones' */
function treeCpu(pid) {
  const stat = (p) => readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
  const f = stat(pid);
  let s = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const g = stat(p);
      if (Number(g[1]) === pid) s += (Number(g[11]) + Number(g[12])) / 100;
    } catch {
      // gone
    }
  }
  return s;
}

async function stretch(zone, alwaysOn) {
  const server = await startServer(alwaysOn ? ['--always-on', `cpu-profile@${zone}`] : []);
  const agent = spawn(process.execPath, [MAIN, 'agent', '--server', server.url, '--node', 'bench-node', '--interval', '10'], { env: { ...ENV, ZONESCOPE_TOKEN: server.token }, stdio: 'ignore' });
  try {
    // settle: discovery, the first bpftrace start and symbol tables
    await sleep(20_000);
    const c0 = treeCpu(agent.pid);
    const s0 = treeCpu(server.pid);
    const t0 = Date.now();
    await sleep(SECONDS * 1000);
    const secs = (Date.now() - t0) / 1000;
    const agentCpu = (treeCpu(agent.pid) - c0) / secs;
    const serverCpu = (treeCpu(server.pid) - s0) / secs;
    let perMinute;
    if (alwaysOn) {
      // what the server stored for the zone: bucket blobs per minute, and the stacks interned
      try {
        const db = new Database(join(server.data, 'zonescope.db'), { readonly: true });
        const b = db.prepare('SELECT COUNT(*) AS n, SUM(length(counts)) AS blobs, SUM(samples) AS samples FROM profile_buckets').get();
        const s = db.prepare('SELECT COUNT(*) AS n, SUM(length(folded)) AS text FROM profile_stacks').get();
        db.close();
        perMinute = { buckets: b.n, blobPerMinute: b.blobs / b.n, samplesPerMinute: b.samples / b.n, stacks: s.n, stackBytes: s.text };
      } catch (e) {
        perMinute = { error: e.message };
      }
    }
    return { agentCpu, serverCpu, perMinute };
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode !== null ? r() : agent.once('exit', r)));
    await server.stop();
  }
}

export async function run() {
  requireBuild();
  const uni = unifiedRoot();
  if (process.getuid?.() !== 0 || !uni || !existsSync('/usr/bin/bpftrace')) {
    console.log('   skipped: needs root, bpftrace and a cgroup v2 hierarchy');
    return;
  }
  const zone = `bench-prof-${process.pid}`;
  const dir = join(uni, 'zonescope', zone);
  mkdirSync(dir, { recursive: true });
  const busy = [
    spawn('sh', ['-c', 'while :; do :; done'], { env: ENV, stdio: 'ignore' }),
    spawn('sh', ['-c', 'while :; do :; done'], { env: ENV, stdio: 'ignore' }),
    spawn(process.execPath, ['-e', 'const o={a:[1,2,3],b:"x".repeat(100)};for(;;){JSON.parse(JSON.stringify(o));[...Array(100).keys()].map(String).sort()}'], { env: ENV, stdio: 'ignore' }),
  ];
  try {
    for (const b of busy) writeFileSync(join(dir, 'cgroup.procs'), `${b.pid}\n`);
    const off = await stretch(zone, false);
    const on = await stretch(zone, true);
    const pct = (x) => `${(100 * x).toFixed(2)}%`;
    console.log(`   busy zone (2 shell loops + node), ${SECONDS} s each, agent at 10 s intervals:`);
    console.log(`   agent + tracer CPU without the profile: ${pct(off.agentCpu)} of one core; with --always-on cpu-profile (19 Hz): ${pct(on.agentCpu)}`);
    console.log(`   → the continuous profile costs the node ${pct(on.agentCpu - off.agentCpu)} of one core (${(on.agentCpu / Math.max(off.agentCpu, 1e-6)).toFixed(1)}× the agent alone)`);
    console.log(`   server CPU: ${pct(off.serverCpu)} without, ${pct(on.serverCpu)} with`);
    const m = on.perMinute;
    if (m?.buckets) {
      console.log(`   stored: ${m.buckets} minutes, ${Math.round(m.samplesPerMinute)} samples/min, ${Math.round(m.blobPerMinute)} B of counts per minute, ${m.stacks} stacks interned (${m.stackBytes} B)`);
      console.log(`   → per zone per day ≈ ${((m.blobPerMinute * 1440 + m.stackBytes) / 1024 / 1024).toFixed(2)} MiB (counts × 1440 + the stacks seen so far)`);
    } else console.log(`   stored: ${JSON.stringify(m)}`);
  } finally {
    for (const b of busy) b.kill('SIGKILL');
    await sleep(300);
    try {
      rmdirSync(dir);
      rmdirSync(join(uni, 'zonescope'));
    } catch {
      // another zone still there
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
