// pprof files as the server hands them out: the shared encoder's bytes, gzipped (every pprof
// reader takes gzip; `go tool pprof` and Pyroscope expect it).
import { gzipSync } from 'node:zlib';
import { encodePprof, stacksOfFolded, type PprofOptions } from '../protocol/pprof.js';

export const PPROF_TYPE = 'application/vnd.google.protobuf+gzip';

/** Folded stacks (root first, program name at the root) as a gzipped profile.proto. */
export function pprofOfFolded(folded: Map<string, number>, o: PprofOptions): Buffer {
  return gzipSync(encodePprof(stacksOfFolded(folded), o));
}

/** A download name without path or quoting tricks. */
export function pprofFileName(...parts: string[]): string {
  return `${parts.join('-').replace(/[^\w.-]+/g, '_').slice(0, 120)}.pb.gz`;
}
