// Builds once before the suite (tests run the compiled agent and server as real processes),
// and after it checks that no process the suite started is still running.
import { execFileSync } from 'node:child_process';
import { leftoverProcesses } from './helpers/procs.js';

export function setup(): void {
  // ZONESCOPE_SKIP_BUILD=1 when the build is already fresh (e.g. right after `npm ci`)
  if (process.env.ZONESCOPE_SKIP_BUILD !== '1') execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}

export function teardown(): void {
  const left = leftoverProcesses();
  if (left.length) throw new Error(`processes left running by the test suite:\n${left.join('\n')}`);
}
