// What a first run needs: an admin token to log in with, and — for `start` only, which runs an
// agent in the same process — the local agent's token. Both are kept in files readable only by
// the owner in the data dir, since the store has hashes only. `server` writes no agent token:
// a valid credential nobody uses is only something to leak.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createToken, verifyToken } from './auth.js';
import type { Role, Store } from './store.js';

export interface Bootstrap {
  adminToken: string;
  adminFile: string;
  /** the local agent's token (`start` only) */
  agentToken?: string;
  created: boolean;
}

function keep(store: Store, dataDir: string, file: string, role: Role, name: string): { token: string; path: string; created: boolean } {
  const path = join(dataDir, file);
  if (existsSync(path)) {
    const token = readFileSync(path, 'utf8').trim();
    if (verifyToken(store, token)?.role === role) return { token, path, created: false };
  }
  const { token } = createToken(store, role, name);
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  store.audit('zonescope start', 'token.create', name, { role, file: path });
  return { token, path, created: true };
}

export function bootstrap(store: Store, dataDir: string, localAgent: boolean): Bootstrap {
  const admin = keep(store, dataDir, 'admin.token', 'admin', 'admin (first run)');
  const agent = localAgent ? keep(store, dataDir, 'local-agent.token', 'agent', 'local agent') : undefined;
  return { adminToken: admin.token, adminFile: admin.path, agentToken: agent?.token, created: admin.created };
}
