// `npm run bench`: runs every test/bench/*.bench.mjs in turn (its exported `async run()`
// prints its own figures). `npm run bench -- metrics` runs only the benches whose file name
// contains one of the words given. A bench that fails is reported and the others still run.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .filter((f) => only.length === 0 || only.some((w) => f.includes(w)))
  .sort();

if (benches.length === 0) {
  console.error(`no benchmark in ${here}${only.length ? ` matching ${only.join(', ')}` : ''}`);
  process.exitCode = 1;
}

const failed = [];
for (const file of benches) {
  console.log(`\n== ${file.replace('.bench.mjs', '')}`);
  const t0 = Date.now();
  try {
    const mod = await import(pathToFileURL(join(here, file)).href);
    if (typeof mod.run !== 'function') throw new Error(`${file} exports no run()`);
    await mod.run({ print: true });
  } catch (e) {
    failed.push(file);
    console.error(`${file} failed: ${e instanceof Error ? e.stack : e}`);
  }
  console.log(`   (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
if (failed.length) {
  console.error(`\n${failed.length} benchmark(s) failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
