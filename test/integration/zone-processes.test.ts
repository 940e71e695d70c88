// "Which process of the zone holds the memory": asked of the agent through the API, on this
// Linux host (a real cgroup zone with a process holding 64 MiB) and on a simulated SmartOS node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa, type ResultPromise } from 'execa';
import { buildApp, type App } from '../../server/app.js';
import { createToken } from '../../server/auth.js';
import { FAKES, spawnZonescope, stopAll, tempDir, until } from '../helpers/cli.js';
import { TEST_ENV } from '../helpers/procs.js';
import { makeTestZone, type TestZone } from '../helpers/zone.js';

interface Listing {
  previous?: number;
  processes: { pid: number; comm: string; args: string; rssBytes: number; rssDeltaBytes?: number }[];
}

describe('zone processes', () => {
  let srv: App;
  let base: string;
  let viewer: string;
  let zone: TestZone;
  let holder: ResultPromise | undefined;
  let secretHolder: ResultPromise | undefined;
  let agent: string;
  const linuxNode = `it-procs-${process.pid}`;
  const smartNode = `it-procs-sim-${process.pid}`;
  const get = (path: string) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${viewer}` } });

  beforeAll(async () => {
    zone = await makeTestZone(`zs-procs-${process.pid}`);
    // touches 64 MiB after it joins the zone, then waits
    // each line on stdin: touch 64 MiB more and keep it
    holder = execa('node', ['-e', `globalThis.held = []; process.stdin.on('data', () => { held.push(Buffer.alloc(64 * 1048576, 1)); console.log('held'); }); setInterval(() => {}, 1000);`], {
      env: TEST_ENV,
      reject: false,
      buffer: false,
      stdin: 'pipe',
    });
    await zone.addPid(holder.pid!);
    holder.stdin!.write('go\n');
    await new Promise<void>((ok) => holder!.stdout!.once('data', () => ok()));
    srv = await buildApp({ dataDir: tempDir() });
    await srv.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(srv.app.server.address() as { port: number }).port}`;
    viewer = createToken(srv.ctx.store, 'viewer', 'v').token;
    agent = createToken(srv.ctx.store, 'agent', 'a').token;
    // a process whose command line carries credentials the way people write them
    secretHolder = execa('node', ['-e', 'setInterval(() => {}, 1000)', '--', 'curl', '-H', 'Authorization: Bearer zs_viewer_SECRETVIEWER', 'DB_PASSWORD=hunter2'], { env: TEST_ENV, reject: false, buffer: false });
    spawnZonescope(['agent', '--server', base, '--token', agent, '--node', linuxNode, '--interval', '1']);
    spawnZonescope(['agent', '--server', base, '--token', agent, '--node', smartNode, '--interval', '1', '--platform', 'illumos'], { PATH: `${FAKES}:${process.env.PATH}`, ZONESCOPE_FAKE_STATE: tempDir() });
    await until('both nodes with zones', () => srv.ctx.fleet.nodes.get(linuxNode)?.zones.some((z) => z.name === zone.name) && (srv.ctx.fleet.nodes.get(smartNode)?.zones.length ?? 0) > 1, 30_000);
  }, 60_000);
  afterAll(async () => {
    secretHolder?.kill('SIGKILL');
    await secretHolder?.catch(() => undefined);
    holder?.kill('SIGKILL');
    await holder?.catch(() => undefined);
    await stopAll();
    await srv?.close();
    await zone?.destroy();
  });

  it('lists the Linux zone\'s own processes, the one holding 64 MiB first', async () => {
    const r = await get(`/api/nodes/${linuxNode}/zones/${zone.name}/processes`);
    expect(r.status).toBe(200);
    const { processes } = (await r.json()) as Listing;
    expect(processes[0].pid).toBe(holder!.pid);
    expect(processes[0].rssBytes).toBeGreaterThan(64 * 1048576);
    // only the zone's: the test runner and the agent are not in it
    expect(processes.map((p) => p.pid)).not.toContain(process.pid);

    // it grows by another 64 MiB: the next listing says who grew, and by how much
    holder!.stdin!.write('more\n');
    await new Promise<void>((ok) => holder!.stdout!.once('data', () => ok()));
    const again = (await (await get(`/api/nodes/${linuxNode}/zones/${zone.name}/processes`)).json()) as Listing;
    expect(again.previous).toBeGreaterThan(0);
    const grown = again.processes.find((p) => p.pid === holder!.pid)!;
    expect(grown.rssDeltaBytes).toBeGreaterThan(60 * 1048576);
    expect(grown.rssDeltaBytes).toBeLessThan(80 * 1048576);
  });

  it('lists a SmartOS zone\'s processes from ps -z, largest first, and refuses unknown zones', async () => {
    const zones = srv.ctx.fleet.nodes.get(smartNode)!.zones;
    const web = zones.find((z) => z.alias === 'web-frontend')!;
    const r = await get(`/api/nodes/${smartNode}/zones/${web.name}/processes?limit=3`);
    expect(r.status).toBe(200);
    const { processes } = (await r.json()) as Listing;
    expect(processes).toHaveLength(3);
    expect(processes[0].comm).toBe('node');
    expect(processes[0].rssBytes).toBeGreaterThan(processes[1].rssBytes);
    const u = await get(`/api/nodes/${smartNode}/zones/nope/processes`);
    expect(u.status).toBe(404);
    expect(((await u.json()) as { message: string }).message).toMatch(/unknown zone 'nope'/);
  });

  it('shows no credential from a command line: the agent\'s own --token, an Authorization header, a password', async () => {
    const r = await get(`/api/nodes/${linuxNode}/zones/global/processes?limit=1000`);
    expect(r.status).toBe(200);
    const { processes } = (await r.json()) as Listing;
    const text = JSON.stringify(processes);
    expect(processes.some((p) => p.pid === secretHolder!.pid)).toBe(true);
    // checked without printing the listing: on failure it would print the credentials
    expect(text.includes(agent), 'the agent token is shown').toBe(false);
    expect(text.includes('SECRETVIEWER'), 'the Authorization header is shown').toBe(false);
    expect(text.includes('hunter2'), 'the password is shown').toBe(false);
    expect(processes.find((p) => p.pid === secretHolder!.pid)!.args).toContain('Authorization: Bearer <redacted> DB_PASSWORD=<redacted>');
    expect(processes.some((p) => p.args.includes(`--node ${linuxNode}`) && p.args.includes('--token <redacted>'))).toBe(true);
  });
});
