// The embedded store: tokens (hashes only), the audit log, and what the server must remember
// across restarts about each node (its sequence position, so agents resume without gaps).
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

export type Role = 'agent' | 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['agent', 'viewer', 'operator', 'admin'];

export interface TokenRow {
  id: number;
  name: string;
  role: Role;
  created: number;
}

export interface AuditEntry {
  time: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface NodeSeq {
  epoch: number;
  lastSeq: number;
}

/** Who a node name belongs to: the agent token that first said hello as it, or the one made
 * for it with `token create --role agent --node NAME` (bound: kept when the node is forgotten). */
export interface NodeOwner {
  node: string;
  tokenId: number;
  bound: boolean;
}

/** A store failure, naming the database file and what was being done. */
export class StoreError extends Error {
  constructor(readonly path: string, readonly op: string, cause: unknown) {
    super(`${path}: ${op}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

export class Store {
  readonly db: Database.Database;
  readonly path: string;
  /** what PRAGMA integrity_check said at open, when it was not "ok" */
  readonly damage?: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'zonescope.db');
    // tokens' hashes and the audit log: for the owner only. The directory is tightened even
    // when it exists, since older versions made it with the umask's permissions.
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    chmodSync(dataDir, 0o700);
    // created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode
    if (!existsSync(this.path)) closeSync(openSync(this.path, 'a', 0o600));
    chmodSync(this.path, 0o600);
    try {
      this.db = new Database(this.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      for (const f of [`${this.path}-wal`, `${this.path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    } catch (e) {
      throw new StoreError(this.path, 'open', e);
    }
    try {
      // a damaged page otherwise surfaces later, at the first agent that touches it
      const rows = this.db.pragma('integrity_check(20)') as { integrity_check: string }[];
      const said = rows.map((r) => r.integrity_check).join('; ');
      if (said !== 'ok') this.damage = said;
    } catch (e) {
      this.damage = (e as Error).message;
    }
    this.at('create tables', () => this.db.exec(`
      CREATE TABLE IF NOT EXISTS tokens (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, revoked INTEGER);
      CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS node_seq (
        node TEXT PRIMARY KEY, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS node_owner (
        node TEXT PRIMARY KEY, token_id INTEGER NOT NULL, bound INTEGER NOT NULL, since INTEGER NOT NULL);
    `));
  }

  /** Runs one store operation; a failure is rethrown as a StoreError naming the file. */
  private at<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw e instanceof StoreError ? e : new StoreError(this.path, op, e);
    }
  }

  nodeOwner(node: string): NodeOwner | undefined {
    const r = this.at('read node owner', () => this.db.prepare('SELECT node, token_id, bound FROM node_owner WHERE node = ?').get(node)) as { node: string; token_id: number; bound: number } | undefined;
    return r && { node: r.node, tokenId: r.token_id, bound: r.bound === 1 };
  }

  nodeOwners(): NodeOwner[] {
    const rows = this.at('read node owners', () => this.db.prepare('SELECT node, token_id, bound FROM node_owner').all()) as { node: string; token_id: number; bound: number }[];
    return rows.map((r) => ({ node: r.node, tokenId: r.token_id, bound: r.bound === 1 }));
  }

  /** Make `tokenId` the owner of `node` (bound: made for it by an admin, kept when forgotten). */
  setNodeOwner(node: string, tokenId: number, bound: boolean): void {
    this.at('write node owner', () =>
      this.db.prepare('INSERT INTO node_owner (node, token_id, bound, since) VALUES (?, ?, ?, ?) ON CONFLICT(node) DO UPDATE SET token_id = excluded.token_id, bound = excluded.bound, since = excluded.since').run(node, tokenId, bound ? 1 : 0, Date.now()),
    );
  }

  /** A node unseen for too long: its resume position goes, and its name unless it is bound. */
  forgetNode(node: string): void {
    this.at('forget node', () => {
      this.db.prepare('DELETE FROM node_seq WHERE node = ?').run(node);
      this.db.prepare('DELETE FROM node_owner WHERE node = ? AND bound = 0').run(node);
    });
  }

  addToken(name: string, role: Role, hash: string): TokenRow {
    const created = Date.now();
    const r = this.at('add token', () => this.db.prepare('INSERT INTO tokens (name, role, hash, created) VALUES (?, ?, ?, ?)').run(name, role, hash, created));
    return { id: Number(r.lastInsertRowid), name, role, created };
  }

  tokenByHash(hash: string): TokenRow | undefined {
    return this.at('read token', () => this.db.prepare('SELECT id, name, role, created FROM tokens WHERE hash = ? AND revoked IS NULL').get(hash)) as TokenRow | undefined;
  }

  /** Whether a token (by id) may still be used: connections made with it re-check this. */
  tokenActive(id: number): boolean {
    return this.at('read token', () => this.db.prepare('SELECT 1 FROM tokens WHERE id = ? AND revoked IS NULL').get(id)) !== undefined;
  }

  tokens(): (TokenRow & { revoked: number | null })[] {
    return this.at('list tokens', () => this.db.prepare('SELECT id, name, role, created, revoked FROM tokens ORDER BY id').all()) as (TokenRow & { revoked: number | null })[];
  }

  revokeToken(id: number): boolean {
    return this.at('revoke token', () => this.db.prepare('UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL').run(Date.now(), id).changes > 0);
  }

  audit(actor: string, action: string, target: string, detail: unknown = {}): void {
    this.at('write audit', () => this.db.prepare('INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(Date.now(), actor, action, target, JSON.stringify(detail)));
  }

  auditLog(limit = 100): AuditEntry[] {
    return this.at('read audit', () => this.db.prepare('SELECT time, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?').all(limit)) as AuditEntry[];
  }

  nodeSeq(node: string): NodeSeq | undefined {
    const r = this.at('read node_seq', () => this.db.prepare('SELECT epoch, last_seq FROM node_seq WHERE node = ?').get(node)) as { epoch: number; last_seq: number } | undefined;
    return r && { epoch: r.epoch, lastSeq: r.last_seq };
  }

  saveNodeSeq(node: string, s: NodeSeq): void {
    this.at('write node_seq', () => this.db.prepare('INSERT INTO node_seq (node, epoch, last_seq) VALUES (?, ?, ?) ON CONFLICT(node) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq').run(node, s.epoch, s.lastSeq));
  }

  setting(key: string): string | undefined {
    return (this.at('read setting', () => this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key)) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.at('write setting', () => this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value));
  }

  close(): void {
    this.db.close();
  }
}
