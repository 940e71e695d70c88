// Agent frames for tests that play the agent themselves (raw WebSocket or the Fleet API).
import { PROTOCOL_VERSION, type Hello, type Point, type Samples } from '../../protocol/messages.js';

export function helloFrame(node: string, extra: Partial<Hello> = {}): Hello {
  return {
    v: PROTOCOL_VERSION,
    type: 'hello',
    node,
    hostname: node,
    platform: 'linux',
    simulated: false,
    tracer: { name: 'bpftrace', available: false },
    capabilities: ['samples'],
    agentVersion: 'test',
    epoch: 1,
    intervalS: 1,
    dropped: 0,
    ...extra,
  };
}

export function samplesFrame(seq: number, points: Point[], time = Date.now()): Samples {
  return { v: PROTOCOL_VERSION, type: 'samples', seq, time, points, errors: [] };
}
