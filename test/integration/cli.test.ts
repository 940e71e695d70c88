// Every command explains itself with --help and refuses bad flags with one line and exit 2.
import { describe, expect, it } from 'vitest';
import { zonescope } from '../helpers/cli.js';

const COMMANDS = ['start', 'server', 'agent', 'token', 'audit', 'scripts', 'trace', 'fold', 'parse'];

describe('zonescope CLI', () => {
  it('lists its commands', async () => {
    const r = await zonescope(['--help']);
    expect(r.exitCode).toBe(0);
    for (const c of COMMANDS) expect(String(r.stdout)).toContain(c);
  });

  it.each(COMMANDS)('%s --help describes its usage', async (cmd) => {
    const r = await zonescope([cmd, '--help']);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(new RegExp(`zonescope ${cmd}`));
    expect(String(r.stdout)).toMatch(/--\w|Usage:/);
  });

  it.each([
    [['start', '--bogus'], /start: .*bogus/],
    [['server', '--port', 'eighty'], /--port: 'eighty' is not a port/],
    [['server', '--max-history-points', '0'], /--max-history-points: '0' is not a whole number of at least 1/],
    [['server', '--history-flush', '500ms'], /--history-flush: '500ms' is shorter than a second/],
    [['server', '--history-flush', '2h'], /--history-flush: '2h' is out of range \(0, 3600s\]/],
    [['server', '--trust-proxy', 'true'], /--trust-proxy: 'true' is not an address, a CIDR/],
    [['server', '--trust-proxy', '10.0.0.0/33'], /--trust-proxy: '10.0.0.0\/33' is not an address, a CIDR/],
    [['agent', '--token', 't'], /--server URL is required/],
    [['agent', '--server', 'http://x', '--token', 't', '--interval', 'soon'], /--interval: 'soon' is not a duration/],
    [['agent', '--server', 'http://x', '--token', 't', '--platform', 'windows'], /--platform must be linux or illumos/],
    [['agent', '--server', 'http://x'], /--token-file F is required \(or ZONESCOPE_TOKEN\)/],
    [['agent', '--server', 'http://x', '--token-file', '/nonexistent/agent.token'], /--token-file \/nonexistent\/agent.token: no such file/],
    [['token', 'create', '--role', 'viewer', '--node', 'cn1'], /--node is for agent tokens/],
    [['token', 'create', '--role', 'root'], /--role must be one of agent, metrics, viewer, operator, admin/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('%j fails with one line and exit 2', async (args, says) => {
    const r = await zonescope(args as string[]);
    expect(r.exitCode).toBe(2);
    const err = String(r.stderr).trim();
    expect(err).toMatch(says);
    expect(err.split('\n')).toHaveLength(1);
  });
});
