// What a first run needs: an admin token to log in with, and the local agent's token. Both
// are kept in files readable only by the owner in the data dir, since the store has hashes only.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createToken, verifyToken } from './auth.js';
import type { Role, Store } from './store.js';

export interface Bootstrap {
  adminToken: string;
  adminFile: string;
  agentToken: string;
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

export function bootstrap(store: Store, dataDir: string): Bootstrap {
  const admin = keep(store, dataDir, 'admin.token', 'admin', 'admin (first run)');
  const agent = keep(store, dataDir, 'local-agent.token', 'agent', 'local agent');
  return { adminToken: admin.token, adminFile: admin.path, agentToken: agent.token, created: admin.created };
}
