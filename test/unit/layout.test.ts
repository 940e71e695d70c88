// The layout rule that keeps the tree readable: agent and server never import each other,
// the contract (protocol/, scripts/) imports nothing of theirs, the browser takes only the
// contract, and no two files import each other in a circle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** which top-level folders each may import (besides itself, node: and npm packages) */
const ALLOWED: Record<string, string[]> = {
  protocol: [],
  scripts: ['protocol'],
  agent: ['protocol', 'scripts'],
  server: ['protocol', 'scripts'],
  cli: ['protocol', 'scripts', 'agent', 'server'],
  web: ['protocol'],
};

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** file → the project files it imports (relative specifiers, .js resolved to .ts) */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const top of Object.keys(ALLOWED)) {
    for (const file of sources(join(ROOT, top))) {
      const text = readFileSync(file, 'utf8');
      const deps: string[] = [];
      for (const m of text.matchAll(/(?:from\s+|import\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)) deps.push(resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'));
      g.set(relative(ROOT, file), deps.map((d) => relative(ROOT, d)));
    }
  }
  return g;
}

const topOf = (f: string) => f.split('/')[0];

describe('layout', () => {
  const g = graph();

  it('finds the sources it checks', () => {
    for (const top of ['protocol', 'scripts', 'agent', 'server', 'cli']) expect([...g.keys()].some((f) => topOf(f) === top), top).toBe(true);
  });

  it('each folder imports only what it may', () => {
    const wrong: string[] = [];
    for (const [file, deps] of g) {
      const from = topOf(file);
      for (const d of deps) if (topOf(d) !== from && !ALLOWED[from].includes(topOf(d))) wrong.push(`${file} → ${d}`);
    }
    expect(wrong).toEqual([]);
  });

  it('no import cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      path.push(f);
      for (const d of g.get(f) ?? []) {
        if (state.get(d) === 'open') cycles.push([...path.slice(path.indexOf(d)), d].join(' → '));
        else if (!state.has(d)) visit(d);
      }
      path.pop();
      state.set(f, 'done');
    };
    for (const f of g.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });
});
