// A tenant's /metrics is cut from each node's pre-rendered text by the zone label: only its
// zones' series come through, whatever another label's value holds.
import { describe, expect, it } from 'vitest';
import { Fleet } from '../../server/fleet.js';
import { renderTenant } from '../../server/exposition.js';
import type { Hello, Zone } from '../../protocol/messages.js';

const hello = { v: 1, type: 'hello', node: 'cn1', hostname: 'cn1', platform: 'illumos', agentVersion: 't', epoch: 1, intervalS: 10, simulated: true, tracer: { name: 'dtrace', available: true }, capabilities: [], dropped: 0 } as unknown as Hello;

describe('renderTenant', () => {
  it('keeps only the series of the given zones, and none of the node\'s own', () => {
    const fleet = new Fleet();
    fleet.connect(hello, { epoch: 1, last: 0, received: 0, gaps: 0 });
    const zones: Zone[] = [
      { name: 'mine', brand: 'joyent', state: 'running', owner: 'a' },
      { name: 'theirs', brand: 'joyent', state: 'running', owner: 'b' },
    ];
    fleet.setZones('cn1', zones);
    fleet.addSamples('cn1', {
      v: 1, type: 'samples', seq: 1, time: Date.now(), errors: [],
      points: [
        { f: 'zone_cpu_seconds_total', l: { zone: 'mine', mode: 'user' }, v: 1 },
        { f: 'zone_cpu_seconds_total', l: { zone: 'theirs', mode: 'user' }, v: 2 },
        // hostile: another label's value that reads like the zone label
        { f: 'zone_cpu_seconds_total', l: { mode: 'x",zone="mine', zone: 'theirs' }, v: 3 },
        { f: 'zone_memory_rss_bytes', l: { alias: ',zone="mine"', zone: 'theirs' }, v: 4 },
        { f: 'node_cpu_seconds_total', l: { mode: 'user' }, v: 5 },
      ],
    } as never);
    const n = fleet.nodes.get('cn1')!;
    const text = renderTenant([{ node: n, zones: [zones[0]] }]);
    const series = text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(series).toEqual([
      'zonescope_zone_info{node="cn1",zone="mine",alias="",brand="joyent",state="running"} 1',
      'zonescope_zone_cpu_seconds_total{node="cn1",zone="mine",mode="user"} 1',
    ]);
    expect(renderTenant([{ node: n, zones: [] }]).split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([]);
  });
});
