// The agent-frame fuzzer: a real `zonescope server` process (always-on tracing, so trace
// frames are read without an operator) and a few raw agent connections sending generated frames
// (test/helpers/fuzz-frames.ts). A connection the server closes is replaced by a new one. What
// it reports: frames sent, the server's close codes, its rejections by reason, its RSS before
// and after, whether it stayed up, and promtool's verdict on /metrics.
import fc from 'fast-check';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { freePort, spawnZonescope, tempDir, zonescope } from './cli.js';
import { frame, frameText, hello } from './fuzz-frames.js';

export interface FuzzReport {
  frames: number;
  /** frames the server took (zonescope_agent_frames_received_total, all types) */
  accepted: number;
  connections: number;
  /** close codes the server sent, by code */
  closes: Record<string, number>;
  /** connections the server closed for a rejection (1007, 1008, 1009, 1011) */
  rejectedConnections: number;
  /** zonescope_agent_frames_rejected_total by reason */
  rejected: Record<string, number>;
  rejectedTotal: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  crashes: number;
  promtool: { ok: boolean; output: string };
  seconds: number;
  seed: number;
}

const REJECT_CODES = new Set([1007, 1008, 1009, 1011]);

const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

export async function fuzzServer(opts: { frames: number; seed?: number; parallel?: number; framesPerConnection?: number }): Promise<FuzzReport> {
  const seed = opts.seed ?? Date.now() % 2 ** 31;
  const parallel = opts.parallel ?? 4;
  const perConnection = opts.framesPerConnection ?? 40;
  const data = tempDir('zs-fuzz-');
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) tokens.push(String((await zonescope(['token', 'create', '--role', 'agent', '--name', `fuzz-${i}`, '--data', data])).stdout).trim());
  const port = await freePort();
  const server = spawnZonescope(['server', '--port', String(port), '--host', '127.0.0.1', '--data', data, '--always-on', 'syscall-latency', '--max-nodes-per-token', '20'], { ZONESCOPE_LOG: 'warn' });
  await server.waitFor(/zonescope is up/);
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  const rssBeforeKiB = rss(server.pid);

  const report: FuzzReport = { frames: 0, accepted: 0, connections: 0, closes: {}, rejectedConnections: 0, rejected: {}, rejectedTotal: 0, rssBeforeKiB, rssAfterKiB: 0, crashes: 0, promtool: { ok: false, output: '' }, seconds: 0, seed };
  const traceIds: string[] = [];
  const down = () => server.proc.exitCode !== null || server.proc.signalCode !== null;

  // frames come in batches of a fixed seed each, so a run is repeatable from its seed
  let batch = 0;
  let queue: unknown[] = [];
  const next = (): unknown => {
    if (!queue.length) queue = fc.sample(frame, { numRuns: 500, seed: seed + batch++ });
    return queue.pop();
  };
  let hellos: unknown[] = [];
  const nextHello = (): unknown => {
    if (!hellos.length) hellos = fc.sample(hello, { numRuns: 200, seed: seed + 1_000_000 + batch++ });
    return hellos.pop();
  };

  const session = async (worker: number): Promise<void> => {
    const t = (worker + report.connections) % tokens.length;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { authorization: `Bearer ${tokens[t]}` } });
    report.connections++;
    const end = new Promise<void>((res) => {
      ws.on('close', (code) => {
        report.closes[code] = (report.closes[code] ?? 0) + 1;
        if (REJECT_CODES.has(code)) report.rejectedConnections++;
        res();
      });
      ws.on('error', () => res());
    });
    ws.on('message', (d) => {
      try {
        const m = JSON.parse(String(d));
        if (m.type === 'trace-start') traceIds.push(m.id), traceIds.length > 50 && traceIds.shift();
      } catch {
        // the server only sends JSON
      }
    });
    await new Promise<void>((res) => {
      ws.once('open', () => res());
      ws.once('error', () => res());
    });
    const send = (text: string) => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(text);
      report.frames++;
      return true;
    };
    // mostly a proper start, as one of the token's own nodes; sometimes another token's node,
    // sometimes a frame before any hello
    const first = report.connections % 10 ? (nextHello() as { node?: unknown }) : next();
    if (first && typeof first === 'object' && 'node' in first && typeof first.node === 'string' && /^fz-\d+$/.test(first.node) && report.connections % 7) first.node = `t${t}-${first.node}`;
    send(frameText(first, traceIds));
    // each frame is judged before the next goes: a ping is answered after it, or the close comes
    const judged = () =>
      new Promise<void>((res) => {
        if (ws.readyState !== WebSocket.OPEN) return res();
        const done = () => (ws.off('pong', done), ws.off('close', done), res());
        ws.on('pong', done);
        ws.on('close', done);
        ws.ping();
      });
    await judged();
    for (let i = 0; i < perConnection && report.frames < opts.frames; i++) {
      if (!send(frameText(next(), traceIds))) break;
      await judged();
    }
    if (ws.readyState === WebSocket.OPEN) {
      // everything sent has been judged once the server answers a ping; then hang up without a
      // close handshake, so no close of ours races a rejection of the server's
      const pong = new Promise<void>((res) => ws.once('pong', () => res()));
      ws.ping();
      await Promise.race([pong, end]);
      ws.terminate();
    }
    await end;
  };

  await Promise.all(
    Array.from({ length: parallel }, async (_, w) => {
      while (report.frames < opts.frames && !down()) await session(w);
    }),
  );

  if (down()) report.crashes = 1;
  else {
    const health = await fetch(`${base}/healthz`).catch(() => undefined);
    if (!health?.ok) report.crashes = 1;
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const m of text.matchAll(/^zonescope_agent_frames_rejected_total\{reason="([^"]+)"\} (\d+)$/gm)) report.rejected[m[1]] = Number(m[2]);
    report.rejectedTotal = Object.values(report.rejected).reduce((a, b) => a + b, 0);
    for (const m of text.matchAll(/^zonescope_agent_frames_received_total\{type="[^"]+"\} (\d+)$/gm)) report.accepted += Number(m[1]);
    const lint = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
    const out = `${lint.stdout}${lint.stderr}`;
    // promtool also lints naming conventions; a parse error is what breaks a scrape
    report.promtool = { ok: !/error while linting|parse error|invalid/i.test(out), output: out.slice(0, 2000) };
    report.rssAfterKiB = rss(server.pid);
  }
  report.seconds = (Date.now() - started) / 1000;
  await server.stop();
  return report;
}
