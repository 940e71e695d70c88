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
// mostly sane values, so connections live long enough to reach the handlers behind the checks
const RARE = 1;
const OFTEN = 15;
const sometimes = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) => fc.oneof({ weight: OFTEN, arbitrary: good }, { weight: RARE, arbitrary: bad });
const num = sometimes(fc.double({ min: 0, max: 1e9, noNaN: true }), hostileNumber);
const count = sometimes(fc.nat({ max: 10_000 }), hostileNumber);
const seqNumber = sometimes(fc.integer({ min: 1, max: 50 }), hostileNumber);

const nasty = fc.constantFrom('a\rb', 'a\u0000b', 'x\ny', 'q"uote\\', '\u007f', '€ ünï', '', ' ', '${x}', '<script>', 'a'.repeat(2000));
const text = sometimes(fc.string({ maxLength: 24 }).filter((t) => !/[\u0000-\u001f\u007f]/.test(t)), nasty);
const labelName = sometimes(
  fc.constantFrom('zone', 'alias', 'cpu', 'mode', 'device', 'interface', 'dataset'),
  fc.constantFrom('le', 'quantile', '__name__', 'node', '0bad', 'a-b', 'x'.repeat(80), ''),
);
const family = sometimes(fc.constantFrom(...Object.keys(FAMILIES)), text);
/** a few node names, so agents meet each other's names */
export const nodeName = sometimes(fc.integer({ min: 0, max: 24 }).map((i) => `fz-${i}`), text);

/** JSON nested `depth` deep, or something wide */
const deep = fc.integer({ min: 1, max: 60 }).map((d) => {
  let v: unknown = 1;
  for (let i = 0; i < d; i++) v = i % 2 ? [v] : { d: v };
  return v;
});
const extra = sometimes(fc.constant(undefined), fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.jsonValue({ maxDepth: 3 }), deep), { maxKeys: 3 }));
const withExtra = <T extends object>(a: fc.Arbitrary<T>) => fc.tuple(a, extra).map(([o, x]) => (x ? { ...x, ...o } : o));

const zone = withExtra(
  fc.record({
    name: sometimes(fc.constantFrom('global', 'web1', 'db'), text),
    brand: fc.constantFrom('lx', 'joyent', 'bhyve'),
    state: fc.constantFrom('running', 'installed'),
    alias: fc.option(text, { nil: undefined }),
    zoneid: fc.option(sometimes(fc.nat(), hostileNumber), { nil: undefined }),
    ramBytes: fc.option(num, { nil: undefined }),
  }, { requiredKeys: ['name', 'brand', 'state'] }),
);

const point = fc.record({
  f: family,
  l: fc.dictionary(labelName, text, { maxKeys: 4 }),
  v: num,
});

const key = fc.oneof(text, num);
const bucket = fc.record({ lo: fc.oneof(fc.constant(null), num), hi: fc.oneof(fc.constant(null), num), count });
const aggName = fc.constantFrom('latency', 'latency_sum', 'x', '');
const record = fc.oneof(
  fc.record({ kind: fc.constant('scalar'), agg: aggName, keys: fc.array(key, { maxLength: 3 }), value: num }),
  fc.record({ kind: fc.constant('hist'), agg: aggName, keys: fc.array(key, { maxLength: 2 }), buckets: fc.array(bucket, { maxLength: 6 }) }),
  fc.record({ kind: fc.constant('stack'), agg: aggName, keys: fc.array(key, { maxLength: 2 }), stack: fc.array(text, { maxLength: 5 }), kernel: count, value: num }),
  fc.record({ kind: fc.constant('stats'), agg: aggName, keys: fc.array(key, { maxLength: 2 }), count, avg: num, total: num }),
  fc.record({ kind: fc.constant('printf'), text }),
);
const eventKind = sometimes(fc.constantFrom('drops', 'aggregation-drops', 'dynvar-drops', 'speculation-drops', 'error', 'compile-error', 'no-probes', 'info', 'warning', 'samples-lost'), fc.constant('bogus'));
const traceId = sometimes(fc.constant(TRACE_ID), text);

const v = sometimes(fc.constant(1), fc.constantFrom(0, 2, '1', null));

export const hello = withExtra(
  fc.record({
    v,
    type: fc.constant('hello'),
    node: nodeName,
    hostname: text,
    platform: sometimes(fc.constantFrom('linux', 'illumos'), text),
    simulated: fc.boolean(),
    tracer: fc.record({ name: fc.constantFrom('bpftrace', 'dtrace'), available: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }) }),
    capabilities: fc.constant(['samples', 'traces', 'procs', 'vm']),
    agentVersion: text,
    epoch: sometimes(fc.integer({ min: 0, max: 3 }), hostileNumber),
    intervalS: sometimes(fc.constant(1), hostileNumber),
    dropped: count,
    metricsUrl: fc.option(fc.constantFrom('http://127.0.0.1:9101/metrics', 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd', 'http://[::1]:1/x', 'not a url'), { nil: undefined }),
  }, { requiredKeys: ['v', 'type', 'node', 'hostname', 'platform', 'simulated', 'tracer', 'capabilities', 'agentVersion', 'epoch', 'intervalS', 'dropped'] }),
);

/** Every frame type after hello, and some that are not frames at all. */
export const frame: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ v, type: fc.constant('zones'), zones: fc.array(zone, { maxLength: 4 }) }) },
  { weight: 5, arbitrary: fc.record({ v, type: fc.constant('samples'), seq: seqNumber, time: num, points: fc.array(point, { maxLength: 8 }), errors: fc.array(fc.record({ sampler: text, message: text }), { maxLength: 2 }) }) },
  { weight: 4, arbitrary: fc.record({ v, type: fc.constant('trace-frame'), id: traceId, interval: seqNumber, time: num, records: fc.array(record, { maxLength: 5 }), events: fc.array(fc.record({ kind: eventKind, count, message: text }), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('trace-end'), id: traceId, status: sometimes(fc.constantFrom('done', 'partial', 'stopped', 'failed'), fc.constant('bogus')), error: fc.option(text, { nil: undefined }), reasons: fc.option(fc.array(text, { maxLength: 2 }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('error'), code: text, message: text, id: fc.option(traceId, { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('vm-result'), id: text, ok: fc.boolean(), message: text }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constant('procs-result'), id: text, ok: fc.boolean(), procs: fc.array(fc.record({ pid: count, comm: text, args: text, rssBytes: num }), { maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ v, type: fc.constantFrom('ping', 'pong'), time: num }) },
  { weight: 1, arbitrary: fc.record({ v, type: fc.constantFrom('hello', 'welcome', 'ack', 'nope', '') }) },
  { weight: 1, arbitrary: hello },
  { weight: 2, arbitrary: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 4 }), deep).map((j) => ({ raw: typeof j === 'string' ? j : JSON.stringify(j) })) },
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
