// The illumos parsers on the project's own fixtures (test/fixtures/illumos), written in the
// real formats with their quirks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupKstats, kstatNumber, kstatZoneName, parseKstat } from '../../agent/parse/kstat.js';
import { parseVmadmList } from '../../agent/parse/vmadm.js';
import { parseZfsList, parseZpoolList } from '../../agent/parse/zfs.js';
import { parseZoneadmList } from '../../agent/parse/zoneadm.js';

const fixture = (name: string) => readFileSync(join(__dirname, '..', 'fixtures', 'illumos', name), 'utf8');

describe('kstat -p', () => {
  it('keeps string values with spaces, empty values, names with commas, and reports odd lines', () => {
    const { rows, bad } = parseKstat(fixture('kstat-misc.txt'));
    const v = (mod: string, stat: string) => rows.find((r) => r.module === mod && r.statistic === stat)?.value;
    expect(v('cpu_info', 'brand')).toBe('Example(r) CPU  E3-1230 v6 @ 3.50GHz');
    expect(v('cpu_info', 'crtime')).toBe('41.802934117');
    expect(rows.find((r) => r.statistic === 'Serial No')).toMatchObject({ name: 'sd1,err', instance: 1, value: '' });
    expect(v('sderr', 'Vendor')).toBe('ATA     ');
    expect(bad).toEqual(['this is not a kstat line']);
  });

  it('maps kstat names cut at 30 characters back to the full zonename', () => {
    const zones = parseZoneadmList(fixture('zoneadm-list-cp.txt'));
    const kstats = groupKstats(parseKstat(fixture('kstat-memory_cap.txt')).rows);
    const names = kstats.map((k) => [k.name, kstatZoneName(k, zones)]);
    expect(names).toEqual([
      ['global', 'global'],
      ['2f9a61c8-0b3e-4d57-8e12-6a4c9b', '2f9a61c8-0b3e-4d57-8e12-6a4c9b7d0e35'],
      // two zones share their first 30 characters: only the zonename statistic tells them apart
      ['build-runner-production-east-0', 'build-runner-production-east-01'],
      ['build-runner-production-east-0', 'build-runner-production-east-02'],
      // no zonename statistic (older platform): the unique zone whose name starts with it
      ['7d13e5a0-c4f2-4b8a-9e6d-18b0a3', '7d13e5a0-c4f2-4b8a-9e6d-18b0a3f7c2d4'],
    ]);
  });

  it('does not guess when a truncated name fits two zones and no zonename statistic is there', () => {
    const k = { module: 'memory_cap', instance: 5, name: 'build-runner-production-east-0', stats: new Map([['rss', '1']]) };
    const zones = [{ name: 'build-runner-production-east-01', zoneid: 5 }, { name: 'build-runner-production-east-02', zoneid: 6 }];
    expect(kstatZoneName(k, zones)).toBeUndefined();
    // where the instance is the zone id (tcp per IP stack), the zone id settles it
    expect(kstatZoneName({ ...k, name: 'tcp' }, zones, true)).toBe('build-runner-production-east-01');
  });

  it('turns only decimal numbers into numbers', () => {
    expect(kstatNumber('18446744073709551615')).toBeCloseTo(1.8446744073709552e19);
    expect(kstatNumber('99231.55120034')).toBe(99231.55120034);
    expect(kstatNumber('3.5e8')).toBeNaN();
    expect(kstatNumber('')).toBeNaN();
    expect(kstatNumber(undefined)).toBeNaN();
  });
});

describe('zoneadm list -cp', () => {
  it('reads the global zone, running zones, a zone that is not running and escaped zonepaths', () => {
    const zones = parseZoneadmList(fixture('zoneadm-list-cp.txt'));
    expect(zones.map((z) => [z.name, z.zoneid, z.state, z.brand])).toEqual([
      ['global', 0, 'running', 'liveimg'],
      ['2f9a61c8-0b3e-4d57-8e12-6a4c9b7d0e35', 4, 'running', 'joyent'],
      ['7d13e5a0-c4f2-4b8a-9e6d-18b0a3f7c2d4', 9, 'running', 'lx'],
      ['b04c7e92-5a1d-4f63-a8e0-3c9d2b6f1a77', null, 'installed', 'kvm'],
      ['lab', 21, 'ready', 'ipkg'],
    ]);
    expect(zones[0].uuid).toBeUndefined();
    expect(zones[1].uuid).toBe('2f9a61c8-0b3e-4d57-8e12-6a4c9b7d0e35');
    expect(zones[4].zonepath).toBe('/export/zones/lab:odd\\path');
    expect(zones[4].uuid).toBeUndefined();
  });

  it('rejects text that is not zoneadm output, naming the line and the field', () => {
    expect(() => parseZoneadmList('0:global:running:/::liveimg:shared:\nhello world\n')).toThrow(/line 2: expected 7 or 8/);
    expect(() => parseZoneadmList('x:global:running:/::liveimg:shared:\n')).toThrow(/line 1: zoneid "x"/);
  });
});

describe('vmadm list -p -o uuid,alias,state,type,ram', () => {
  it('reads aliases with colons and spaces, empty alias and empty ram', () => {
    expect(parseVmadmList(fixture('vmadm-list-p.txt'))).toEqual([
      { uuid: '2f9a61c8-0b3e-4d57-8e12-6a4c9b7d0e35', alias: 'api-gateway', state: 'running', type: 'OS', ram: 1024 },
      { uuid: '7d13e5a0-c4f2-4b8a-9e6d-18b0a3f7c2d4', alias: 'ci: nightly builds', state: 'running', type: 'LX', ram: 8192 },
      { uuid: 'b04c7e92-5a1d-4f63-a8e0-3c9d2b6f1a77', state: 'stopped', type: 'KVM' },
    ]);
  });

  it('rejects a line that does not start with a VM uuid', () => {
    expect(() => parseVmadmList('UUID:ALIAS:STATE:TYPE:RAM\n')).toThrow(/line 1: "UUID" is not a VM uuid/);
  });
});

describe('zfs list -Hp / zpool list -Hp', () => {
  it("reads '-' as absent, UINT64_MAX as unlimited, and 1.38x from older pools", () => {
    const ds = parseZfsList(fixture('zfs-list-Hp.tsv'));
    expect(ds.map((d) => [d.name.split('/').pop(), d.quota, d.compressratio])).toEqual([
      ['zones', 0, 1.71],
      ['2f9a61c8-0b3e-4d57-8e12-6a4c9b7d0e35', 10737418240, 2.04],
      ['data', Infinity, 1],
      ['b04c7e92-5a1d-4f63-a8e0-3c9d2b6f1a77-disk0', undefined, 1.38],
    ]);
    expect(ds[1]).toMatchObject({ used: 4294967296, available: 6442450944, referenced: 3758096384, usedbysnapshots: 536870912 });
  });

  it("reads 8% from older pools and a faulted pool's '-' numbers as absent", () => {
    expect(parseZpoolList(fixture('zpool-list-Hp.tsv'))).toEqual([
      { name: 'zones', size: 3985729650688, allocated: 912680550400, free: 3073049100288, fragmentation: 11, health: 'ONLINE' },
      { name: 'tank', size: 1992864825344, allocated: 1593112363008, free: 399752462336, fragmentation: 8, health: 'DEGRADED' },
      { name: 'cold', size: undefined, allocated: undefined, free: undefined, fragmentation: undefined, health: 'FAULTED' },
    ]);
  });

  it('rejects rows with the wrong number of fields, naming the command and line', () => {
    expect(() => parseZfsList('zones 123 456\n')).toThrow(/zfs list -Hp line 1: expected 7 TAB-separated fields, got 1/);
    expect(() => parseZpoolList('zones\t1\t2\t3\t4\tonline\n')).toThrow(/health "online" is not a pool state/);
  });
});
