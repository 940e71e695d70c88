// Linux has no owner_uuid: the operator says which tenant owns which containers, as zone name
// patterns (`*` any run of characters) → owner, from $ZONESCOPE_ZONE_OWNERS
// (`web*=acme,db1=7f1c…`) and/or the file $ZONESCOPE_ZONE_OWNERS_FILE (one `PATTERN OWNER` per
// line, `#` comments). The first pattern that matches wins; the host (`global`) is nobody's.
import { readFileSync, statSync } from 'node:fs';
import { OWNER_PATTERN } from '../../protocol/messages.js';

export interface OwnerRule {
  pattern: string;
  re: RegExp;
  owner: string;
}

const OWNER = new RegExp(OWNER_PATTERN);

function rule(pattern: string, owner: string, where: string): OwnerRule {
  if (!pattern) throw new Error(`${where}: the zone name pattern is empty`);
  if (!OWNER.test(owner)) throw new Error(`${where}: owner '${owner.slice(0, 140)}' may hold only 1-128 letters, digits and _.:@-`);
  const body = pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return { pattern, re: new RegExp(`^${body}$`), owner };
}

/** `PATTERN=OWNER,…` (the environment variable's form). Throws naming the bad entry. */
export function parseOwnerList(spec: string, source = 'ZONESCOPE_ZONE_OWNERS'): OwnerRule[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const eq = entry.lastIndexOf('=');
      if (eq < 0) throw new Error(`${source} entry ${i + 1} '${entry.slice(0, 140)}': expected PATTERN=OWNER`);
      return rule(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim(), `${source} entry ${i + 1}`);
    });
}

/** One `PATTERN OWNER` per line (the file's form). Throws naming the line. */
export function parseOwnerFile(text: string, source: string): OwnerRule[] {
  const rules: OwnerRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const f = line.split(/\s+/);
    if (f.length !== 2) throw new Error(`${source} line ${i + 1}: expected 'PATTERN OWNER', got ${JSON.stringify(line.slice(0, 200))}`);
    rules.push(rule(f[0], f[1], `${source} line ${i + 1}`));
  });
  return rules;
}

/** The rules the environment gives (file first, then the variable). */
export function ownerRulesFromEnv(env: NodeJS.ProcessEnv = process.env): OwnerRule[] {
  const file = env.ZONESCOPE_ZONE_OWNERS_FILE;
  let text: string | undefined;
  if (file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`ZONESCOPE_ZONE_OWNERS_FILE: ${file}: ${(e as Error).message}`);
    }
  }
  return [...(text !== undefined ? parseOwnerFile(text, file!) : []), ...parseOwnerList(env.ZONESCOPE_ZONE_OWNERS ?? '')];
}

export function ownerOf(rules: readonly OwnerRule[], zone: string): string | undefined {
  if (zone === 'global') return undefined;
  return rules.find((r) => r.re.test(zone))?.owner;
}

/**
 * The environment's rules, the file read again when it changes (mtime or size): an operator
 * edits who owns what without restarting the agent. A file that no longer parses throws from
 * `current()` (zone discovery reports it, naming the line) until it is fixed; meanwhile the
 * zones already known keep their owners.
 */
export class OwnerRules {
  private rules: OwnerRule[];
  private stamp: string | undefined;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    // a malformed mapping at start is an error at start
    this.stamp = this.fileStamp();
    this.rules = ownerRulesFromEnv(env);
  }

  current(): OwnerRule[] {
    const stamp = this.fileStamp();
    if (stamp !== this.stamp) {
      this.rules = ownerRulesFromEnv(this.env);
      this.stamp = stamp;
    }
    return this.rules;
  }

  private fileStamp(): string | undefined {
    const file = this.env.ZONESCOPE_ZONE_OWNERS_FILE;
    if (!file) return undefined;
    try {
      const st = statSync(file);
      return `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (e) {
      return `missing:${(e as NodeJS.ErrnoException).code}`;
    }
  }
}
