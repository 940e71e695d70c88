// The embedded store: tokens (hashes only), the audit log, and what the server must remember
// across restarts about each node (its sequence position, so agents resume without gaps).
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** metrics: scrapes /metrics and /sd only (a tenant's own Prometheus), always with an owner */
export type Role = 'agent' | 'metrics' | 'viewer' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['agent', 'metrics', 'viewer', 'operator', 'admin'];

export interface TokenRow {
  id: number;
  name: string;
  role: Role;
  created: number;
  /** the tenant a scoped token sees (only that owner's zones); null: the whole fleet */
  owner: string | null;
}

export interface AuditEntry {
  time: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
  /** the address the request came from ('' for the server's own and the CLI's actions) */
  source: string;
  /** the tenant the action concerns (the zone's owner, or the scoped token's), '' for none */
  owner: string;
}

/** What GET /api/audit filters on; every given field must match. */
export interface AuditFilter {
  owner?: string;
  actor?: string;
  action?: string;
  /** ms since the epoch */
  since?: number;
  limit?: number;
}

/** How long a browser session lasts: at most `ttlMs` after login, `idleMs` after its last use. */
export interface SessionLimits {
  ttlMs: number;
  idleMs: number;
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

/** Tighten a mode; a file someone else owns (EPERM) is left as its owner set it, since
 * refusing to start over it would help nobody (e.g. a directory systemd made 0700 already). */
function ownerOnly(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') throw e;
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
    ownerOnly(dataDir, 0o700);
    // created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the same mode
    if (!existsSync(this.path)) closeSync(openSync(this.path, 'a', 0o600));
    ownerOnly(this.path, 0o600);
    try {
      this.db = new Database(this.path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      for (const f of [`${this.path}-wal`, `${this.path}-shm`]) if (existsSync(f)) ownerOnly(f, 0o600);
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
      CREATE TABLE IF NOT EXISTS sessions (
        hash TEXT PRIMARY KEY, token_id INTEGER NOT NULL, created INTEGER NOT NULL,
        last_used INTEGER NOT NULL, expires INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS sessions_token ON sessions (token_id);
    `));
    // databases made before audit rows carried the source address
    this.at('add audit source', () => {
      const cols = this.db.prepare('PRAGMA table_info(audit)').all() as { name: string }[];
      if (!cols.some((c) => c.name === 'source')) this.db.exec("ALTER TABLE audit ADD COLUMN source TEXT NOT NULL DEFAULT ''");
    });
    // databases made before tenants: tokens and audit rows gain an owner
    this.at('add owners', () => {
      const has = (table: string, col: string) => (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).some((c) => c.name === col);
      if (!has('tokens', 'owner')) this.db.exec('ALTER TABLE tokens ADD COLUMN owner TEXT');
      if (!has('audit', 'owner')) this.db.exec("ALTER TABLE audit ADD COLUMN owner TEXT NOT NULL DEFAULT ''");
    });
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

  addToken(name: string, role: Role, hash: string, owner: string | null = null): TokenRow {
    const created = Date.now();
    const r = this.at('add token', () => this.db.prepare('INSERT INTO tokens (name, role, hash, created, owner) VALUES (?, ?, ?, ?, ?)').run(name, role, hash, created, owner));
    return { id: Number(r.lastInsertRowid), name, role, created, owner };
  }

  tokenByHash(hash: string): TokenRow | undefined {
    return this.at('read token', () => this.db.prepare('SELECT id, name, role, created, owner FROM tokens WHERE hash = ? AND revoked IS NULL').get(hash)) as TokenRow | undefined;
  }

  /** Whether a token (by id) may still be used: connections made with it re-check this. */
  tokenActive(id: number): boolean {
    return this.at('read token', () => this.db.prepare('SELECT 1 FROM tokens WHERE id = ? AND revoked IS NULL').get(id)) !== undefined;
  }

  tokens(): (TokenRow & { revoked: number | null })[] {
    return this.at('list tokens', () => this.db.prepare('SELECT id, name, role, created, owner, revoked FROM tokens ORDER BY id').all()) as (TokenRow & { revoked: number | null })[];
  }

  /** Revokes an active token and ends its browser sessions, audited in the same transaction:
   * the audit row says it was done only when it was. Undefined when no such active token. */
  revokeToken(id: number, actor: string, source = ''): TokenRow | undefined {
    return this.at('revoke token', () => this.db.transaction(() => {
      const row = this.db.prepare('SELECT id, name, role, created, owner FROM tokens WHERE id = ? AND revoked IS NULL').get(id) as TokenRow | undefined;
      if (!row) return undefined;
      this.audit(actor, 'token.revoke', String(id), { name: row.name, role: row.role }, source, row.owner ?? '');
      this.db.prepare('UPDATE tokens SET revoked = ? WHERE id = ?').run(Date.now(), id);
      this.db.prepare('DELETE FROM sessions WHERE token_id = ?').run(id);
      return row;
    })());
  }

  audit(actor: string, action: string, target: string, detail: unknown = {}, source = '', owner = ''): void {
    this.at('write audit', () => this.db.prepare('INSERT INTO audit (time, actor, action, target, detail, source, owner) VALUES (?, ?, ?, ?, ?, ?, ?)').run(Date.now(), actor, action, target, JSON.stringify(detail), source, owner));
  }

  /** Newest first; `limit` (default 100) after the filters. */
  auditLog(f: AuditFilter | number = {}): AuditEntry[] {
    const q = typeof f === 'number' ? { limit: f } : f;
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.owner !== undefined) (where.push('owner = ?'), args.push(q.owner));
    if (q.actor !== undefined) (where.push('actor = ?'), args.push(q.actor));
    if (q.action !== undefined) (where.push('action = ?'), args.push(q.action));
    if (q.since !== undefined) (where.push('time >= ?'), args.push(q.since));
    const sql = `SELECT time, actor, action, target, detail, source, owner FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.at('read audit', () => this.db.prepare(sql).all(...args, q.limit ?? 100)) as AuditEntry[];
  }

  // Browser sessions: the cookie holds a random id, the store its SHA-256 (like tokens), so a
  // copy of the database cannot be replayed as a cookie.

  addSession(hash: string, tokenId: number, limits: SessionLimits, now = Date.now()): void {
    this.at('add session', () => {
      // expired rows go when new ones come: the table stays as small as the live sessions
      this.db.prepare('DELETE FROM sessions WHERE expires <= ? OR last_used <= ?').run(now, now - limits.idleMs);
      this.db.prepare('INSERT INTO sessions (hash, token_id, created, last_used, expires) VALUES (?, ?, ?, ?, ?)').run(hash, tokenId, now, now, now + limits.ttlMs);
    });
  }

  /** The token behind a live session (not expired, not idle too long, token not revoked), and
   * marks it used unless `touch` is false. Writes at most once a minute (a quarter of the idle
   * timeout if shorter) per session: reads stay mostly reads. */
  sessionToken(hash: string, limits: SessionLimits, now = Date.now(), touch = true): TokenRow | undefined {
    const r = this.at('read session', () =>
      this.db
        .prepare(
          `SELECT t.id, t.name, t.role, t.created, t.owner, s.last_used FROM sessions s JOIN tokens t ON t.id = s.token_id
           WHERE s.hash = ? AND t.revoked IS NULL AND s.expires > ? AND s.last_used > ?`,
        )
        .get(hash, now, now - limits.idleMs),
    ) as (TokenRow & { last_used: number }) | undefined;
    if (!r) return undefined;
    if (touch && now - r.last_used >= Math.min(60_000, limits.idleMs / 4)) this.at('touch session', () => this.db.prepare('UPDATE sessions SET last_used = ? WHERE hash = ?').run(now, hash));
    const { last_used: _, ...row } = r;
    return row;
  }

  deleteSession(hash: string): boolean {
    return this.at('delete session', () => this.db.prepare('DELETE FROM sessions WHERE hash = ?').run(hash).changes > 0);
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
