// What the fleet knows of a node's data health: each sampler that failed (count, last message,
// since when, whether it still fails), what interrupted the samples (for the charts' gaps), and
// host points kept as the global zone's history (its load, network, disk and ARC charts).
import { describe, expect, it } from 'vitest';
import { Fleet, DEFAULT_FLEET } from '../../server/fleet.js';
import { PROTOCOL_VERSION, type Point, type Samples } from '../../protocol/messages.js';
import { helloFrame } from '../helpers/frames.js';

const frame = (seq: number, time: number, errors: { sampler: string; message: string }[] = [], points: Point[] = []): Samples => ({
  v: PROTOCOL_VERSION,
  type: 'samples',
  seq,
  time,
  points: [{ f: 'zone_pids', l: { zone: 'web' }, v: seq }, ...points],
  errors,
});

const fleetWithNode = () => {
  const fleet = new Fleet(DEFAULT_FLEET);
  fleet.connect(helloFrame('n'), { epoch: 1, last: 0, received: 0, gaps: 0 });
  return fleet;
};

describe('node health', () => {
  it('counts a failing sampler, keeps its last message and since when, and clears it when two frames in a row come without it', () => {
    const fleet = fleetWithNode();
    const changes: number[] = [];
    fleet.on('change', () => changes.push(1));
    fleet.addSamples('n', frame(1, 1000, [{ sampler: 'zfs', message: 'zfs: exit 1' }]), 1000);
    fleet.addSamples('n', frame(2, 2000, [{ sampler: 'zfs', message: 'zfs: timed out' }]), 2000);
    const issue = fleet.nodes.get('n')!.samplerIssues.get('zfs')!;
    expect(issue).toMatchObject({ sampler: 'zfs', count: 2, message: 'zfs: timed out', since: 1000, last: 2000, failing: true });
    // only the start of the failure is a change of the fleet (the fleet page's push)
    expect(changes).toHaveLength(1);
    fleet.addSamples('n', frame(3, 3000), 3000);
    expect(issue.failing).toBe(true);
    fleet.addSamples('n', frame(4, 4000), 4000);
    expect(issue.failing).toBe(false);
    expect(changes).toHaveLength(2);
    // failing again: since restarts, the count goes on
    fleet.addSamples('n', frame(5, 5000, [{ sampler: 'zfs', message: 'again' }]), 5000);
    expect(issue).toMatchObject({ count: 3, since: 5000, failing: true });
  });

  it('a sampler backing off is still failing in the rounds it skips', () => {
    const fleet = fleetWithNode();
    fleet.addSamples('n', frame(1, 1000, [{ sampler: 'kstat', message: 'timed out 2 rounds in a row' }]), 1000);
    fleet.addSamples('n', frame(2, 2000, [], [{ f: 'agent_sampler_backoff_seconds', l: { sampler: 'kstat' }, v: 3 }]), 2000);
    expect(fleet.nodes.get('n')!.samplerIssues.get('kstat')!.failing).toBe(true);
    for (const s of [3, 4]) fleet.addSamples('n', frame(s, s * 1000, [], [{ f: 'agent_sampler_backoff_seconds', l: { sampler: 'kstat' }, v: 0 }]), s * 1000);
    expect(fleet.nodes.get('n')!.samplerIssues.get('kstat')!.failing).toBe(false);
  });

  it('records what interrupted the samples: errors, frames that never came, the agent going away', () => {
    const fleet = fleetWithNode();
    fleet.addSamples('n', frame(1, 1000), 1000);
    fleet.addSamples('n', frame(4, 4000, [{ sampler: 'cpu', message: 'kstat: exit 3' }]), 4000);
    fleet.disconnect('n');
    const events = fleet.nodes.get('n')!.events;
    expect(events.map((e) => [e.kind, e.message])).toEqual([
      ['frames-missing', "2 sample frames never arrived (dropped from the agent's buffer)"],
      ['sampler-error', 'sampler cpu failed: kstat: exit 3'],
      ['disconnected', 'agent disconnected'],
    ]);
    for (let s = 5; s < 1000; s++) fleet.addSamples('n', frame(s, s * 1000, [{ sampler: 'cpu', message: 'x' }]), s * 1000);
    expect(events.length).toBeLessThanOrEqual(500);
  });

  it("keeps the host's load, network, disk and ARC as the global zone's history, not its other host points", () => {
    const fleet = fleetWithNode();
    fleet.addSamples('n', frame(1, 1000, [], [
      { f: 'node_load1', l: {}, v: 1.5 },
      { f: 'node_net_receive_bytes_total', l: { device: 'eth0' }, v: 10 },
      { f: 'zfs_arc_size_bytes', l: {}, v: 5 },
      { f: 'node_memory_total_bytes', l: {}, v: 99 },
    ]), 1000);
    const cols = fleet.nodes.get('n')!.history.columns('global', 0);
    expect(Object.keys(cols.series).sort()).toEqual(['node_load1{}', 'node_net_receive_bytes_total{device="eth0"}', 'zfs_arc_size_bytes{}']);
    expect(cols.series['node_load1{}']).toEqual([1.5]);
  });
});
