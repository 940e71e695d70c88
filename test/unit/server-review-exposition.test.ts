// The fleet's exposition never names one series twice: a frame that repeats a series, or whose
// points differ only in a label the server drops (`node`, which it sets itself, or an invalid
// name), would otherwise give Prometheus duplicate samples for one timestamp.
import { describe, expect, it } from 'vitest';
import { Fleet } from '../../server/fleet.js';
import { renderFleet } from '../../server/exposition.js';
import { PROTOCOL_VERSION, type Hello } from '../../protocol/messages.js';

const hello: Hello = {
  v: PROTOCOL_VERSION, type: 'hello', node: 'cn1', hostname: 'cn1', platform: 'linux', simulated: false,
  tracer: { name: 'bpftrace', available: false }, capabilities: [], agentVersion: 't', epoch: 1, intervalS: 10, dropped: 0,
};

describe('fleet exposition', () => {
  it('exposes each series once, the first value a frame gives it', () => {
    const fleet = new Fleet();
    fleet.connect(hello, { epoch: 1, last: 0, received: 0, gaps: 0 });
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
