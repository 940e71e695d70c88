// Every message agent and server exchange over /agent. TypeBox schemas: the same JSON Schema
// objects fastify uses for its routes, compiled once here to check frames on receipt.
import Type, { type Static, type TSchema } from 'typebox';
import { TraceEvent, TraceRecord } from './records.js';
import { Count, Finite, SafeInt } from './numbers.js';

export const PROTOCOL_VERSION = 1;
/** Largest frame either side accepts; ws enforces it before parsing (close 1009). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;

const V = Type.Literal(PROTOCOL_VERSION);
const Name = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9_.:@-]+$' });
/** Free text that may end up in a label or a log line: no control characters (a raw CR or NUL
 * in the exposition breaks scrapes; in a log it forges lines). */
const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$';
/** A tenant id: a SmartOS owner_uuid, or what an operator maps Linux zones to. */
export const OWNER_PATTERN = '^[A-Za-z0-9_.:@-]{1,128}$';
export const Owner = Type.String({ minLength: 1, maxLength: 128, pattern: OWNER_PATTERN });
export const LabelValue = Type.String({ maxLength: 1024, pattern: NO_CONTROL });
/** Label names an agent may use: Prometheus names, minus the ones Prometheus or the server
 * give a meaning (`le`, `quantile`, `__*`, `node`; `zone` is the protocol's own zone key). */
export const LabelName = Type.String({ pattern: '^(?!__|le$|quantile$|node$)[a-zA-Z_][a-zA-Z0-9_]{0,63}$' });
/** most labels on one point */
export const MAX_LABELS = 32;

export const Platform = Type.Union([Type.Literal('linux'), Type.Literal('illumos')]);
export type Platform = Static<typeof Platform>;

export const Zone = Type.Object({
  name: Name,
  uuid: Type.Optional(Type.String({ maxLength: 64, pattern: NO_CONTROL })),
  alias: Type.Optional(LabelValue),
  brand: Type.String({ maxLength: 64, pattern: NO_CONTROL }),
  state: Type.String({ maxLength: 64, pattern: NO_CONTROL }),
  /** changes on every boot: informative only, never a key */
  zoneid: Type.Optional(Type.Union([SafeInt(), Type.Null()])),
  /** Linux: the container's cgroup path relative to the hierarchy root */
  cgroup: Type.Optional(Type.String({ maxLength: 4096, pattern: NO_CONTROL })),
  ramBytes: Type.Optional(Count()),
  type: Type.Optional(Type.String({ maxLength: 32, pattern: NO_CONTROL })),
  /** the tenant the zone belongs to (SmartOS: vmadm's owner_uuid; Linux: the operator's
   * mapping); scoped tokens see only their owner's zones. Absent: nobody's (operators only). */
  owner: Type.Optional(Owner),
});
export type Zone = Static<typeof Zone>;

/** One sampled value. `f` names a family from protocol/families.ts; the server adds `node`. */
export const Point = Type.Object({
  f: Type.String({ maxLength: 128 }),
  l: Type.Record(LabelName, LabelValue, { additionalProperties: false, maxProperties: MAX_LABELS }),
  v: Finite(),
});
export type Point = Static<typeof Point>;

export const SamplerError = Type.Object({
  sampler: Type.String({ maxLength: 64 }),
  message: Type.String({ maxLength: 4096 }),
});
export type SamplerError = Static<typeof SamplerError>;

export const ScriptAvailability = Type.Object({
  id: Type.String({ maxLength: 64 }),
  available: Type.Boolean(),
  /** why it cannot run (the missing prerequisite, in words an operator can act on) */
  reason: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type ScriptAvailability = Static<typeof ScriptAvailability>;

export const Hello = Type.Object({
  v: V,
  type: Type.Literal('hello'),
  node: Name,
  hostname: Type.String({ maxLength: 256, pattern: NO_CONTROL }),
  platform: Platform,
  simulated: Type.Boolean(),
  tracer: Type.Object({
    name: Type.Union([Type.Literal('dtrace'), Type.Literal('bpftrace')]),
    available: Type.Boolean(),
    version: Type.Optional(Type.String({ maxLength: 128, pattern: NO_CONTROL })),
  }),
  capabilities: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
  agentVersion: Type.String({ maxLength: 64, pattern: NO_CONTROL }),
  /** identifies one run of the agent process; sequence numbers restart with it */
  epoch: SafeInt({ minimum: 0 }),
  intervalS: Type.Number({ minimum: 0.1, maximum: 3600 }),
  /** frames dropped from the agent's buffer while disconnected, since it started */
  dropped: SafeInt({ minimum: 0 }),
  metricsUrl: Type.Optional(Type.String({ maxLength: 1024 })),
  /** which curated scripts can run on this node, and why not (prerequisites checked at start) */
  scripts: Type.Optional(Type.Array(ScriptAvailability, { maxItems: 256 })),
});
export type Hello = Static<typeof Hello>;

/** The scripts' availability changed since the hello (tracefs unmounted, the tracer removed or
 * installed): the server refuses and offers what is true now, not what was at connect time. */
export const Scripts = Type.Object({
  v: V,
  type: Type.Literal('scripts'),
  scripts: Type.Array(ScriptAvailability, { maxItems: 256 }),
});
export type Scripts = Static<typeof Scripts>;

export const Zones = Type.Object({
  v: V,
  type: Type.Literal('zones'),
  zones: Type.Array(Zone, { maxItems: 10000 }),
});
export type Zones = Static<typeof Zones>;

export const Samples = Type.Object({
  v: V,
  type: Type.Literal('samples'),
  seq: SafeInt({ minimum: 1 }),
  /** ms since the epoch, when the agent took the sample */
  time: Finite(),
  points: Type.Array(Point, { maxItems: 200000 }),
  errors: Type.Array(SamplerError, { maxItems: 256 }),
});
export type Samples = Static<typeof Samples>;

export const Ping = Type.Object({ v: V, type: Type.Literal('ping'), time: Finite() });
export const Pong = Type.Object({ v: V, type: Type.Literal('pong'), time: Finite() });

export const ErrorMsg = Type.Object({
  v: V,
  type: Type.Literal('error'),
  code: Type.String({ maxLength: 64 }),
  message: Type.String({ maxLength: 4096 }),
  /** the request this error answers (trace or vm id), if any */
  id: Type.Optional(Type.String({ maxLength: 64 })),
});

export const TraceParams = Type.Record(
  Type.String({ maxLength: 64 }),
  Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean()]),
);
export type TraceParams = Static<typeof TraceParams>;

/** server → agent: start a curated script on one zone */
export const TraceStart = Type.Object({
  v: V,
  type: Type.Literal('trace-start'),
  id: Type.String({ maxLength: 64 }),
  script: Type.String({ maxLength: 64 }),
  zone: Name,
  params: TraceParams,
  durationS: Type.Number({ minimum: 1, maximum: 3600 }),
});
export type TraceStart = Static<typeof TraceStart>;

export const TraceStop = Type.Object({ v: V, type: Type.Literal('trace-stop'), id: Type.String({ maxLength: 64 }) });
export type TraceStop = Static<typeof TraceStop>;

/** agent → server: one interval of a running trace */
export const TraceFrame = Type.Object({
  v: V,
  type: Type.Literal('trace-frame'),
  id: Type.String({ maxLength: 64 }),
  interval: SafeInt({ minimum: 0 }),
  time: Finite(),
  records: Type.Array(TraceRecord, { maxItems: 200000 }),
  events: Type.Array(TraceEvent, { maxItems: 1024 }),
});
export type TraceFrame = Static<typeof TraceFrame>;

export const TraceEnd = Type.Object({
  v: V,
  type: Type.Literal('trace-end'),
  id: Type.String({ maxLength: 64 }),
  /** done: every interval arrived and nothing was lost; partial: some data is missing (see
   * reasons); stopped: ended by a user; failed: no usable result (error says why) */
  status: Type.Union([Type.Literal('done'), Type.Literal('partial'), Type.Literal('stopped'), Type.Literal('failed')]),
  error: Type.Optional(Type.String({ maxLength: 4096 })),
  /** what is missing and why, one sentence each ("process 123 exited after 4 s") */
  reasons: Type.Optional(Type.Array(Type.String({ maxLength: 1024 }), { maxItems: 32 })),
  exitCode: Type.Optional(Type.Union([SafeInt(), Type.Null()])),
});
export type TraceEnd = Static<typeof TraceEnd>;

export const VmAction = Type.Object({
  v: V,
  type: Type.Literal('vm-action'),
  id: Type.String({ maxLength: 64 }),
  zone: Name,
  action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('reboot')]),
});
export type VmAction = Static<typeof VmAction>;

export const VmResult = Type.Object({
  v: V,
  type: Type.Literal('vm-result'),
  id: Type.String({ maxLength: 64 }),
  ok: Type.Boolean(),
  message: Type.String({ maxLength: 4096 }),
});
export type VmResult = Static<typeof VmResult>;

/** server → agent: the zone's processes, largest memory first (for "which process grows") */
export const ProcsRequest = Type.Object({
  v: V,
  type: Type.Literal('procs'),
  id: Type.String({ maxLength: 64 }),
  zone: Name,
  limit: Type.Integer({ minimum: 1, maximum: 1000 }),
});
export type ProcsRequest = Static<typeof ProcsRequest>;

export const Proc = Type.Object({
  pid: SafeInt({ minimum: 0 }),
  comm: Type.String({ maxLength: 256 }),
  args: Type.String({ maxLength: 4096 }),
  rssBytes: Count(),
  vszBytes: Type.Optional(Count()),
  /** change in resident size since the previous listing of this zone (same pid) */
  rssDeltaBytes: Type.Optional(Finite()),
});
export type Proc = Static<typeof Proc>;

export const ProcsResult = Type.Object({
  v: V,
  type: Type.Literal('procs-result'),
  id: Type.String({ maxLength: 64 }),
  ok: Type.Boolean(),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
  procs: Type.Array(Proc, { maxItems: 1000 }),
  /** when the previous listing of this zone was taken (ms), the base of rssDeltaBytes */
  previous: Type.Optional(Finite()),
});
export type ProcsResult = Static<typeof ProcsResult>;

/** server → agent after hello: where to resume. lastSeq 0 = send everything buffered. */
export const Welcome = Type.Object({ v: V, type: Type.Literal('welcome'), lastSeq: SafeInt({ minimum: 0 }) });
export type Welcome = Static<typeof Welcome>;

export const Ack = Type.Object({ v: V, type: Type.Literal('ack'), seq: SafeInt({ minimum: 0 }) });
export type Ack = Static<typeof Ack>;

/** What an agent may send, by type. */
export const AgentMessages = {
  hello: Hello,
  scripts: Scripts,
  zones: Zones,
  samples: Samples,
  ping: Ping,
  pong: Pong,
  error: ErrorMsg,
  'trace-frame': TraceFrame,
  'trace-end': TraceEnd,
  'vm-result': VmResult,
  'procs-result': ProcsResult,
} satisfies Record<string, TSchema>;

/** What a server may send, by type. */
export const ServerMessages = {
  welcome: Welcome,
  ack: Ack,
  ping: Ping,
  pong: Pong,
  error: ErrorMsg,
  'trace-start': TraceStart,
  'trace-stop': TraceStop,
  'vm-action': VmAction,
  procs: ProcsRequest,
} satisfies Record<string, TSchema>;

export type AgentMessage = { [K in keyof typeof AgentMessages]: Static<(typeof AgentMessages)[K]> }[keyof typeof AgentMessages];
export type ServerMessage = { [K in keyof typeof ServerMessages]: Static<(typeof ServerMessages)[K]> }[keyof typeof ServerMessages];
