// A real server (buildApp on port 0) and a real agent process (node dist/cli/main.js agent)
// on loopback, with tokens from the server's store, for the trace tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { buildApp, type App, type AppOptions } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { TEST_ENV } from './procs.js';
import { ROOT, MAIN, until } from './cli.js';

export { ROOT };

export interface Harness {
  app: App;
  url: string;
  tokens: { operator: string; viewer: string; agent: string };
  api(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any; text: string }>;
  /** `wrap` runs the agent through a command (e.g. unshare) that ends by exec'ing its arguments */
  startAgent(node: string, extra?: { args?: string[]; env?: Record<string, string>; wrap?: string[] }): Promise<ChildProcess>;
  waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms?: number): Promise<T>;
  close(): Promise<void>;
}

/** `opts`: more server options (always-on scripts, profile buckets) */
export async function startHarness(opts: Partial<AppOptions> = {}): Promise<Harness> {
  const dataDir = mkdtempSync(join(tmpdir(), 'zs-trace-'));
  const app = await buildApp({ ...opts, dataDir });
  await app.app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.app.server.address() as AddressInfo).port}`;
  const tokens = {
    operator: createToken(app.ctx.store, 'operator', 'op').token,
    viewer: createToken(app.ctx.store, 'viewer', 'view').token,
    agent: createToken(app.ctx.store, 'agent', 'agent').token,
  };
  const agents: ChildProcess[] = [];
  const waitFor: Harness['waitFor'] = (what, fn, ms = 30_000) => until(what, fn, ms);
  return {
    app,
    url,
    tokens,
    waitFor,
    async api(method, path, body, token = tokens.operator) {
      const res = await fetch(url + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
    async startAgent(node, extra = {}) {
      const cmd = [process.execPath, MAIN, 'agent', '--server', url, '--token', tokens.agent, '--node', node, '--interval', '1', ...(extra.args ?? [])];
      const [bin, ...args] = [...(extra.wrap ?? []), ...cmd];
      const c = spawn(bin, args, {
        env: { ...process.env, ...TEST_ENV, ZONESCOPE_LOG: 'warn', ...extra.env },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      agents.push(c);
      await waitFor(`agent ${node} to connect`, () => app.ctx.fleet.nodes.get(node)?.up && app.ctx.fleet.nodes.get(node)!.zones.length > 0);
      return c;
    },
    async close() {
      for (const a of agents) if (a.exitCode === null && a.signalCode === null) a.kill('SIGTERM');
      await Promise.all(agents.map((a) => (a.exitCode === null && a.signalCode === null ? new Promise((r) => a.once('exit', r)) : null)));
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls a trace until it has ended; returns GET /api/traces/:id. */
export async function waitEnded(h: Harness, id: string, ms = 60_000): Promise<any> {
  return h.waitFor(`trace ${id} to end`, async () => {
    const r = await h.api('GET', `/api/traces/${id}`);
    return ['done', 'partial', 'stopped', 'failed'].includes(r.json?.status) ? r.json : undefined;
  }, ms);
}

/** pids of processes whose parent is `ppid` and whose command is `comm` */
export function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(rest[1]) === ppid && name === comm && rest[0] !== 'Z') out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}
