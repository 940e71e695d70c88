// `zonescope scripts`: the curated catalog, with each script's question and parameters.
import { loadCatalog } from '../scripts/catalog.js';
import { parse } from './args.js';

export const scriptsHelp = `zonescope scripts — list the curated trace scripts

Usage: zonescope scripts [--json]

  --json    print the catalog as JSON (what GET /api/scripts returns)
`;

export async function scriptsCommand(argv: string[]) {
  const { values } = parse('scripts', argv, { json: { type: 'boolean' } });
  if (values.help) return void process.stdout.write(scriptsHelp);
  const scripts = loadCatalog();
  if (values.json) return void process.stdout.write(`${JSON.stringify(scripts, null, 2)}\n`);
  let out = '';
  for (const s of scripts) {
    out += `${s.id} — ${s.title} (${s.output}, ${s.unit}; ${s.defaultDurationS}s by default, at most ${s.maxDurationS}s)\n`;
    out += `  ${s.question}\n`;
    for (const p of s.params) {
      const bounds = [p.min !== undefined ? `>= ${p.min}` : '', p.max !== undefined ? `<= ${p.max}` : '', p.pattern ? `matching ${p.pattern}` : ''].filter(Boolean).join(', ');
      out += `  --param ${p.name}=<${p.type}>${bounds ? ` (${bounds})` : ''}${p.default !== undefined ? ` default ${p.default}` : ' required'}: ${p.description}\n`;
    }
    out += `  overhead: ${s.overhead}\n\n`;
  }
  process.stdout.write(out);
}
