// `zonescope audit`: the audit log, newest first, straight from the store in --data (as
// `token` does), filtered like GET /api/audit.
import { resolve } from 'node:path';
import { Store } from '../server/store.js';
import { parse, seconds, UsageError } from './args.js';

export const auditHelp = `zonescope audit — the audit log, newest first

  zonescope audit [--owner UUID] [--actor ROLE:NAME] [--action ACTION] [--since WHEN]
                  [--limit 100] [--json] [--data DIR]

  --owner   actions concerning that tenant (the zone's owner, or the scoped token's)
  --actor   who did it, as logged (operator:alice, cli, server, agent:NAME)
  --action  e.g. trace.start, vm.stop, token.create, login, login.failed
  --since   a duration back from now (30m, 2h), an ISO 8601 time or ms since the epoch
  --json    one JSON object per line instead of tab-separated columns
`;

/** WHEN as ms since the epoch: 30m / 2h back from now, an ISO time, or ms. */
export function sinceMs(text: string, now = Date.now()): number {
  if (/^\d{10,}$/.test(text)) return Number(text);
  if (/^\d+(\.\d+)?(ms|s|m|h)?$/.test(text)) return now - seconds('audit --since', text, 0, 10 * 365 * 86400) * 1000;
  const t = Date.parse(text);
  if (!Number.isFinite(t)) throw new UsageError(`audit --since: '${text}' is neither a duration (30m, 2h), an ISO 8601 time nor ms since the epoch`);
  return t;
}

export async function auditCommand(argv: string[]) {
  const { values } = parse('audit', argv, {
    owner: { type: 'string' },
    actor: { type: 'string' },
    action: { type: 'string' },
    since: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
    data: { type: 'string' },
  });
  if (values.help) return void process.stdout.write(auditHelp);
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw new UsageError(`audit --limit: '${values.limit}' is not a number from 1 to 100000`);
  const since = values.since === undefined ? undefined : sinceMs(values.since);
  const store = new Store(resolve(values.data ?? 'data'));
  try {
    for (const e of store.auditLog({ owner: values.owner, actor: values.actor, action: values.action, since, limit })) {
      if (values.json) process.stdout.write(`${JSON.stringify({ ...e, detail: JSON.parse(e.detail) })}\n`);
      else process.stdout.write(`${new Date(e.time).toISOString()}\t${e.actor}\t${e.action}\t${e.target}\t${e.owner || '-'}\t${e.source || '-'}\t${e.detail}\n`);
    }
  } finally {
    store.close();
  }
}
