// FILE or '-' (stdin) as a stream of chunks, for the offline commands (fold, parse).
import { open, stat } from 'node:fs/promises';
import { UsageError } from './args.js';

const CHUNK = 1024 * 1024;

/**
 * A file read into one reused buffer: no fresh memory per chunk, so reading costs no page
 * faults and the process stays small. Each chunk is valid only until the next is asked for;
 * the commands reading these consume every chunk before asking.
 */
async function* readFile(file: string): AsyncGenerator<Buffer> {
  const fh = await open(file);
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
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

/** Writes respecting back-pressure, so a slow pipe does not buffer the whole output. */
export async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
}
