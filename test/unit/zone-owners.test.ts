// Linux zone owners from the operator's mapping, and SmartOS ones from vmadm.
import { describe, expect, it } from 'vitest';
import { OwnerRules, ownerOf, parseOwnerFile, parseOwnerList } from '../../agent/platform/zone-owners.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseVmadmOwners } from '../../agent/parse/vmadm-owners.js';
import { SimNode, readNodeData } from '../../agent/simulated/node.js';
import { vmadm } from '../../agent/simulated/vmadm.js';

describe('ZONESCOPE_ZONE_OWNERS', () => {
  it('maps zone name patterns to owners, first match wins, the host is nobody\'s', () => {
    const rules = parseOwnerList('web*=acme, db1=7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b ,*-ci=acme-ci,*=fallback');
    expect(ownerOf(rules, 'web1')).toBe('acme');
    expect(ownerOf(rules, 'db1')).toBe('7f1c2e4a-0b3d-4e5f-8a9b-1c2d3e4f5a6b');
    expect(ownerOf(rules, 'db10')).toBe('fallback');
    expect(ownerOf(rules, 'build-ci')).toBe('acme-ci');
    expect(ownerOf(rules, 'global')).toBeUndefined();
    // regular expression characters in a pattern are literal
    expect(ownerOf(parseOwnerList('a.b=x'), 'aXb')).toBeUndefined();
    expect(ownerOf([], 'web1')).toBeUndefined();
  });
  it('reads the file again when it changes; a broken edit says where until it is fixed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zs-owners-'));
    const file = join(dir, 'owners');
    try {
      writeFileSync(file, 'web* acme\n');
      const rules = new OwnerRules({ ZONESCOPE_ZONE_OWNERS_FILE: file });
      expect(ownerOf(rules.current(), 'web1')).toBe('acme');
      writeFileSync(file, '# moved to another tenant\nweb* globex\ndb* acme\n');
      expect(ownerOf(rules.current(), 'web1')).toBe('globex');
      expect(ownerOf(rules.current(), 'db2')).toBe('acme');
      writeFileSync(file, 'web* globex\ndb*\n');
      expect(() => rules.current()).toThrow(/owners line 2: expected 'PATTERN OWNER'/);
      expect(() => rules.current()).toThrow(/line 2/);
      writeFileSync(file, 'web* initech\n');
      expect(ownerOf(rules.current(), 'web1')).toBe('initech');
      // a mapping that no longer exists is an error too, not "nobody owns anything"
      rmSync(file);
      expect(() => rules.current()).toThrow(/ZONESCOPE_ZONE_OWNERS_FILE: .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the file form, with comments', () => {
    const rules = parseOwnerFile('# tenants\nweb*   acme\n\ndb1 beta # the database\n', '/etc/zonescope/owners');
    expect(rules.map((r) => [r.pattern, r.owner])).toEqual([['web*', 'acme'], ['db1', 'beta']]);
  });
  it('names the bad entry or line', () => {
    expect(() => parseOwnerList('web*=acme,db1')).toThrow(/ZONESCOPE_ZONE_OWNERS entry 2 'db1': expected PATTERN=OWNER/);
    expect(() => parseOwnerList('web*=a b')).toThrow(/entry 1: owner 'a b' may hold only/);
    expect(() => parseOwnerList('=acme')).toThrow(/entry 1: the zone name pattern is empty/);
    expect(() => parseOwnerFile('web* acme extra\n', 'owners.txt')).toThrow(/owners.txt line 1: expected 'PATTERN OWNER'/);
  });
});

describe('vmadm list -p -o uuid,owner_uuid', () => {
  it('answers from the simulated node: zones of two owners', () => {
    const node = new SimNode(readNodeData());
    const out = vmadm(node, ['list', '-p', '-o', 'uuid,owner_uuid']).stdout;
    const owners = parseVmadmOwners(out);
    expect(owners.size).toBe(4);
    expect(new Set(owners.values()).size).toBe(2);
  });
  it('refuses what is not a uuid pair, naming the line', () => {
    expect(() => parseVmadmOwners('5b6c1f0e-2d4a-4c8e-9a71-3f0d2c9e8b14:x:y\n')).toThrow(/line 1: expected 2 ':'-separated fields/);
    expect(() => parseVmadmOwners('5b6c1f0e-2d4a-4c8e-9a71-3f0d2c9e8b14:acme\n')).toThrow(/line 1: owner "acme" is not a uuid/);
    expect(parseVmadmOwners('5b6c1f0e-2d4a-4c8e-9a71-3f0d2c9e8b14:\n').size).toBe(0);
  });
});
