// `zonescope scripts`: the curated catalog, with each script's question and parameters; with
// --node N, asks the server which of them can run on that node and why not.
import { loadCatalog, type ScriptMeta } from '../scripts/catalog.js';
import { parse } from './args.js';
import { client } from './client.js';

export const scriptsHelp = `zonescope scripts — list the curated trace scripts

Usage: zonescope scripts [--json] [--node N --server URL --token T [--ca FILE]]

  --json        print the catalog as JSON (what GET /api/scripts returns)
  --node N      say which scripts can run on node N and why not (asks the server:
                GET /api/scripts?node=N)
  --server URL  the zonescope server; env ZONESCOPE_SERVER
  --token T     a viewer token; env ZONESCOPE_TOKEN
  --ca FILE     trust the CA certificate(s) in this PEM file for an https:// server
`;

type Listed = ScriptMeta & { available?: boolean; reason?: string };

export async function scriptsCommand(argv: string[]) {
  const { values } = parse('scripts', argv, { json: { type: 'boolean' }, node: { type: 'string' }, server: { type: 'string' }, token: { type: 'string' }, ca: { type: 'string' } });
  if (values.help) return void process.stdout.write(scriptsHelp);
  let scripts: Listed[];
  if (values.node !== undefined) {
    const { api } = client('scripts', values);
    scripts = (await api('GET', `/api/scripts?node=${encodeURIComponent(values.node)}`)) as Listed[];
  } else scripts = loadCatalog();
  if (values.json) return void process.stdout.write(`${JSON.stringify(scripts, null, 2)}\n`);
  let out = '';
  if (values.node !== undefined) {
    const n = scripts.filter((s) => s.available).length;
    out += `${n} of ${scripts.length} scripts can run on node ${values.node}\n\n`;
  }
  for (const s of scripts) {
    const can = s.available === undefined ? '' : s.available ? '  [can run]' : '  [cannot run]';
    out += `${s.id} — ${s.title} (${s.output}, ${s.unit}; ${s.defaultDurationS}s by default, at most ${s.maxDurationS}s)${can}\n`;
    if (s.available === false) out += `  cannot run: ${s.reason ?? 'no reason given'}\n`;
    out += `  ${s.question}\n`;
    for (const p of s.params) {
      const bounds = [p.min !== undefined ? `>= ${p.min}` : '', p.max !== undefined ? `<= ${p.max}` : '', p.pattern ? `matching ${p.pattern}` : ''].filter(Boolean).join(', ');
      out += `  --param ${p.name}=<${p.type}>${bounds ? ` (${bounds})` : ''}${p.default !== undefined ? ` default ${p.default}` : ' required'}: ${p.description}\n`;
    }
    out += `  overhead: ${s.overhead}\n\n`;
  }
  process.stdout.write(out);
}
