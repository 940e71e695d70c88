// The server's HTTP API (see the contract in the README). Errors carry the server's message,
// which names what was wrong, so views can show it as is.
import type { TraceRecord, TraceEvent } from '../../protocol/records.js';

export type Role = 'viewer' | 'operator' | 'admin';
export interface Me {
  name: string;
  role: Role;
  /** a tenant's token: the server shows only this owner's zones */
  owner?: string;
}
export interface NodeInfo {
  node: string;
  hostname: string;
  platform: 'linux' | 'illumos';
  simulated: boolean;
  up: boolean;
  lastSeen: number | null;
  connectedAt: number | null;
  agentVersion: string;
  /** available: at least one script can run; scripts: how many of the catalog can (newer agents) */
  tracer: { name: 'dtrace' | 'bpftrace'; available: boolean; scripts?: { available: number; total: number } };
  intervalS: number;
  zoneCount: number;
  /** sampler runs that failed since the server started */
  samplerErrors?: number;
  /** when the latest sample frame was taken (ms) */
  lastSampleAt?: number | null;
  samplerIssues?: SamplerIssue[];
}
export interface SamplerIssue {
  sampler: string;
  count: number;
  message: string;
  since: number;
  last: number;
  failing: boolean;
}
/** what interrupted a node's samples: said on hover over a chart's gap */
export interface NodeEvent {
  time: number;
  kind: 'sampler-error' | 'frames-missing' | 'disconnected' | 'connected';
  message: string;
}
export interface ZoneInfo {
  name: string;
  uuid?: string;
  alias?: string;
  brand: string;
  state: string;
  /** changes when the zone boots again */
  zoneid?: number | null;
  cpuSeconds?: number;
  cpuRatio?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
}
export interface History {
  times: number[];
  series: Record<string, (number | null)[]>;
  /** the node's sampling interval, to tell a gap from a late frame */
  intervalS?: number;
  events?: NodeEvent[];
  /** when the node's kept history starts (ms), and how much the server keeps (s) */
  keptSince?: number | null;
  retentionS?: number;
}
export interface ScriptParam {
  name: string;
  type: 'int' | 'string' | 'duration';
  min?: number;
  max?: number;
  default?: string | number;
  pattern?: string;
  description: string;
}
export interface ScriptInfo {
  id: string;
  title: string;
  question: string;
  output: 'flame' | 'heatmap' | 'table' | string;
  defaultDurationS: number;
  maxDurationS: number;
  overhead: string;
  /** per-tracer differences worth knowing before running it */
  notes?: string;
  /** what the result's values count: samples, nanoseconds, bytes, calls */
  unit?: string;
  params: ScriptParam[];
  /** asked for one node: whether it can run there, and why not */
  available?: boolean;
  reason?: string;
}
export type TraceStatus = 'starting' | 'running' | 'done' | 'partial' | 'stopped' | 'failed';
export interface TraceSummary {
  id: string;
  node: string;
  zone: string;
  script: string;
  params: Record<string, string | number>;
  durationS: number;
  output: string;
  /** what the result's values count: samples, nanoseconds, bytes, calls */
  unit?: string;
  status: TraceStatus;
  createdAt: number;
  startedAt: number | null;
  endedAt: number | null;
  progress: number;
  intervals: number;
  error?: string;
  /** why a partial (or stopped) trace is incomplete, one sentence each */
  reasons?: string[];
  /** samples the script counted whose data did not arrive */
  samplesLost?: number;
  drops: Record<string, number>;
  errors: number;
  events?: TraceEvent[];
}
export interface Trace extends TraceSummary {
  events: TraceEvent[];
  records: TraceRecord[];
}
export interface IntervalRecords {
  interval: number;
  time: number;
  records: TraceRecord[];
}

export interface ProcInfo {
  pid: number;
  comm: string;
  args: string;
  rssBytes: number;
  vszBytes?: number;
  rssDeltaBytes?: number;
}

/** A zone's continuous profile over a window: samples per bucket (the time strip) */
export interface ProfileBuckets {
  from: number;
  to: number;
  bucketS: number;
  hz: number;
  retentionS: number;
  /** when the zone's stored profile begins (null: none stored) */
  first: number | null;
  buckets: { t: number; samples: number }[];
}

export const ROLE_RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const can = (me: Me | null, role: Role): boolean => !!me && ROLE_RANK[me.role] >= ROLE_RANK[role];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Fired when any call gets 401, so the app can go back to the login screen. */
export const authEvents = new EventTarget();

async function call<T>(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { accept, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, 'the server cannot be reached');
  }
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const j = (await res.json()) as { message?: string };
      if (j.message) msg = j.message;
    } catch {
      /* not JSON: keep the status line */
    }
    if (res.status === 401 && path !== '/api/session') authEvents.dispatchEvent(new Event('unauthorized'));
    throw new ApiError(res.status, msg);
  }
  if (res.status === 204) return undefined as T;
  return (accept === 'application/json' ? res.json() : res.text()) as Promise<T>;
}

const enc = encodeURIComponent;
export const api = {
  login: (token: string) => call<Me>('POST', '/api/session', { token }),
  logout: () => call<void>('DELETE', '/api/session'),
  me: () => call<Me>('GET', '/api/me'),
  session: () => call<{ user: Me | null }>('GET', '/api/session'),
  nodes: () => call<NodeInfo[]>('GET', '/api/nodes'),
  node: (n: string) => call<NodeInfo & { seq?: { epoch: number; last: number; received: number; gaps: number } }>('GET', `/api/nodes/${enc(n)}`),
  zones: (n: string) => call<ZoneInfo[]>('GET', `/api/nodes/${enc(n)}/zones`),
  history: (n: string, z: string, windowS: number) =>
    call<History>('GET', `/api/nodes/${enc(n)}/zones/${enc(z)}/history?window=${windowS}`),
  scripts: (node?: string) => call<ScriptInfo[]>('GET', `/api/scripts${node === undefined ? '' : `?node=${enc(node)}`}`),
  processes: (n: string, z: string, limit = 15) =>
    call<{ time: number; previous?: number; processes: ProcInfo[] }>('GET', `/api/nodes/${enc(n)}/zones/${enc(z)}/processes?limit=${limit}`),
  vmAction: (n: string, z: string, action: 'start' | 'stop' | 'reboot') =>
    call<{ message: string }>('POST', `/api/nodes/${enc(n)}/zones/${enc(z)}/actions`, { action }),
  startTrace: (b: { node: string; zone: string; script: string; params: Record<string, string | number>; durationS: number }) =>
    call<{ id: string }>('POST', '/api/traces', b),
  traces: () => call<TraceSummary[]>('GET', '/api/traces'),
  trace: (id: string) => call<Trace>('GET', `/api/traces/${enc(id)}`),
  stopTrace: (id: string) => call<TraceSummary>('DELETE', `/api/traces/${enc(id)}`),
  intervals: (id: string, from?: number, to?: number) =>
    call<IntervalRecords[]>('GET', `/api/traces/${enc(id)}/intervals${range(from, to)}`),
  profileBuckets: (n: string, z: string, from: number, to: number) =>
    call<ProfileBuckets>('GET', `/api/nodes/${enc(n)}/zones/${enc(z)}/profile${range(from, to)}&format=buckets`),
  profileFolded: (n: string, z: string, from: number, to: number) =>
    call<string>('GET', `/api/nodes/${enc(n)}/zones/${enc(z)}/profile${range(from, to)}&format=folded`, undefined, 'text/plain'),
  folded: (id: string, from?: number, to?: number) =>
    call<string>('GET', `/api/traces/${enc(id)}/folded${range(from, to, true)}`, undefined, 'text/plain'),
};

function range(from?: number, to?: number, annotate = false): string {
  const q = new URLSearchParams();
  if (from !== undefined) q.set('from', String(Math.floor(from)));
  if (to !== undefined) q.set('to', String(Math.ceil(to)));
  if (annotate) q.set('annotate', '1');
  const s = q.toString();
  return s ? '?' + s : '';
}
