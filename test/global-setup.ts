// Builds once before the suite (tests run the compiled agent and server as real processes),
// and after it checks that no process the suite started is still running.
import { execFileSync } from 'node:child_process';
import { leftoverProcesses } from './helpers/procs.js';

export function setup(): void {
  // ZONESCOPE_SKIP_BUILD=1 when the build is already fresh (e.g. right after `npm ci`)
  if (process.env.ZONESCOPE_SKIP_BUILD !== '1') execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}

export async function teardown(): Promise<void> {
  // a process told to stop may take a moment to exit: give stragglers up to 3 s
  let left = leftoverProcesses();
  for (let i = 0; i < 30 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = leftoverProcesses();
  }
  if (left.length) throw new Error(`processes left running by the test suite:\n${left.join('\n')}`);
}
