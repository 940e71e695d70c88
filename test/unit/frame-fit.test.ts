// A trace frame the agent sends always passes the server's checks: a demangled C++ name past
// the text limit, a stack deeper than the wire takes, or more diagnostics than a frame carries
// would otherwise close the node's whole connection.
import { describe, expect, it } from 'vitest';
import { fitEvents, fitRecord, MAX_EVENTS } from '../../agent/tracers/frame-fit.js';
import { decode } from '../../protocol/decode.js';
import { AgentMessages, PROTOCOL_VERSION } from '../../protocol/messages.js';
import { MAX_STACK, MAX_TEXT, type TraceEvent, type TraceRecord } from '../../protocol/records.js';

const longName = `chromium\`blink::${'Foo<'.repeat(3000)}int${'>'.repeat(3000)}::Bar()`;
const deep = Array.from({ length: MAX_STACK + 200 }, (_, i) => `libx.so\`f${i}`);
const records: TraceRecord[] = [
  { kind: 'stack', agg: 'samples', keys: [1234, 'chrome'], stack: ['vmlinux`schedule', longName, 'main'], kernel: 1, value: 5 },
  { kind: 'stack', agg: 'samples', keys: [], stack: deep, kernel: MAX_STACK + 100, value: 1 },
  { kind: 'scalar', agg: 'calls', keys: [longName], value: 3 },
];
const events: TraceEvent[] = Array.from({ length: MAX_EVENTS + 10 }, (_, i) => ({ kind: 'error', count: 1, message: `error ${i}` }));
const frame = (recs: TraceRecord[], evs: TraceEvent[]) =>
  JSON.stringify({ v: PROTOCOL_VERSION, type: 'trace-frame', id: 't1', interval: 1, time: Date.now(), records: recs, events: evs });

describe('fitting a trace frame to the wire', () => {
  it('is refused by the server unfitted, and accepted fitted', () => {
    expect(decode(AgentMessages, frame(records, events)).ok).toBe(false);
    const fitted = decode(AgentMessages, frame(records.map(fitRecord), fitEvents(events, 3)));
    expect(fitted.ok, fitted.ok ? '' : fitted.message).toBe(true);
  });

  it('cuts long text saying so, keeps a deep stack\'s leaf end, and counts the diagnostics left out', () => {
    const [a, b, c] = records.map(fitRecord) as Extract<TraceRecord, { kind: 'stack' }>[];
    expect(a.stack[0]).toBe('vmlinux`schedule');
    expect(a.stack[1]).toHaveLength(MAX_TEXT);
    expect(a.stack[1].endsWith('…')).toBe(true);
    expect(a.stack[1].startsWith('chromium`blink::Foo<')).toBe(true);
    expect(b.stack).toEqual(deep.slice(0, MAX_STACK));
    expect(b.kernel).toBe(MAX_STACK);
    expect((c as unknown as { keys: string[] }).keys[0]).toHaveLength(MAX_TEXT);
    // records within the limits are passed through untouched
    const small: TraceRecord = { kind: 'stack', agg: 's', keys: [], stack: ['a', 'b'], kernel: 0, value: 1 };
    expect(fitRecord(small)).toBe(small);
    const fitted = fitEvents(events, 3);
    expect(fitted).toHaveLength(MAX_EVENTS);
    expect(fitted.at(-1)).toEqual({ kind: 'warning', count: 3 + 11, message: '14 more tracer diagnostics not forwarded' });
    expect(fitEvents(events.slice(0, 5))).toHaveLength(5);
  });
});
