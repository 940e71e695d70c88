// The data path end to end with real processes: a server and an agent on loopback, the
// server restarted under the agent, the agent killed and restarted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { freePort, spawnZonescope, startServerProc, stopAll, tempDir, until, zonescope, type Proc } from '../helpers/cli.js';

interface NodeDetail {
  up: boolean;
  seq: { epoch: number; last: number; received: number; gaps: number };
  history: { seqs: number[] };
}

describe('server and agent on loopback', () => {
  const data = tempDir();
  const tokenFile = join(tempDir(), 'agent.token');
  const node = `it-node-${process.pid}`;
  let port: number;
  let base: string;
  let agentToken: string;
  let admin: string;
  let server: Proc;
  let agent: Proc;

  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${admin}` } });
    if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
    return (await r.json()) as T;
  };
  const startServer = async () => {
    server = await startServerProc(['--port', String(port), '--host', '127.0.0.1', '--data', data]);
  };
  const startAgent = () => {
    // the token from a file, as the README says: never on the command line
    agent = spawnZonescope(['agent', '--server', base, '--token-file', tokenFile, '--node', node, '--interval', '1']);
  };

  beforeAll(async () => {
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const a = await zonescope(['token', 'create', '--role', 'agent', '--name', 'it-agent', '--data', data]);
    expect(a.exitCode, String(a.stderr)).toBe(0);
    agentToken = String(a.stdout).trim();
    writeFileSync(tokenFile, `${agentToken}\n`, { mode: 0o600 });
    // the sequence positions this test follows are shown to admins only
    admin = String((await zonescope(['token', 'create', '--role', 'admin', '--data', data])).stdout).trim();
    await startServer();
    startAgent();
  });
  afterAll(stopAll);

  it('streams samples with increasing sequence numbers and shows the node and its zones', async () => {
    const d = await until('3 samples', async () => {
      const n = await api<NodeDetail>(`/api/nodes/${node}`);
      return n.seq.last >= 3 && n;
    });
    expect(d.up).toBe(true);
    expect(d.history.seqs).toEqual([...d.history.seqs].sort((a, b) => a - b));
    expect(new Set(d.history.seqs).size).toBe(d.history.seqs.length);
    const zones = await api<{ name: string; brand: string }[]>(`/api/nodes/${node}/zones`);
    expect(zones.map((z) => z.name)).toContain('global');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`zonescope_agent_up{node="${node}"} 1`);
    expect(metrics).toMatch(new RegExp(`zonescope_zone_info\\{node="${node}",zone="global",[^}]*\\} 1`));
    expect(metrics).toMatch(new RegExp(`zonescope_agent_last_seen_timestamp_seconds\\{node="${node}"\\} \\d`));
  });

  it('loses no sample while the server is down for 10 s and restarted on the same data dir', async () => {
    const before = await api<NodeDetail>(`/api/nodes/${node}`);
    await server.stop();
    await new Promise((r) => setTimeout(r, 10_000));
    await startServer();
    const after = await until('the agent to resend its backlog', async () => {
      const n = await api<NodeDetail>(`/api/nodes/${node}`);
      return n.up && n.seq.last >= before.seq.last + 12 && n;
    }, 30_000);
    // the restarted server resumes right after what it had stored, with every frame in between
    const seqs = after.history.seqs;
    expect(seqs[0]).toBeLessThanOrEqual(before.seq.last + 1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1] + 1);
    expect(after.seq.gaps).toBe(0);
    expect(after.seq.epoch).toBe(before.seq.epoch);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`zonescope_agent_sample_gaps_total{node="${node}"} 0`);
  }, 60_000);

  it('registers again under the same node name after the agent is killed and restarted', async () => {
    const before = await api<NodeDetail>(`/api/nodes/${node}`);
    agent.kill9();
    await until('the node to go down', async () => !(await api<NodeDetail>(`/api/nodes/${node}`)).up);
    const down = await (await fetch(`${base}/metrics`)).text();
    expect(down).toContain(`zonescope_agent_up{node="${node}"} 0`);
    expect(down).not.toMatch(new RegExp(`zonescope_zone_info\\{node="${node}"`));
    startAgent();
    const again = await until('the node to come back', async () => {
      const n = await api<NodeDetail>(`/api/nodes/${node}`);
      return n.up && n.seq.epoch !== before.seq.epoch && n.seq.last >= 1 && n;
    });
    expect(again.up).toBe(true);
    const nodes = await api<{ node: string }[]>('/api/nodes');
    expect(nodes.filter((n) => n.node === node)).toHaveLength(1);
  }, 40_000);

  it('keeps tokens as hashes only, and `server` writes no agent token it does not use', async () => {
    expect(existsSync(join(data, 'local-agent.token'))).toBe(false);
    expect(existsSync(join(data, 'admin.token'))).toBe(true);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(data, 'zonescope.db'), { readonly: true });
    const dump = JSON.stringify(db.prepare('SELECT * FROM tokens').all());
    db.close();
    expect(dump).not.toContain(agentToken);
    expect(dump).not.toContain(admin);
  });
});
