// The Grafana dashboard and the example Prometheus config in server/deploy/: the dashboard
// parses, every expression names only metrics zonescope exposes (read from the exposition
// itself, the always-on histograms and the server's own registry, not from a list kept here),
// counters are only ever rated, the PromQL parses (promtool), and the config is valid.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fleet } from '../../server/fleet.js';
import { renderFleet } from '../../server/exposition.js';
import { serverMetrics } from '../../server/metrics.js';
import { EXPORTS } from '../../server/always-on.js';
import { FAMILIES, PREFIX } from '../../protocol/families.js';

const DEPLOY = fileURLToPath(new URL('../../server/deploy/', import.meta.url));
const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana/zonescope-zones.json'), 'utf8'));

interface Target { expr: string; format?: string; datasource?: { uid: string } }
interface Panel { type: string; title: string; datasource?: { uid: string }; targets?: Target[]; gridPos: { x: number; y: number; w: number; h: number } }
interface Variable { name: string; type: string; query: string | { query: string } }

const panels: Panel[] = dashboard.panels.filter((p: Panel) => p.type !== 'row');
const vars: Variable[] = dashboard.templating.list;
const varQuery = (v: Variable) => (typeof v.query === 'string' ? v.query : v.query.query);
const exprs: string[] = [...panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...vars.filter((v) => v.type === 'query').map(varQuery)];

/** metric name → Prometheus type, for everything a zonescope server or agent exposes */
function exposed(): Map<string, string> {
  const types = new Map<string, string>();
  const fleet = new Fleet();
  fleet.connect({ v: 1, type: 'hello', node: 'n', hostname: 'n', platform: 'linux', simulated: false, tracer: { name: 'bpftrace', available: true },
    capabilities: [], agentVersion: 't', epoch: 1, intervalS: 1, dropped: 0 }, { epoch: 1, last: 0, received: 0, gaps: 0 });
  fleet.setZones('n', [{ name: 'z', brand: 'cgroup', state: 'running' }]);
  fleet.addSamples('n', { v: 1, type: 'samples', seq: 1, time: Date.now(), errors: [],
    points: Object.keys(FAMILIES).map((f) => ({ f, l: { zone: 'z' }, v: 1 })) });
  fleet.seriesDropped.set('zone_pids', 1);
  for (const m of renderFleet(fleet).matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1], m[2]);
  for (const e of Object.values(EXPORTS)) {
    types.set(`${e.name}_bucket`, 'counter');
    types.set(`${e.name}_sum`, 'counter');
    types.set(`${e.name}_count`, 'counter');
  }
  for (const m of serverMetrics().registry.getMetricsAsArray()) types.set(m.name, m.type === 'counter' ? 'counter' : 'gauge');
  return types;
}

describe('Grafana dashboard server/deploy/grafana/zonescope-zones.json', () => {
  const types = exposed();

  it('has a Prometheus datasource variable, and node and zone variables from label_values', () => {
    const byName = new Map(vars.map((v) => [v.name, v]));
    expect(byName.get('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(varQuery(byName.get('node')!)).toMatch(/^label_values\(zonescope_\w+, node\)$/);
    expect(varQuery(byName.get('zone')!)).toMatch(/^label_values\(zonescope_\w+\{node=~"\$node"\}, zone\)$/);
    // every panel and query goes through the chosen datasource
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      for (const t of p.targets ?? []) expect(t.datasource?.uid, p.title).toBe('${datasource}');
    }
  });

  it('names only metrics zonescope exposes', () => {
    expect(types.get(`${PREFIX}zone_cpu_seconds_total`)).toBe('counter');
    const unknown = exprs.flatMap((e) => [...e.matchAll(/\bzonescope_\w+/g)].map((m) => m[0])).filter((n) => !types.has(n));
    expect(unknown).toEqual([]);
  });

  it('only ever rates counters, never graphs their raw totals', () => {
    const raw: string[] = [];
    for (const e of exprs) {
      if (e.startsWith('label_values(')) continue;
      for (const m of e.matchAll(/\b(zonescope_\w+)(\{[^}]*\})?(\[[^\]]+\])?/g)) {
        if (types.get(m[1]) === 'counter' && !m[3]) raw.push(`${m[1]} in ${e}`);
      }
    }
    expect(raw).toEqual([]);
  });

  it('uses only variables it defines (or Grafana\'s own)', () => {
    const defined = new Set([...vars.map((v) => v.name), '__rate_interval', '__interval', '__range']);
    const used = exprs.flatMap((e) => [...e.matchAll(/\$\{?(\w+)/g)].map((m) => m[1]));
    expect(used.filter((u) => !defined.has(u))).toEqual([]);
  });

  it('holds the panels the issue asks for', () => {
    const uses = (re: RegExp) => panels.filter((p) => (p.targets ?? []).some((t) => re.test(t.expr)));
    expect(uses(/rate\(zonescope_zone_cpu_seconds_total\b/).length).toBeGreaterThan(0);
    const memory = uses(/zonescope_zone_memory_limit_bytes/).filter((p) => uses(/zonescope_zone_memory_rss_bytes/).includes(p));
    expect(memory.length, 'memory against its limit in one panel').toBeGreaterThan(0);
    expect(uses(/rate\(zonescope_zone_memory_over_limit_total/).length).toBeGreaterThan(0);
    expect(uses(/rate\(zonescope_zone_memory_pagedout_bytes_total/).length).toBeGreaterThan(0);
    expect(uses(/rate\(zonescope_zone_vfs_read_bytes_total/).filter((p) => uses(/zonescope_zone_vfs_written_bytes_total/).includes(p)).length).toBeGreaterThan(0);
    expect(uses(/by \(over\) \(rate\(zonescope_zone_vfs_ops_over_total/).length).toBeGreaterThan(0);
    expect(uses(/zonescope_zfs_dataset_quota_bytes/).filter((p) => uses(/zonescope_zfs_dataset_used_bytes/).includes(p)).length).toBeGreaterThan(0);
    expect(uses(/rate\(zonescope_zone_net_receive_bytes_total/).length).toBeGreaterThan(0);
    const heatmap = panels.find((p) => p.type === 'heatmap');
    expect(heatmap?.targets).toEqual([expect.objectContaining({ format: 'heatmap', expr: expect.stringMatching(/^sum by \(le\) \(rate\(zonescope_syscall_latency_seconds_bucket\{/) })]);
  });

  it('lays panels out without overlapping', () => {
    const cells = new Map<string, string>();
    for (const p of dashboard.panels as Panel[]) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const k = `${x},${y}`;
          expect(cells.get(k), `${p.title} overlaps ${cells.get(k)}`).toBeUndefined();
          cells.set(k, p.title);
        }
      }
    }
  });

  it('has expressions that Prometheus parses (promtool check rules)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zs-dash-'));
    const rules = exprs.filter((e) => !e.startsWith('label_values(')).map((e, i) =>
      `      - record: zonescope:dashboard:${i}\n        expr: ${JSON.stringify(e.replaceAll('$__rate_interval', '1m').replaceAll('$node', '.+').replaceAll('$zone', '.+'))}\n`);
    const file = join(dir, 'rules.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('')}`);
    const r = await execa('promtool', ['check', 'rules', file], { reject: false });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain(`${rules.length} rules found`);
  });
});

describe.each(['prometheus.example.yml', 'prometheus.sharded.example.yml'])('server/deploy/%s', (name) => {
  it('is a valid Prometheus config discovering targets through /sd', async () => {
    const file = join(DEPLOY, name);
    const r = await execa('promtool', ['check', 'config', file], { reject: false });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/http_sd_configs:\n\s+- url: http:\/\/\S+\/sd\n/);
  });
});
