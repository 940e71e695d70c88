// Tenants from the command line: scoped tokens (`token create --owner`) and the audit log
// filtered by owner, actor, action and time (`zonescope audit`), both straight to the store.
import { describe, expect, it } from 'vitest';
import { tempDir, zonescope } from '../helpers/cli.js';

const OWNER = '7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b';

describe('zonescope token --owner and zonescope audit', () => {
  it('makes scoped tokens, refuses nonsense scopes, and the audit log says whose they are', async () => {
    const data = tempDir();
    const viewer = await zonescope(['token', 'create', '--role', 'viewer', '--owner', OWNER, '--name', 'acme-ro', '--data', data]);
    expect(viewer.exitCode, String(viewer.stderr)).toBe(0);
    expect(String(viewer.stdout)).toMatch(/^zs_viewer_\S+$/);
    expect(String(viewer.stderr)).toContain(`for owner ${OWNER}`);
    expect((await zonescope(['token', 'create', '--role', 'metrics', '--owner', OWNER, '--data', data])).exitCode).toBe(0);
    expect((await zonescope(['token', 'create', '--role', 'operator', '--name', 'ops', '--data', data])).exitCode).toBe(0);

    for (const [args, says] of [
      [['--role', 'admin', '--owner', OWNER], /--owner is for metrics, viewer, operator tokens, not admin/],
      [['--role', 'agent', '--owner', OWNER], /--owner is for metrics, viewer, operator tokens, not agent/],
      [['--role', 'metrics'], /a metrics token needs --owner/],
      [['--role', 'viewer', '--owner', 'acme corp'], /owner 'acme corp' may hold only/],
    ] as const) {
      const r = await zonescope(['token', 'create', ...args, '--data', data]);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(String(r.stderr).trim()).toMatch(says);
      expect(String(r.stderr).trim().split('\n')).toHaveLength(1);
    }

    const list = String((await zonescope(['token', 'list', '--data', data])).stdout);
    expect(list).toMatch(new RegExp(`\\tviewer\\tacme-ro\\t\\S+\\towner=${OWNER}$`, 'm'));
    expect(list).toMatch(/\toperator\tops\t\S+$/m);

    const mine = await zonescope(['audit', '--owner', OWNER, '--json', '--data', data]);
    expect(mine.exitCode, String(mine.stderr)).toBe(0);
    const rows = String(mine.stdout).trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.action, r.owner, r.detail.role])).toEqual([
      ['token.create', OWNER, 'metrics'],
      ['token.create', OWNER, 'viewer'],
    ]);
    const all = String((await zonescope(['audit', '--action', 'token.create', '--since', '10m', '--data', data])).stdout).trim().split('\n');
    expect(all).toHaveLength(3);
    expect(all[0]).toMatch(/\tcli\ttoken\.create\tops\t-\t-\t/);
    expect(String((await zonescope(['audit', '--since', '2999-01-01T00:00:00Z', '--data', data])).stdout)).toBe('');
    expect(String((await zonescope(['audit', '--actor', 'operator:nobody', '--data', data])).stdout)).toBe('');
    const bad = await zonescope(['audit', '--since', 'yesterday-ish', '--data', data]);
    expect(bad.exitCode).toBe(2);
    expect(String(bad.stderr)).toMatch(/--since: 'yesterday-ish' is neither a duration/);
  });
});
