// Agent frames for the fuzzer (fast-check): every message type an agent may send, built from
// the shapes of protocol/messages.ts with hostile values mixed in — negative and huge counts,
// numbers JSON smuggles in (1e999), sequence numbers past 2^53, reserved and malformed label
// names, control characters, deep nesting, extra fields, other agents' node names — plus plain
// garbage. A frame is text: some values cannot be written by JSON.stringify.
import fc from 'fast-check';
import { FAMILIES } from '../../protocol/families.js';

/** placeholders replaced in the text: numbers JSON.stringify cannot write, a live trace id */
const INF = '@@INF@@';
const NEG_INF = '@@NEGINF@@';
export const TRACE_ID = '@@TRACE@@';

const hostileNumber = fc.oneof(
  fc.integer({ min: -5, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-1, -5, 0, 2 ** 53 - 1, 2 ** 53 + 2, 1e308, -1e308, Number.MAX_VALUE, 5e-324),
  fc.constantFrom(INF, NEG_INF),
);
const count = fc.oneof({ weight: 4, arbitrary: fc.nat({ max: 10_000 }) }, { weight: 1, arbitrary: hostileNumber });
const seqNumber = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 50 }) }, { weight: 1, arbitrary: hostileNumber });

const nasty = fc.constantFrom('a\rb', 'a\u0000b', 'x\ny', 'q"uote\\', '\u007f', '€ ünï', '', ' ', '${x}', '<script>', 'a'.repeat(2000));
const text = fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 24 }) }, { weight: 1, arbitrary: nasty });
const labelName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('zone', 'alias', 'cpu', 'mode', 'device', 'interface', 'dataset') },
  { weight: 1, arbitrary: fc.constantFrom('le', 'quantile', '__name__', 'node', '0bad', 'a-b', 'x'.repeat(80), '') },
);
const family = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.keys(FAMILIES)) }, { weight: 1, arbitrary: text });
/** a few node names, so agents meet each other's names */
export const nodeName = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 59 }).map((i) => `fz-${i}`) }, { weight: 1, arbitrary: text });

/** JSON nested `depth` deep, or something wide */
const deep = fc.integer({ min: 1, max: 60 }).map((d) => {
  let v: unknown = 1;
  for (let i = 0; i < d; i++) v = i % 2 ? [v] : { d: v };
  return v;
});
const extra = fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.jsonValue({ maxDepth: 3 }), deep), { maxKeys: 3 }), { nil: undefined });
const withExtra = <T extends object>(a: fc.Arbitrary<T>) => fc.tuple(a, extra).map(([o, x]) => (x ? { ...x, ...o } : o));

const zone = withExtra(
  fc.record({
    name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('global', 'web1', 'db') }, { weight: 1, arbitrary: text }),
    brand: fc.constantFrom('lx', 'joyent', 'bhyve'),
    state: fc.constantFrom('running', 'installed'),
    alias: fc.option(text, { nil: undefined }),
    zoneid: fc.option(hostileNumber, { nil: undefined }),
    ramBytes: fc.option(hostileNumber, { nil: undefined }),
  }, { requiredKeys: ['name', 'brand', 'state'] }),
);

const point = fc.record({
  f: family,
  l: fc.dictionary(labelName, text, { maxKeys: 4 }),
  v: fc.oneof({ weight: 4, arbitrary: fc.double({ min: 0, max: 1e6, noNaN: true }) }, { weight: 1, arbitrary: hostileNumber }),
});

const key = fc.oneof(text, hostileNumber);
const bucket = fc.record({ lo: fc.oneof(fc.constant(null), hostileNumber), hi: fc.oneof(fc.constant(null), hostileNumber), count });
const aggName = fc.constantFrom('latency', 'latency_sum', 'x', '');
const record = fc.oneof(
  fc.record({ kind: fc.constant('scalar'), agg: aggName, keys: fc.array(key, { maxLength: 3 }), value: hostileNumber }),
  fc.record({ kind: fc.constant('hist'), agg: aggName, keys: fc.array(key, { maxLength: 2 }), buckets: fc.array(bucket, { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('stack'), agg: aggName, keys: fc.array(key, { maxLength: 2 }), stack: fc.array(text, { maxLength: 5 }), kernel: count, value: hostileNumber }),
  fc.record({ kind: fc.constant('stats'), agg: aggName, keys: fc.array(key, { maxLength: 2 }), count, avg: hostileNumber, total: hostileNumber }),
  fc.record({ kind: fc.constant('printf'), text }),
);
const eventKind = fc.constantFrom('drops', 'aggregation-drops', 'dynvar-drops', 'speculation-drops', 'error', 'compile-error', 'no-probes', 'info', 'warning', 'samples-lost', 'bogus');
const traceId = fc.oneof({ weight: 3, arbitrary: fc.constant(TRACE_ID) }, { weight: 1, arbitrary: text });

const v = fc.oneof({ weight: 20, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(0, 2, '1', null) });

export const hello = withExtra(
  fc.record({
    v,
    type: fc.constant('hello'),
    node: nodeName,
    hostname: text,
    platform: fc.oneof({ weight: 9, arbitrary: fc.constantFrom('linux', 'illumos') }, { weight: 1, arbitrary: text }),
    simulated: fc.boolean(),
    tracer: fc.record({ name: fc.constantFrom('bpftrace', 'dtrace'), available: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }),
    capabilities: fc.constant(['samples', 'traces', 'procs', 'vm']),
    agentVersion: text,
    epoch: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: hostileNumber }),
    intervalS: fc.oneof(fc.constant(1), hostileNumber),
    dropped: count,
    metricsUrl: fc.option(fc.constantFrom('http://127.0.0.1:9101/metrics', 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd', 'http://[::1]:1/x', 'not a url'), { nil: undefined }),
  }, { requiredKeys: ['v', 'type', 'node', 'hostname', 'platform', 'simulated', 'tracer', 'capabilities', 'agentVersion', 'epoch', 'intervalS', 'dropped'] }),
);

/** Every frame type after hello, and some that are not frames at all. */
export const frame: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ v, type: fc.constant('zones'), zones: fc.array(zone, { maxLength: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ v, type: fc.constant('samples'), seq: seqNumber, time: hostileNumber, points: fc.array(point, { maxLength: 8 }), errors: fc.array(fc.record({ sampler: text, message: text }), { maxLength: 2 }) }) },
  { weight: 4, arbitrary: fc.record({ v, type: fc.constant('trace-frame'), id: traceId, interval: seqNumber, time: hostileNumber, records: fc.array(record, { maxLength: 5 }), events: fc.array(fc.record({ kind: eventKind, count, message: text }), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('trace-end'), id: traceId, status: fc.constantFrom('done', 'partial', 'stopped', 'failed', 'bogus'), error: fc.option(text, { nil: undefined }), reasons: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('error'), code: text, message: text, id: fc.option(traceId, { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('vm-result'), id: text, ok: fc.boolean(), message: text }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('procs-result'), id: text, ok: fc.boolean(), procs: fc.array(fc.record({ pid: hostileNumber, comm: text, args: text, rssBytes: hostileNumber }), { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ v, type: fc.constantFrom('ping', 'pong'), time: hostileNumber }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constantFrom('hello', 'welcome', 'ack', 'nope', '') }) },
  { weight: 1, arbitrary: hello },
  { weight: 1, arbitrary: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 4 }), deep).map((j) => ({ raw: typeof j === 'string' ? j : JSON.stringify(j) })) },
);

/** The frame as text, with the placeholders written out. */
export function frameText(f: unknown, traceIds: readonly string[]): string {
  if (f && typeof f === 'object' && 'raw' in f) return String((f as { raw: string }).raw);
  const id = traceIds.length ? traceIds[traceIds.length - 1] : 'no-trace';
  return JSON.stringify(f)
    .replaceAll(`"${INF}"`, '1e999')
    .replaceAll(`"${NEG_INF}"`, '-1e999')
    .replaceAll(JSON.stringify(TRACE_ID), JSON.stringify(id));
}
