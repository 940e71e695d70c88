// The fleet's Prometheus exposition as a scrape sees it, built through the real Fleet API from
// synthetic hello/zones/samples frames: staleness (zones and nodes that go away), the
// per-family series cap, label escaping, and promtool finding nothing to say.
import { describe, it, expect } from 'vitest';
import { execa } from 'execa';
import { Fleet, DEFAULT_FLEET, type FleetOptions } from '../../server/fleet.js';
import { renderFleet } from '../../server/exposition.js';
import { FAMILIES } from '../../protocol/families.js';
import { PROTOCOL_VERSION, type Hello, type Point, type Zone } from '../../protocol/messages.js';

const hello = (node: string, epoch = 1): Hello => ({
  v: 1, type: 'hello', node, hostname: node, platform: 'illumos', simulated: false,
  tracer: { name: 'dtrace', available: true }, capabilities: [], agentVersion: '0.1.0', epoch, intervalS: 10, dropped: 0,
});
const zone = (name: string, alias?: string): Zone => ({ name, brand: 'joyent', state: 'running', ...(alias !== undefined ? { alias } : {}) });

/** One point for every family, with the labels the samplers give it. */
function everyFamily(zones: Zone[]): Point[] {
  const pts: Point[] = [];
  let v = 1;
  const add = (f: string, l: Record<string, string>) => pts.push({ f, l, v: f.endsWith('_ratio') ? 0.25 : (v += 1021) });
  for (const f of Object.keys(FAMILIES)) {
    if (f.startsWith('zone_')) {
      for (const z of zones) {
        const l: Record<string, string> = z.alias ? { zone: z.name, alias: z.alias } : { zone: z.name };
        if (f === 'zone_cpu_seconds_total') for (const mode of ['user', 'system']) add(f, { ...l, mode });
        else if (f === 'zone_vfs_ops_over_total') for (const over of ['0.01', '0.1', '1', '10']) add(f, { ...l, over });
        else if (f.startsWith('zone_net_')) add(f, { ...l, interface: 'net0' });
        else add(f, l);
      }
    } else if (f.startsWith('zfs_dataset_')) {
      for (const z of zones) add(f, { zone: z.name, dataset: `zones/${z.name}` });
    } else if (f === 'zpool_health') add(f, { pool: 'zones', state: 'ONLINE' });
    else if (f.startsWith('zpool_')) add(f, { pool: 'zones' });
    else if (f.startsWith('agent_')) add(f, { sampler: 'kstat' });
    else if (f === 'node_cpu_seconds_total') for (const mode of ['user', 'system', 'idle']) add(f, { cpu: '0', mode });
    else if (f.startsWith('node_net_')) add(f, { interface: 'ixgbe0' });
    else if (f.startsWith('node_disk_')) add(f, { device: 'sd0' });
    else add(f, {});
  }
  return pts;
}

class Agent {
  seq = 0;
  constructor(readonly fleet: Fleet, readonly node: string, epoch = 1) {
    fleet.connect(hello(node, epoch), { epoch, last: 0, received: 0, gaps: 0 });
  }
  send(zones: Zone[], points: Point[] = everyFamily(zones)) {
    this.fleet.setZones(this.node, zones);
    this.fleet.addSamples(this.node, { v: 1, type: 'samples', seq: ++this.seq, time: Date.now() + this.seq, points, errors: [] });
  }
}

const fleetOf = (o: Partial<FleetOptions> = {}) => new Fleet({ ...DEFAULT_FLEET, ...o });
const sampleLines = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
const value = (text: string, series: string) => {
  const line = sampleLines(text).find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

async function promtool(text: string): Promise<string> {
  const r = await execa('promtool', ['check', 'metrics'], { input: text, reject: false });
  return `${r.stdout}${r.stderr}`.trim() + (r.exitCode ? `\n(exit ${r.exitCode})` : '');
}

describe('fleet exposition', () => {
  it('drops a zone that left the zones and samples at the next frame', () => {
    const fleet = fleetOf();
    const a = new Agent(fleet, 'cn1');
    a.send([zone('web'), zone('db')]);
    let text = renderFleet(fleet);
    expect(text).toContain('zonescope_zone_info{node="cn1",zone="db",');
    expect(text).toMatch(/zonescope_zone_memory_rss_bytes\{node="cn1",zone="db"\} \d/);

    a.send([zone('web')]);
    text = renderFleet(fleet);
    expect(text).not.toContain('zone="db"');
    expect(text).not.toContain('dataset="zones/db"');
    expect(text).toMatch(/zonescope_zone_memory_rss_bytes\{node="cn1",zone="web"\} \d/);
  });

  it('keeps only zonescope_agent_up 0 for a disconnected node, and brings it back on reconnect', () => {
    const fleet = fleetOf();
    new Agent(fleet, 'cn1').send([zone('web')]);
    new Agent(fleet, 'cn2').send([zone('web')]);
    fleet.disconnect('cn1');

    const text = renderFleet(fleet);
    expect(sampleLines(text).filter((l) => l.includes('node="cn1"'))).toEqual(['zonescope_agent_up{node="cn1"} 0']);
    expect(value(text, 'zonescope_agent_up{node="cn2"}')).toBe(1);
    expect(text).toMatch(/zonescope_zone_cpu_seconds_total\{node="cn2",zone="web",mode="user"\} \d/);
    // the per-node target /sd hands out (/metrics?node=cn1) says the same
    expect(sampleLines(renderFleet(fleet, 'cn1'))).toEqual(['zonescope_agent_up{node="cn1"} 0']);

    // a restarted agent (new epoch) starts from what it sends, not from the old frame
    const again = new Agent(fleet, 'cn1', 2);
    expect(sampleLines(renderFleet(fleet, 'cn1')).filter((l) => l.startsWith('zonescope_zone_memory_rss_bytes'))).toEqual([]);
    again.send([zone('api')]);
    const back = renderFleet(fleet, 'cn1');
    expect(value(back, 'zonescope_agent_up{node="cn1"}')).toBe(1);
    expect(back).toContain('zone="api"');
    expect(back).not.toContain('zone="web"');
  });

  it('caps series per family and node, exposes the first ones and counts the rest in zonescope_series_dropped_total', async () => {
    const fleet = fleetOf({ maxSeriesPerFamily: 5 });
    const nics = (z: string) => Array.from({ length: 8 }, (_, i): Point => ({ f: 'zone_net_receive_bytes_total', l: { zone: z, interface: `net${i}` }, v: i * 100 }));
    const a = new Agent(fleet, 'cn1');
    const b = new Agent(fleet, 'cn2');
    a.send([zone('web')], [...nics('web'), { f: 'zone_memory_rss_bytes', l: { zone: 'web' }, v: 4096 }]);
    b.send([zone('web')], nics('web'));

    let text = renderFleet(fleet);
    const rx = (node: string) => sampleLines(text).filter((l) => l.startsWith(`zonescope_zone_net_receive_bytes_total{node="${node}"`));
    expect(rx('cn1')).toHaveLength(5);
    expect(rx('cn2')).toHaveLength(5);
    expect(rx('cn1').map((l) => /interface="(\w+)"/.exec(l)?.[1])).toEqual(['net0', 'net1', 'net2', 'net3', 'net4']);
    expect(value(text, 'zonescope_zone_memory_rss_bytes{node="cn1",zone="web"}')).toBe(4096);
    expect(value(text, 'zonescope_series_dropped_total{family="zone_net_receive_bytes_total"}')).toBe(6);
    expect(text).not.toMatch(/series_dropped_total\{family="zone_memory_rss_bytes"\}/);

    // a counter: every frame that goes over adds what it dropped
    a.send([zone('web')], nics('web'));
    text = renderFleet(fleet);
    expect(value(text, 'zonescope_series_dropped_total{family="zone_net_receive_bytes_total"}')).toBe(9);
    expect(await promtool(text)).toBe('');
  });

  it('escapes quotes, backslashes and newlines in label values so promtool accepts them', async () => {
    const fleet = fleetOf();
    const nasty = 'say "hi"\\back\nslash';
    const a = new Agent(fleet, 'cn1');
    const z = zone('web', nasty);
    a.send([z], [
      { f: 'zone_memory_rss_bytes', l: { zone: 'web', alias: nasty }, v: 1 },
      // names Prometheus cannot take, and labels that would forge node or a reserved one, are dropped
      { f: 'zone_pids', l: { zone: 'web', 'bad-name': 'x', node: 'forged', __name__: 'x' }, v: 3 },
    ]);
    const text = renderFleet(fleet);
    expect(text).toContain('zonescope_zone_memory_rss_bytes{node="cn1",zone="web",alias="say \\"hi\\"\\\\back\\nslash"} 1\n');
    expect(text).toContain('zonescope_zone_info{node="cn1",zone="web",alias="say \\"hi\\"\\\\back\\nslash",');
    expect(text).toContain('zonescope_zone_pids{node="cn1",zone="web"} 3\n');
    expect(await promtool(text)).toBe('');
  });

  it('exports no value for a non-number and counts points of unknown families instead of exposing them', () => {
    const fleet = fleetOf();
    const a = new Agent(fleet, 'cn1');
    a.send([zone('web')], [
      { f: 'zone_pids', l: { zone: 'web' }, v: Number.NaN },
      { f: 'zone_load1', l: { zone: 'web' }, v: 0.5 },
      { f: 'made_up_family', l: {}, v: 1 },
    ]);
    const text = renderFleet(fleet);
    expect(text).not.toContain('zonescope_zone_pids');
    expect(text).not.toContain('made_up_family');
    expect(value(text, 'zonescope_zone_load1{node="cn1",zone="web"}')).toBe(0.5);
    expect(fleet.unknownFamilyPoints).toBe(1);
  });

  it('passes promtool check metrics for several nodes and zones with every family', async () => {
    const fleet = fleetOf();
    for (const n of ['cn1', 'cn2', 'cn3']) new Agent(fleet, n).send([zone('global'), zone('0f6c2e8a-1b1c-4c55-a1d1-6f5b2f8b9a01', 'web-1'), zone('db', ''), zone('cache', 'cache "primary"')]);
    new Agent(fleet, 'gone').send([zone('web')]);
    fleet.disconnect('gone');
    const text = renderFleet(fleet);
    for (const [name, fam] of Object.entries(FAMILIES)) {
      expect(text, name).toContain(`# HELP zonescope_${name} `);
      expect(text, name).toContain(`# TYPE zonescope_${name} ${fam.type}\n`);
      expect(text, name).toMatch(new RegExp(`^zonescope_${name}\\{node="cn3"[,}]`, 'm'));
    }
    // every series once: a duplicate would make Prometheus reject the whole scrape
    const series = sampleLines(text).map((l) => l.slice(0, l.lastIndexOf(' ')));
    expect(new Set(series).size).toBe(series.length);
    expect(await promtool(text)).toBe('');
  });
});

// The fleet's exposition never names one series twice: a frame that repeats a series, or whose
// points differ only in a label the server drops (`node`, which it sets itself, or an invalid
// name), would otherwise give Prometheus duplicate samples for one timestamp.
describe('fleet exposition: one series once', () => {
  it('exposes each series once, the first value a frame gives it', () => {
    const fleet = new Fleet();
    fleet.connect(hello('cn1'), { epoch: 1, last: 0, received: 0, gaps: 0 });
    fleet.addSamples('cn1', {
      v: PROTOCOL_VERSION, type: 'samples', seq: 1, time: Date.now(), errors: [],
      points: [
        { f: 'zone_memory_rss_bytes', l: { zone: 'web' }, v: 100 },
        { f: 'zone_memory_rss_bytes', l: { zone: 'web' }, v: 200 },
        { f: 'zone_memory_rss_bytes', l: { zone: 'web', node: 'spoofed' }, v: 300 },
        { f: 'zone_memory_rss_bytes', l: { zone: 'web', 'bad-name': 'x' }, v: 400 },
        { f: 'zone_memory_rss_bytes', l: { zone: 'db' }, v: 500 },
      ],
    });
    const lines = renderFleet(fleet).split('\n').filter((l) => l.startsWith('zonescope_zone_memory_rss_bytes{'));
    expect(lines).toEqual(['zonescope_zone_memory_rss_bytes{node="cn1",zone="web"} 100', 'zonescope_zone_memory_rss_bytes{node="cn1",zone="db"} 500']);
  });
});
