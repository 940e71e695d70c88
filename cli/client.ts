// The HTTP client the server-facing subcommands share (trace, scripts --node): where the
// server is, which token to use (flags, else ZONESCOPE_SERVER / ZONESCOPE_TOKEN) and which CA
// to trust (--ca, for a private one), and errors that carry the server's own message.
import { Agent, fetch } from 'undici';
import { UsageError } from './args.js';
import { explainConnectError, loadCa } from '../agent/tls-trust.js';

export interface Client {
  base: URL;
  api(method: string, path: string, body?: unknown): Promise<unknown>;
  text(path: string): Promise<string>;
}

export interface ClientFlags {
  server?: string;
  token?: string;
  ca?: string;
}

export function client(cmd: string, flags: ClientFlags): Client {
  const server = flags.server ?? process.env.ZONESCOPE_SERVER;
  const token = flags.token ?? process.env.ZONESCOPE_TOKEN;
  if (!server) throw new UsageError(`${cmd}: --server URL is required (or ZONESCOPE_SERVER)`);
  if (!token) throw new UsageError(`${cmd}: --token T is required (or ZONESCOPE_TOKEN)`);
  let base: URL;
  try {
    base = new URL(server);
  } catch {
    throw new UsageError(`${cmd}: --server '${server}' is not a URL`);
  }
  if (base.protocol === 'ws:') base.protocol = 'http:';
  if (base.protocol === 'wss:') base.protocol = 'https:';
  let dispatcher: Agent | undefined;
  try {
    dispatcher = flags.ca === undefined ? undefined : new Agent({ connect: { ca: loadCa(flags.ca) } });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message}`);
  }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      dispatcher,
    }).catch((e: Error) => {
      throw new Error(`cannot reach the server at ${base.origin}: ${explainConnectError(e).message}`);
    });
    if (!res.ok) {
      const err = (await res.json().catch(() => ({}))) as { message?: string };
      throw new Error(`${method} ${path}: HTTP ${res.status}${err.message ? `: ${err.message}` : ''}`);
    }
    return res;
  };
  return {
    base,
    api: async (method, path, body) => (await call(method, path, body)).json(),
    text: async (path) => (await call('GET', path)).text(),
  };
}
