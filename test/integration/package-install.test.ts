// What an operator installs: `npm pack` → `npm install -g` into a fresh prefix → the installed
// `zonescope` answers --help and `zonescope start` serves the UI, its metrics and a local
// agent. The deployment files ship in the package: the systemd units pass
// `systemd-analyze verify` against the installed binary, the SMF manifests are well-formed.
import { execa } from 'execa';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, ROOT, tempDir, until } from '../helpers/cli.js';
import { TEST_ENV } from '../helpers/procs.js';

const work = tempDir('zonescope-pkg-');
const prefix = join(work, 'prefix');
const bin = join(prefix, 'bin', 'zonescope');
const installed = join(prefix, 'lib', 'node_modules', 'zonescope');
let files: string[] = [];

beforeAll(async () => {
  // dist/ is fresh: the suite's setup ran tsc and `npm ci` built the UI
  const pack = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  const [info] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
  files = info.files.map((f) => f.path);
  const t0 = Date.now();
  // dependencies come from npm's cache where it has them; better-sqlite3 builds here
  await execa('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(work, info.filename)], { cwd: work, env: TEST_ENV });
  console.log(`npm install -g of the packed tarball: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 600_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the installed package', () => {
  it('holds the compiled code, the UI, the catalog and the deploy files, and no sources or tests', () => {
    for (const f of ['dist/cli/main.js', 'dist/web/index.html', 'scripts/cpu-profile.bt', 'scripts/cpu-profile.d', 'scripts/cpu-profile.json', 'server/deploy/systemd/zonescope-agent.service', 'server/deploy/smf/zonescope-agent.xml'])
      expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith('test/') || f.endsWith('.ts') || f.startsWith('web/src'))).toEqual([]);
  });

  it('answers --help from the PATH it was installed to', async () => {
    const r = await execa(bin, ['--help'], { env: TEST_ENV });
    expect(r.stdout).toMatch(/^zonescope 0\.\d+\.\d+ — per-zone observability/);
    expect(r.stdout).toContain('start     run a server and a local agent');
  });

  it('runs `zonescope start`: UI, health, metrics with its own node', async () => {
    const port = await freePort();
    const data = join(work, 'data');
    const proc = execa(bin, ['start', '--port', String(port), '--data', data, '--interval', '1'], { env: TEST_ENV, reject: false, all: true, cwd: work });
    try {
      const base = `http://127.0.0.1:${port}`;
      await until('the server answers', async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok, 30_000);
      expect(await (await fetch(`${base}/`)).text()).toMatch(/<html/i);
      // the agent says hello, then its zones once it has found them
      await until('the local agent up with its global zone', async () => {
        const t = await (await fetch(`${base}/metrics`)).text();
        return /zonescope_agent_up\{node="[^"]+"\} 1/.test(t) && /zonescope_zone_info\{node="[^"]+",zone="global"/.test(t);
      }, 30_000);
      expect(existsSync(join(data, 'admin.token'))).toBe(true);
    } finally {
      proc.kill('SIGTERM');
      await proc;
    }
  }, 90_000);

  it('ships systemd units that systemd-analyze verifies against the installed binary', async () => {
    const units = readdirSync(join(installed, 'server/deploy/systemd'));
    expect(units.sort()).toEqual(['zonescope-agent.service', 'zonescope-server.service']);
    for (const u of units) {
      const path = join(work, u);
      writeFileSync(path, readFileSync(join(installed, 'server/deploy/systemd', u), 'utf8').replaceAll('/usr/local/bin/zonescope', bin));
      const r = await execa('systemd-analyze', ['verify', path], { reject: false });
      expect(`${r.exitCode} ${r.stderr}`.trim(), u).toBe('0');
    }
  });

  it('ships SMF manifests that are well-formed service bundles with start and stop methods', async () => {
    for (const svc of ['agent', 'server']) {
      const path = join(installed, `server/deploy/smf/zonescope-${svc}.xml`);
      const r = await execa('xmllint', ['--noout', path], { reject: false });
      expect(r.stderr, path).toBe('');
      const xpath = async (q: string) => (await execa('xmllint', ['--xpath', q, path])).stdout.trim();
      expect(await xpath('string(/service_bundle/service/@name)')).toBe(`application/zonescope/${svc}`);
      expect(await xpath('string(//exec_method[@name="start"]/@exec)')).toMatch(new RegExp(`^/opt/local/bin/zonescope ${svc} `));
      expect(await xpath('string(//exec_method[@name="stop"]/@exec)')).toBe(':kill');
    }
    // the agent's token comes from a file, never from argv
    expect(readFileSync(join(installed, 'server/deploy/smf/zonescope-agent.xml'), 'utf8')).toContain('--token-file %{config/token_file}');
  });
});
