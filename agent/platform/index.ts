// Choosing the platform: detected, or forced with --platform (illumos on Linux = simulated,
// through the stand-ins under test/fakes/illumos/bin on PATH).
import type { Platform } from './types.js';
import { detectPlatform } from './detect.js';
import { linuxPlatform } from './linux.js';
import { illumosPlatform } from './illumos.js';

export function makePlatform(name?: string): Platform {
  const chosen = name ?? detectPlatform();
  if (chosen === 'linux') return linuxPlatform();
  if (chosen === 'illumos') return illumosPlatform({ simulated: process.platform !== 'sunos' });
  throw new Error(`unknown platform '${chosen}' (linux or illumos)`);
}
