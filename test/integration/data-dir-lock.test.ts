// One server per data directory: a second `zonescope server` on the same --data refuses to
// start and names the first; a lock left by a server killed with -9 does not block the next.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnZonescope, stopAll, tempDir, zonescope } from '../helpers/cli.js';

const data = tempDir('zonescope-lock-');
afterAll(async () => {
  await stopAll();
  rmSync(data, { recursive: true, force: true });
});

async function serverOn(port: number) {
  const s = spawnZonescope(['server', '--data', data, '--port', String(port), '--host', '127.0.0.1']);
  await s.waitFor(/zonescope is up/);
  return s;
}

describe('data directory lock', () => {
  it('refuses a second server on the same directory, naming the first', async () => {
    const first = await serverOn(await freePort());
    expect(readFileSync(join(data, 'server.pid'), 'utf8').trim()).toBe(String(first.pid));
    const second = await zonescope(['server', '--data', data, '--port', String(await freePort()), '--host', '127.0.0.1']);
    expect(second.exitCode).toBe(1);
    expect(second.stderr).toContain(`in use by another zonescope server (pid ${first.pid}`);
    expect(second.stderr).toContain(join(data, 'server.pid'));
    // the first is untouched by the attempt
    expect(readFileSync(join(data, 'server.pid'), 'utf8').trim()).toBe(String(first.pid));
    await first.stop();
    expect(existsSync(join(data, 'server.pid'))).toBe(false);
  });

  it('takes over the lock of a server that was killed', async () => {
    const dead = await serverOn(await freePort());
    dead.kill9();
    await dead.proc;
    expect(existsSync(join(data, 'server.pid'))).toBe(true);
    const next = await serverOn(await freePort());
    expect(readFileSync(join(data, 'server.pid'), 'utf8').trim()).toBe(String(next.pid));
    await next.stop();
  });
});
