// A full or damaged disk under a real server process: it keeps taking agent frames (in memory),
// counts and reports the failing store, starts again on the still-full disk, and says which
// file is damaged and how. Also: the data directory and database are the owner's only.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { openSync, statSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { freePort, spawnZonescope, stopAll, tempDir, zonescope, type Proc } from '../helpers/cli.js';
import { helloFrame, samplesFrame } from '../helpers/frames.js';
import { fillDisk, smallDisk } from '../helpers/test-store.js';
import { closed, message } from '../helpers/sockets.js';

const canMount = process.getuid?.() === 0;

async function serverOn(data: string): Promise<{ proc: Proc; base: string; port: number }> {
  const port = await freePort();
  const proc = spawnZonescope(['server', '--port', String(port), '--host', '127.0.0.1', '--data', data], { ZONESCOPE_LOG: 'warn' });
  await proc.waitFor(/zonescope is up/);
  return { proc, port, base: `http://127.0.0.1:${port}` };
}

async function token(data: string, role: string): Promise<string> {
  const r = await zonescope(['token', 'create', '--role', role, '--data', data]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stdout).trim();
}

async function agent(port: number, tok: string, node: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/agent`, { headers: { authorization: `Bearer ${tok}` } });
  await new Promise((res, rej) => ws.once('open', res).once('error', rej));
  const w = message(ws, 'welcome');
  ws.send(JSON.stringify(helloFrame(node)));
  const welcome = await w;
  const send = async (seq: number, v: number) => {
    const ack = message(ws, 'ack');
    ws.send(JSON.stringify(samplesFrame(seq, [{ f: 'node_load1', l: {}, v }])));
    return ack;
  };
  return { ws, welcome, send };
}

afterAll(async () => {
  await stopAll();
});

describe.skipIf(!canMount)('a full disk under the server', () => {
  it('keeps taking agent frames in memory, counts the failed writes, reports degraded, and restarts on the full disk', async () => {
    const data = smallDisk(2048);
    const tok = await token(data, 'agent');
    const admin = await token(data, 'admin');
    let s = await serverOn(data);
    const a = await agent(s.port, tok, 'full-1');
    await a.send(1, 1);
    fillDisk(data);
    for (let seq = 2; seq <= 6; seq++) expect((await a.send(seq, seq)).seq).toBe(seq);
    // a node new to the server on the full disk: its name and position cannot be stored
    const b = await agent(s.port, tok, 'full-2');
    await b.send(1, 42);
    const health = (await (await fetch(`${s.base}/healthz`)).json()) as { status: string; store: { failing: { op: string }[] } };
    expect(health.status).toBe('degraded');
    expect(health.store.failing.map((f) => f.op)).toContain('write node_seq');
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toContain('zonescope_node_load1{node="full-1"} 6');
    expect(metrics).toContain('zonescope_node_load1{node="full-2"} 42');
    expect(Number(/zonescope_store_errors_total\{op="write node_seq"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(5);
    // logged once a minute per operation, not once a frame, naming the file
    expect(s.proc.output().match(/zonescope\.db: write node_seq: database or disk is full/g)).toHaveLength(1);
    // the agent reconnects (a restart of its link): resumes from memory, not from the stale store
    a.ws.close();
    await closed(a.ws);
    const again = await agent(s.port, tok, 'full-1');
    expect(again.welcome.lastSeq).toBe(6);
    // an HTTP write on the full disk answers a clean 500 naming the file; the server goes on
    const r = await fetch(`${s.base}/api/tokens`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer', name: 'x' }) });
    expect(r.status).toBe(500);
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);

    // stopped and started again on the still-full disk: up, and the agent is welcome
    for (const w of [again.ws, b.ws]) w.close();
    await s.proc.stop();
    s = await serverOn(data);
    const c = await agent(s.port, tok, 'full-1');
    await c.send(7, 7);
    expect(await (await fetch(`${s.base}/metrics`)).text()).toContain('zonescope_node_load1{node="full-1"} 7');
    c.ws.close();
    await s.proc.stop();
  });
});

describe('a damaged database', () => {
  it('is reported at start with its path and SQLite\'s words, and the server serves agents from memory', async () => {
    const data = tempDir();
    const tok = await token(data, 'agent');
    // many resume positions, so node_seq has pages of its own to damage
    const file = join(data, 'zonescope.db');
    const db = new Database(file);
    const put = db.prepare('INSERT INTO node_seq (node, epoch, last_seq) VALUES (?, 1, 5)');
    db.transaction(() => {
      for (let i = 0; i < 2000; i++) put.run(`filler-node-with-a-long-name-${i}`);
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'node_seq'").get() as { rootpage: number }).rootpage;
    db.close();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
    closeSync(fd);

    const s = await serverOn(data);
    await s.proc.waitFor(/is damaged/);
    expect(s.proc.output()).toContain(file);
    const health = (await (await fetch(`${s.base}/healthz`)).json()) as { status: string; store: { damaged: boolean } };
    expect(health).toMatchObject({ status: 'degraded', store: { damaged: true } });
    const a = await agent(s.port, tok, 'on-damaged');
    expect(a.welcome.lastSeq).toBe(0);
    await a.send(1, 3);
    expect(await (await fetch(`${s.base}/metrics`)).text()).toContain('zonescope_node_load1{node="on-damaged"} 3');
    expect((await fetch(`${s.base}/healthz`)).status).toBe(200);
    a.ws.close();
    await s.proc.stop();
  });

  it('that is not a database at all stops the start with the file and the reason', async () => {
    const data = tempDir();
    writeFileSync(join(data, 'zonescope.db'), Buffer.alloc(8192, 0x41));
    const r = await zonescope(['server', '--port', String(await freePort()), '--host', '127.0.0.1', '--data', data]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain(`${join(data, 'zonescope.db')}: open: file is not a database`);
  });
});

describe('the data directory', () => {
  it('is 0700 and the database 0600, also when they existed with looser modes', async () => {
    const data = tempDir();
    execFileSync('chmod', ['0755', data]);
    const r = await zonescope(['token', 'create', '--role', 'viewer', '--data', data]);
    expect(r.exitCode).toBe(0);
    expect(statSync(data).mode & 0o777).toBe(0o700);
    expect(statSync(join(data, 'zonescope.db')).mode & 0o777).toBe(0o600);
    execFileSync('chmod', ['0644', join(data, 'zonescope.db')]);
    const s = await serverOn(data);
    expect(statSync(join(data, 'zonescope.db')).mode & 0o777).toBe(0o600);
    for (const f of ['zonescope.db-wal', 'zonescope.db-shm']) {
      try {
        expect(statSync(join(data, f)).mode & 0o777, f).toBe(0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    await s.proc.stop();
  });
});

