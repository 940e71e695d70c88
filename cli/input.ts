// FILE or '-' (stdin) as a stream of chunks, for the offline commands (fold, parse).
import { open, stat } from 'node:fs/promises';
import { UsageError } from './args.js';

const CHUNK = 1024 * 1024;

/**
 * A file read into two reused buffers, the next read running while the caller works on the
 * current chunk: no fresh memory per chunk (no page faults, a small process) and no wait
 * for the disk between chunks. A chunk is valid until the next one is asked for; the
 * commands reading these consume every chunk before asking.
 */
async function* readFile(file: string): AsyncGenerator<Buffer> {
  const fh = await open(file);
  const bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
  let cur = 0;
  let next = fh.read(bufs[cur], 0, CHUNK, null);
  try {
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) return;
      const chunk = bufs[cur].subarray(0, bytesRead);
      cur ^= 1;
      next = fh.read(bufs[cur], 0, CHUNK, null);
      yield chunk;
    }
  } finally {
    await next.catch(() => {});
    await fh.close();
  }
}

export async function openInput(cmd: string, file: string | undefined): Promise<AsyncIterable<Buffer>> {
  if (file === undefined || file === '-') return process.stdin;
  try {
    if (!(await stat(file)).isFile()) throw new UsageError(`${cmd}: '${file}' is not a file`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${cmd}: cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return readFile(file);
}

let quietOnEpipe = false;

/**
 * Writes respecting back-pressure, so a slow pipe does not buffer the whole output. A reader
 * that goes away (`zonescope fold big.txt | head`) ends the command quietly, as for any
 * Unix filter.
 */
export async function write(text: string): Promise<void> {
  if (!quietOnEpipe) {
    quietOnEpipe = true;
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
  if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
}
