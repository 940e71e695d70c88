// `zonescope token create|list|revoke`: straight to the store in --data, so a token can be
// made before the server ever runs (the agent's, for instance).
import { resolve } from 'node:path';
import { createToken, tokenScopeError } from '../server/auth.js';
import { ROLES, Store, type Role } from '../server/store.js';
import { parse, UsageError } from './args.js';

export const tokenHelp = `zonescope token — manage access tokens

  zonescope token create --role agent|viewer|operator|admin [--name N] [--data DIR]
      prints the new token once; only its hash is stored
  zonescope token create --role viewer|operator|metrics --owner UUID [--name N] [--data DIR]
      a tenant's token: it sees only the zones OWNER owns (SmartOS owner_uuid, or the Linux
      agent's ZONESCOPE_ZONE_OWNERS mapping), never the global zone or host-wide data; anything
      else is 404. metrics: /metrics and /sd filtered to those zones, for the tenant's Prometheus
  zonescope token create --role agent --node NAME [--data DIR]
      an agent token that owns node NAME (moved from the token that held it): use it to
      replace a node's leaked or revoked token
  zonescope token list [--data DIR]
  zonescope token revoke ID [--data DIR]

  Roles: viewer (look) < operator (curated traces, VM actions) < admin (tokens, ad-hoc).
  agent is for node agents only, metrics for scraping only. A node name belongs to the agent token that first said
  hello as it; any other agent token is refused for that name (and the attempt audited).
`;

export async function tokenCommand(argv: string[]) {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h' || sub === 'help') return void process.stdout.write(tokenHelp);
  const { values, positionals } = parse(`token ${sub}`, rest, { role: { type: 'string' }, name: { type: 'string' }, node: { type: 'string' }, owner: { type: 'string' }, data: { type: 'string' } }, true);
  if (values.help) return void process.stdout.write(tokenHelp);
  const store = () => new Store(resolve(values.data ?? 'data'));
  if (sub === 'create') {
    if (!values.role) throw new UsageError('token create: --role is required (agent, metrics, viewer, operator or admin)');
    if (!ROLES.includes(values.role as Role)) throw new UsageError(`token create: --role must be one of ${ROLES.join(', ')}, not '${values.role}'`);
    if (values.node !== undefined) {
      if (values.role !== 'agent') throw new UsageError(`token create: --node is for agent tokens (--role agent), not ${values.role}`);
      if (!/^[A-Za-z0-9_.:@-]{1,256}$/.test(values.node)) throw new UsageError(`token create: --node '${values.node}' may hold only letters, digits and _.:@-`);
    }
    const scopeError = tokenScopeError(values.role as Role, values.owner);
    if (scopeError) throw new UsageError(`token create: ${scopeError}`);
    const s = store();
    const name = values.name ?? (values.node !== undefined ? `agent-${values.node}` : `${values.role}-${values.owner !== undefined ? `${values.owner.slice(0, 8)}-` : ''}${new Date().toISOString().slice(0, 10)}`);
    const { token } = s.db.transaction(() => {
      s.audit('cli', 'token.create', name, { role: values.role, ...(values.node !== undefined ? { node: values.node } : {}), ...(values.owner !== undefined ? { owner: values.owner } : {}) }, '', values.owner ?? '');
      const made = createToken(s, values.role as Role, name, values.owner);
      if (values.node !== undefined) {
        const was = s.nodeOwner(values.node);
        s.setNodeOwner(values.node, made.row.id, true);
        s.audit('cli', 'node.bind', values.node, { token: made.row.id, ...(was ? { from: was.tokenId } : {}) });
      }
      return made;
    })();
    s.close();
    process.stdout.write(`${token}\n`);
    process.stderr.write(`created ${values.role} token '${name}'${values.owner !== undefined ? ` for owner ${values.owner}` : ''}. It is shown only this once.\n`);
  } else if (sub === 'list') {
    const s = store();
    for (const t of s.tokens()) process.stdout.write(`${t.id}\t${t.role}\t${t.name}\t${new Date(t.created).toISOString()}${t.owner ? `\towner=${t.owner}` : ''}${t.revoked ? '\trevoked' : ''}\n`);
    s.close();
  } else if (sub === 'revoke') {
    const id = Number(positionals[0]);
    if (!Number.isInteger(id) || id < 1) throw new UsageError('token revoke: give the token id (see zonescope token list)');
    const s = store();
    // audited with the revocation itself: an unknown id is not recorded as revoked
    const ok = s.revokeToken(id, 'cli');
    s.close();
    if (!ok) throw new UsageError(`token revoke: no active token with id ${id}`);
    process.stderr.write(`revoked token ${id}\n`);
  } else {
    throw new UsageError(`token: unknown subcommand '${sub}' (create, list, revoke)`);
  }
}
