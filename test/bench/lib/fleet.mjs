// What the fan-in benchmark and the soak share: a real server process on loopback, an agent
// token, a simulated fleet in this process (the compiled agent code), and readings of the
// server process from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '../../..');
const MAIN = join(ROOT, 'dist/cli/main.js');
const ENV = { ...process.env, ZONESCOPE_LOG: 'warn' };

export function requireBuild() {
  if (!existsSync(MAIN)) throw new Error('run `npm run build` first (dist/cli/main.js is missing)');
}

const freePort = () => new Promise((ok, fail) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
  s.on('error', fail);
});

/** A server process with its own data directory; `extra` are more server flags. */
export async function startServer(extra = []) {
  const data = mkdtempSync(join(tmpdir(), 'zonescope-bench-'));
  const port = await freePort();
  const proc = spawn(process.execPath, [MAIN, 'server', '--data', data, '--port', String(port), '--host', '127.0.0.1', ...extra], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  // the server goes with this process, also when it is interrupted
  const kill = () => proc.kill('SIGKILL');
  process.once('exit', kill);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (proc.exitCode !== null) throw new Error(`server exited: ${out}`);
    if ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok) break;
    if (i > 300) throw new Error(`server did not come up: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = execFileSync(process.execPath, [MAIN, 'token', 'create', '--role', 'agent', '--name', 'bench-fleet', '--data', data], { env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  return {
    url, pid: proc.pid, token, data,
    async stop() {
      process.off('exit', kill);
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r() : proc.once('exit', r)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** CPU seconds (user + system) of a process so far */
export function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

export function rssMiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
}

export async function startFleet(opts) {
  const { startFleet: start } = await import(pathToFileURL(join(ROOT, 'dist/agent/simulated/fleet-runner.js')).href);
  const quiet = { debug() {}, info() {}, warn() {}, error: (m) => console.error(m) };
  return start({ log: quiet, ...opts });
}

export const quantile = (xs, q) => {
  if (!xs.length) return NaN;
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
export const median = (xs) => quantile(xs, 0.5);

/** Bucket counts of a Prometheus histogram in exposition text: [[le, cumulative count], …] */
function buckets(text, name) {
  return [...text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm'))].map((m) => [Number(m[1]), Number(m[2])]);
}

/** The q-quantile of what a histogram counted between two scrapes, as its bucket's upper bound
 * (`< x` when it falls in the first bucket). */
export function histogramQuantile(before, after, name, q) {
  const b0 = new Map(buckets(before, name));
  const diff = buckets(after, name).map(([le, n]) => [le, n - (b0.get(le) ?? 0)]);
  const total = diff.at(-1)?.[1] ?? 0;
  if (!total) return 'n/a';
  const i = diff.findIndex(([, n]) => n >= q * total);
  const le = diff[i][0];
  return `${i === 0 ? '<' : '≤'} ${le === Infinity ? '∞' : `${+(le * 1000).toFixed(2)} ms`}`;
}

/** Whole-fleet exposition: how many agents are up */
export async function upCount(url) {
  return ((await (await fetch(`${url}/metrics`)).text()).match(/^zonescope_agent_up\{node="[^"]+"\} 1$/gm) ?? []).length;
}

export async function waitUntil(what, fn, timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
