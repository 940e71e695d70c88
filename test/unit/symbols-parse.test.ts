// The symbolizer's pure parts: /proc/PID/maps, perf maps, readelf and nm text, and the
// address arithmetic from a runtime address to a named function.
import { describe, it, expect } from 'vitest';
import { fileOffset, findMapping, isFileMapping, moduleName, parseMaps } from '../../agent/tracers/symbols/maps.js';
import { lookupPerfMap, parsePerfMap } from '../../agent/tracers/symbols/perf-map.js';
import { lookupSymbol, offsetToVaddr, parseNm, parseReadelf } from '../../agent/tracers/symbols/elf-text.js';

const MAPS = `55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 101 /opt/app/bin/my app
55d0c0a01000-55d0c0a02000 r-xp 00001000 08:01 101 /opt/app/bin/my app
7f1c2a400000-7f1c2a428000 r--p 00000000 08:01 1835 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2a428000-7f1c2a5bd000 r-xp 00028000 08:01 1835 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1c2b000000-7f1c2b100000 rwxp 00000000 00:00 0 
7ffd1e5f0000-7ffd1e5f2000 r-xp 00000000 00:00 0                          [vdso]
7f1c2c000000-7f1c2c001000 r-xp 00000000 08:01 77 /tmp/old.so (deleted)
`;

describe('/proc/PID/maps', () => {
  const maps = parseMaps(MAPS);
  it('reads every mapping, paths with spaces and pseudo names included, sorted by address', () => {
    expect(maps.map((m) => m.path)).toEqual(['/opt/app/bin/my app', '/opt/app/bin/my app', '/usr/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6', '', '/tmp/old.so (deleted)', '[vdso]']);
    expect(maps[1]).toMatchObject({ exec: true, offset: 0x1000, dev: '08:01', inode: 101 });
  });
  it('finds the mapping of an address and its file offset (the load bias taken off)', () => {
    const m = findMapping(maps, 0x7f1c2a430010)!;
    expect(moduleName(m)).toBe('libc.so.6');
    expect(fileOffset(m, 0x7f1c2a430010)).toBe(0x30010);
    expect(findMapping(maps, 0x7f1c2a5bd000)).toBeUndefined(); // end is exclusive
    expect(findMapping(maps, 0x1000)).toBeUndefined();
  });
  it('tells files from anonymous memory and pseudo regions', () => {
    expect(isFileMapping(findMapping(maps, 0x7f1c2b000010)!)).toBe(false);
    expect(moduleName(findMapping(maps, 0x7f1c2b000010)!)).toBe('[anon]');
    expect(moduleName(findMapping(maps, 0x7ffd1e5f0010)!)).toBe('[vdso]');
    expect(moduleName(findMapping(maps, 0x7f1c2c000010)!)).toBe('old.so');
  });
  it('skips lines that are not mappings', () => {
    expect(parseMaps('garbage\n\n' + MAPS.split('\n')[0])).toHaveLength(1);
  });
});

describe('perf maps', () => {
  const pm = parsePerfMap(`7f1c2b000100 40 LazyCompile:*hot /srv/app.js:3:13
7f1c2b000200 20 Builtin:ArgumentsAdaptorTrampoline
7f1c2b000100 80 LazyCompile:*hot /srv/app.js:3:13 (reoptimized)
not a line
`);
  it('names an address inside a JIT symbol, the last line for one start winning', () => {
    expect(lookupPerfMap(pm, 0x7f1c2b000110)).toBe('LazyCompile:*hot /srv/app.js:3:13 (reoptimized)');
    expect(lookupPerfMap(pm, 0x7f1c2b000170)).toBe('LazyCompile:*hot /srv/app.js:3:13 (reoptimized)');
    expect(lookupPerfMap(pm, 0x7f1c2b000210)).toBe('Builtin:ArgumentsAdaptorTrampoline');
  });
  it('names nothing between or before symbols', () => {
    expect(lookupPerfMap(pm, 0x7f1c2b000220)).toBeUndefined();
    expect(lookupPerfMap(pm, 0x10)).toBeUndefined();
  });
});

const READELF = `
Elf file type is DYN (Position-Independent Executable file)
Program Headers:
  Type           Offset   VirtAddr           PhysAddr           FileSiz  MemSiz   Flg Align
  PHDR           0x000040 0x0000000000000040 0x0000000000000040 0x0002d8 0x0002d8 R   0x8
  LOAD           0x000000 0x0000000000000000 0x0000000000000000 0x000628 0x000628 R   0x1000
  LOAD           0x001000 0x0000000000201000 0x0000000000201000 0x0001bd 0x0001bd R E 0x1000
  LOAD           0x002000 0x0000000000402000 0x0000000000402000 0x000100 0x000100 R   0x1000

Displaying notes found in: .note.gnu.build-id
  Owner                Data size 	Description
  GNU                  0x00000014	NT_GNU_BUILD_ID (unique build ID bitstring)
    Build ID: 8e0ad4c2a1d6b1b7f0e0a4a4e2f1b3c4d5e6f708
`;

describe('readelf and nm text', () => {
  const h = parseReadelf(READELF);
  it('reads the loadable segments and the build-id', () => {
    expect(h.loads).toHaveLength(3);
    expect(h.buildId).toBe('8e0ad4c2a1d6b1b7f0e0a4a4e2f1b3c4d5e6f708');
  });
  it('turns a file offset into the link-time address through its segment', () => {
    expect(offsetToVaddr(h, 0x1010)).toBe(0x201010);
    expect(offsetToVaddr(h, 0x10)).toBe(0x10);
    expect(offsetToVaddr(h, 0x1800)).toBeUndefined(); // in no segment's file bytes
  });
  const t = parseNm(
    `main T 201100 2a
hot_loop t 201130 40
ns::Widget::draw(int, char const*) const T 201170 30
_init T 201000
data_thing D 402000 8
`,
    `malloc@@GLIBC_2.2.5 T 201180 10
alias_of_main W 201100 2a
`,
  );
  it('keeps function symbols of both tables, without versions, aliases named once', () => {
    expect(t.names).toEqual(['_init', 'main', 'hot_loop', 'ns::Widget::draw(int, char const*) const', 'malloc']);
  });
  it('names an address by the function holding it and the offset into it', () => {
    expect(lookupSymbol(t, 0x201105)).toEqual({ name: 'main', offset: 0x5 });
    expect(lookupSymbol(t, 0x201171)).toEqual({ name: 'ns::Widget::draw(int, char const*) const', offset: 0x1 });
    expect(lookupSymbol(t, 0x201184)).toEqual({ name: 'malloc', offset: 0x4 });
    // an unsized symbol reaches to the next one
    expect(lookupSymbol(t, 0x201050)).toEqual({ name: '_init', offset: 0x50 });
  });
  it('names nothing past a sized function (padding, stripped code) or before the first', () => {
    expect(lookupSymbol(t, 0x20112a)).toBeUndefined();
    expect(lookupSymbol(t, 0x201200)).toBeUndefined();
    expect(lookupSymbol(t, 0x100)).toBeUndefined();
  });
});
