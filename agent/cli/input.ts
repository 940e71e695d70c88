// FILE or '-' (stdin) as a stream of chunks, for the offline commands (fold, parse).
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { UsageError } from './args.js';

export async function openInput(cmd: string, file: string | undefined): Promise<AsyncIterable<Buffer>> {
  if (file === undefined || file === '-') return process.stdin;
  try {
    if (!(await stat(file)).isFile()) throw new UsageError(`${cmd}: '${file}' is not a file`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`${cmd}: cannot read '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return createReadStream(file, { highWaterMark: 1024 * 1024 });
}

/** Writes respecting back-pressure, so a slow pipe does not buffer the whole output. */
export async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
}
