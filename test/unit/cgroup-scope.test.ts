// A zone's processes in cgroups below its own are traced too: the scripts' `cgroup == $1` is
// widened to the ids of the zone's descendants, found by walking its cgroup directory.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { descendantIds, scopeToCgroups, writeScoped } from '../../agent/tracers/cgroup-scope.js';
import { loadCatalog, scriptFile, scriptsDir } from '../../scripts/catalog.js';

describe('cgroup scope', () => {
  it('widens every zone test of every curated .bt script, and leaves a zone without descendants as it is', () => {
    for (const meta of loadCatalog()) {
      const src = readFileSync(scriptFile(meta, 'bpftrace', scriptsDir()), 'utf8');
      expect(src, meta.id).toContain('cgroup == $1');
      const out = scopeToCgroups(src, [11, 12]);
      expect(out, meta.id).not.toMatch(/cgroup == \$1(?! \|\| cgroup == 11 \|\| cgroup == 12\))/);
      expect(scopeToCgroups(src, [])).toBe(src);
    }
    expect(scopeToCgroups('/$1 == 0 || cgroup == $1/', [5])).toBe('/$1 == 0 || (cgroup == $1 || cgroup == 5)/');
    expect(() => scopeToCgroups('cgroup == $1', [Number.NaN])).toThrow(/not a cgroup id/);
  });

  it('finds the ids of every directory below, breadth first, and counts those past the cap', async () => {
    const root = mkdtempSync(join(tmpdir(), 'zs-cg-'));
    try {
      for (const d of ['a', 'b', 'a/x', 'a/x/y']) mkdirSync(join(root, d));
      const ino = (d: string) => statSync(join(root, d)).ino;
      const { ids, more } = await descendantIds(root);
      expect(more).toBe(0);
      // the zone's children first, then theirs
      expect(new Set(ids.slice(0, 2))).toEqual(new Set([ino('a'), ino('b')]));
      expect(ids.slice(2)).toEqual([ino('a/x'), ino('a/x/y')]);
      const capped = await descendantIds(root, 3);
      expect(capped.ids).toHaveLength(3);
      expect(capped.more).toBe(1);
      // past the cap, what lies below the ones left out is counted too
      expect((await descendantIds(root, 1)).more).toBe(3);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('writes the widened script under its own name in a new private directory, removed after', () => {
    const a = writeScoped('/opt/zonescope/scripts/cpu-profile.bt', 'profile:hz:99 { }\n');
    const b = writeScoped('/opt/zonescope/scripts/cpu-profile.bt', 'profile:hz:99 { }\n');
    try {
      expect(basename(a.path)).toBe('cpu-profile.bt');
      expect(readFileSync(a.path, 'utf8')).toBe('profile:hz:99 { }\n');
      // one directory per trace, unguessable, only the agent's user may enter it
      expect(dirname(a.path)).not.toBe(dirname(b.path));
      expect(statSync(dirname(a.path)).mode & 0o777).toBe(0o700);
      expect(statSync(a.path).mode & 0o777).toBe(0o600);
    } finally {
      a.remove();
      b.remove();
    }
    expect(existsSync(dirname(a.path))).toBe(false);
  });
});
