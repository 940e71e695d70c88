// The stand-ins' link to the simulated node in agent/simulated/ (compiled by `npm ci` or
// `npm run build`): one source of simulated data for the stand-in executables and for
// `zonescope simulate`.
import { existsSync } from 'node:fs';

const built = new URL('../../../../dist/agent/simulated/stand-in.js', import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(`zonescope stand-in: ${built.pathname} is missing; run npm run build first\n`);
  process.exit(3);
}
export const { standIn, inject, die } = await import(built.href);
