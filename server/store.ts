// The embedded store: tokens (hashes only), the audit log, and what the server must remember
// across restarts about each node (its sequence position, so agents resume without gaps).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
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

export class Store {
  readonly db: Database.Database;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new Database(join(dataDir, 'zonescope.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tokens (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, revoked INTEGER);
      CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY, time INTEGER NOT NULL, actor TEXT NOT NULL,
        action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS node_seq (
        node TEXT PRIMARY KEY, epoch INTEGER NOT NULL, last_seq INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
  }

  addToken(name: string, role: Role, hash: string): TokenRow {
    const created = Date.now();
    const r = this.db.prepare('INSERT INTO tokens (name, role, hash, created) VALUES (?, ?, ?, ?)').run(name, role, hash, created);
    return { id: Number(r.lastInsertRowid), name, role, created };
  }

  tokenByHash(hash: string): TokenRow | undefined {
    return this.db.prepare('SELECT id, name, role, created FROM tokens WHERE hash = ? AND revoked IS NULL').get(hash) as TokenRow | undefined;
  }

  /** Whether a token (by id) may still be used: connections made with it re-check this. */
  tokenActive(id: number): boolean {
    return this.db.prepare('SELECT 1 FROM tokens WHERE id = ? AND revoked IS NULL').get(id) !== undefined;
  }

  tokens(): (TokenRow & { revoked: number | null })[] {
    return this.db.prepare('SELECT id, name, role, created, revoked FROM tokens ORDER BY id').all() as (TokenRow & { revoked: number | null })[];
  }

  revokeToken(id: number): boolean {
    return this.db.prepare('UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL').run(Date.now(), id).changes > 0;
  }

  audit(actor: string, action: string, target: string, detail: unknown = {}): void {
    this.db.prepare('INSERT INTO audit (time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)').run(Date.now(), actor, action, target, JSON.stringify(detail));
  }

  auditLog(limit = 100): AuditEntry[] {
    return this.db.prepare('SELECT time, actor, action, target, detail FROM audit ORDER BY id DESC LIMIT ?').all(limit) as AuditEntry[];
  }

  nodeSeq(node: string): NodeSeq | undefined {
    const r = this.db.prepare('SELECT epoch, last_seq FROM node_seq WHERE node = ?').get(node) as { epoch: number; last_seq: number } | undefined;
    return r && { epoch: r.epoch, lastSeq: r.last_seq };
  }

  saveNodeSeq(node: string, s: NodeSeq): void {
    this.db.prepare('INSERT INTO node_seq (node, epoch, last_seq) VALUES (?, ?, ?) ON CONFLICT(node) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq').run(node, s.epoch, s.lastSeq);
  }

  setting(key: string): string | undefined {
    return (this.db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  setSetting(key: string, value: string): void {
    this.db.prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  close(): void {
    this.db.close();
  }
}
