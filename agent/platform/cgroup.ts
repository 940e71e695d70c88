// The cgroup hierarchies of a Linux host and the container cgroups in them. Works on pure
// v2 hosts (one hierarchy at the root) and on hybrid hosts (v1 controllers each mounted at
// ROOT/NAME, v2 at ROOT/unified), so every path is resolved through the layout, never
// assumed. The root is a parameter so tests run on fake trees.
import { readdir, readFile, stat } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface Hierarchy {
  /** absolute directory the hierarchy is mounted at */
  dir: string;
  version: 1 | 2;
  /** controllers bound to it (v2: its root's cgroup.controllers) */
  controllers: ReadonlySet<string>;
}

export interface CgroupLayout {
  hierarchies: Hierarchy[];
  /** the v2 hierarchy, with or without controllers */
  unified?: Hierarchy;
}

/** The controllers zonescope reads; hierarchies for others (devices, freezer...) are not walked. */
export const CONTROLLERS = ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'io'] as const;
export type Controller = (typeof CONTROLLERS)[number];

/** Reads a file; undefined when it is not there (a controller not enabled, a cgroup just removed). */
export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // ENODEV/ESRCH: the cgroup went away between readdir and read
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENODEV' || code === 'ESRCH') return undefined;
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function detectLayout(root: string): Promise<CgroupLayout> {
  const v2Only = await readIfExists(join(root, 'cgroup.controllers'));
  if (v2Only !== undefined) {
    const h: Hierarchy = { dir: root, version: 2, controllers: new Set(v2Only.split(/\s+/).filter(Boolean)) };
    return { hierarchies: [h], unified: h };
  }
  let names: string[];
  try {
    names = (await readdir(root)).sort();
  } catch {
    return { hierarchies: [] };
  }
  const out: Hierarchy[] = [];
  const seen = new Set<string>();
  let unified: Hierarchy | undefined;
  for (const name of names) {
    const dir = join(root, name);
    if (!(await isDir(dir))) continue;
    // `cpu` and `cpuacct` are often symlinks to one `cpu,cpuacct` mount: count it once
    let real = dir;
    try {
      real = realpathSync(dir);
    } catch {
      continue;
    }
    if (seen.has(real)) continue;
    const v2 = await readIfExists(join(dir, 'cgroup.controllers'));
    if (v2 !== undefined) {
      seen.add(real);
      unified = { dir, version: 2, controllers: new Set(v2.split(/\s+/).filter(Boolean)) };
      out.push(unified);
      continue;
    }
    if ((await readIfExists(join(dir, 'cgroup.procs'))) === undefined) continue;
    // named by the mount, not the symlink: `cpu` → `cpu,cpuacct` holds both
    const controllers = basename(real).split(',').filter((c) => (CONTROLLERS as readonly string[]).includes(c));
    if (controllers.length === 0) continue;
    seen.add(real);
    out.push({ dir, version: 1, controllers: new Set(controllers) });
  }
  return { hierarchies: out, unified };
}

/** The hierarchy holding a controller: its v1 mount, else v2 when bound there. */
export function holder(layout: CgroupLayout, controller: Controller): Hierarchy | undefined {
  return (
    layout.hierarchies.find((h) => h.version === 1 && h.controllers.has(controller)) ??
    (layout.unified?.controllers.has(controller) ? layout.unified : undefined)
  );
}

/**
 * A place where container cgroups live, written `[brand=]path/with/{name}` or `{id}`:
 * `lxc=lxc.payload.{name}`, `docker=docker/{id}`. The placeholder sits in the last path
 * segment; `{id}` is a 12-64 digit hex id shortened to 12 characters like `docker ps`.
 * A leading `/` anchors the pattern at the hierarchy root; without it, it matches at any
 * depth (nested and delegated trees, e.g. LXC started from inside another cgroup).
 */
export interface ZoneRoot {
  spec: string;
  brand: string;
  re: RegExp;
  kind: 'name' | 'id';
}

export const DEFAULT_ZONE_ROOTS: readonly string[] = [
  'lxc=lxc.payload.{name}',
  'lxc=/lxc/{name}',
  'docker=docker/{id}',
  'docker=system.slice/docker-{id}.scope',
  'machine=machine.slice/machine-{name}.scope',
  'cgroup=zonescope/{name}',
];

export function parseZoneRoot(spec: string): ZoneRoot {
  const m = /^([a-z][a-z0-9_-]*)=(.*)$/.exec(spec);
  const brand = m ? m[1] : 'cgroup';
  const path = m ? m[2] : spec;
  const bad = (why: string) => new Error(`zone root "${spec}": ${why}`);
  const anchored = path.startsWith('/');
  const segs = path.replace(/^\/+/, '').split('/');
  const last = segs[segs.length - 1];
  const holes = path.match(/\{(name|id)\}/g) ?? [];
  if (holes.length !== 1) throw bad('needs exactly one {name} or {id}');
  if (!/\{(name|id)\}/.test(last)) throw bad('{name} or {id} must be in the last path segment');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) throw bad('empty, . or .. path segment');
  const kind = holes[0] === '{id}' ? 'id' : 'name';
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const body = segs
    .map((s) => s.split(/\{(?:name|id)\}/).map(esc).join(kind === 'id' ? '([0-9a-f]{12,64})' : '([^/]+)'))
    .join('/');
  return { spec, brand, kind, re: new RegExp(`${anchored ? '^' : '(?:^|/)'}${body}$`) };
}

const NAME_OK = /^[A-Za-z0-9_.:@-]+$/;

/** systemd escapes unit names (`machine-qemu\x2d1\x2dvm.scope`); zone names should not show it. */
function unescapeSystemd(s: string): string {
  return s.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A protocol-valid zone name, or undefined when nothing usable is left. */
export function zoneName(raw: string, kind: 'name' | 'id'): string | undefined {
  if (kind === 'id') return raw.slice(0, 12);
  const n = unescapeSystemd(raw).replace(/[^A-Za-z0-9_.:@-]/g, '_').slice(0, 256);
  return NAME_OK.test(n) && !/^_+$/.test(n) ? n : undefined;
}

export interface FoundZone {
  name: string;
  brand: string;
  /** hierarchy dir → the zone's cgroup path relative to it */
  paths: Map<string, string>;
}

/** Bounds on the walk, so a host with a huge or looping tree cannot stall discovery. */
const MAX_DEPTH = 12;
const MAX_DIRS = 50_000;

/** Walks each hierarchy once and returns the container cgroups the roots match, by name. */
export async function findZones(layout: CgroupLayout, roots: readonly ZoneRoot[]): Promise<FoundZone[]> {
  const byName = new Map<string, FoundZone>();
  for (const h of layout.hierarchies) {
    let visited = 0;
    const queue: Array<[string, number]> = [['', 0]];
    while (queue.length > 0 && visited < MAX_DIRS) {
      const [rel, depth] = queue.shift()!;
      let entries;
      try {
        entries = await readdir(join(h.dir, rel), { withFileTypes: true });
      } catch {
        continue; // removed while walking
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        if (!e.isDirectory()) continue;
        visited++;
        const child = rel ? `${rel}/${e.name}` : e.name;
        const hit = match(child, roots);
        if (!hit) {
          if (depth + 1 < MAX_DEPTH) queue.push([child, depth + 1]);
          continue;
        }
        const z = byName.get(hit.name);
        if (!z) byName.set(hit.name, { name: hit.name, brand: hit.brand, paths: new Map([[h.dir, child]]) });
        // same name again in this hierarchy (two ids with one 12-char prefix): first wins
        else if (z.brand === hit.brand && !z.paths.has(h.dir)) z.paths.set(h.dir, child);
      }
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

function match(rel: string, roots: readonly ZoneRoot[]): { name: string; brand: string } | undefined {
  for (const r of roots) {
    const m = r.re.exec(rel);
    if (!m) continue;
    const name = zoneName(m[1], r.kind);
    // a reserved or unusable name is not a container zone
    if (name && name !== 'global') return { name, brand: r.brand };
  }
  return undefined;
}

/** True when any process is in the cgroup or below it. */
export async function populated(layout: CgroupLayout, z: FoundZone): Promise<boolean> {
  const u = layout.unified && z.paths.get(layout.unified.dir);
  if (u !== undefined && layout.unified) {
    const ev = await readIfExists(join(layout.unified.dir, u, 'cgroup.events'));
    const m = ev && /^populated (\d)$/m.exec(ev);
    if (m) return m[1] === '1';
  }
  // v1 has no recursive flag: look for a process in the tree, bounded
  for (const [dir, rel] of z.paths) {
    if (await anyProcs(join(dir, rel), 4)) return true;
  }
  return false;
}

async function anyProcs(dir: string, depth: number): Promise<boolean> {
  const procs = await readIfExists(join(dir, 'cgroup.procs'));
  if (procs && procs.trim() !== '') return true;
  if (depth === 0) return false;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const e of entries) if (e.isDirectory() && (await anyProcs(join(dir, e.name), depth - 1))) return true;
  return false;
}

/**
 * The host's cgroups as the samplers see them: the layout, and where each discovered zone
 * sits in every hierarchy (paths can differ between v1 hierarchies).
 */
export class CgroupTree {
  readonly root: string;
  readonly roots: readonly ZoneRoot[];
  private layoutP: Promise<CgroupLayout> | undefined;
  private found = new Map<string, FoundZone>();

  constructor(root: string, zoneRoots: readonly string[] = DEFAULT_ZONE_ROOTS) {
    this.root = root;
    this.roots = zoneRoots.map(parseZoneRoot);
  }

  layout(): Promise<CgroupLayout> {
    this.layoutP ??= detectLayout(this.root);
    return this.layoutP;
  }

  /** Re-reads the layout (mounts can change) and the zones. */
  async discover(): Promise<FoundZone[]> {
    this.layoutP = detectLayout(this.root);
    const layout = await this.layoutP;
    const zones = await findZones(layout, this.roots);
    this.found = new Map(zones.map((z) => [z.name, z]));
    return zones;
  }

  /** The zone's cgroup path in the unified hierarchy if it is there (bpftrace's `cgroup` is a v2 id), else in the first. */
  static primaryPath(layout: CgroupLayout, z: FoundZone): string {
    if (layout.unified && z.paths.has(layout.unified.dir)) return z.paths.get(layout.unified.dir)!;
    return z.paths.values().next().value as string;
  }

  /**
   * The zone's directory in hierarchy `h`, from the last discovery, else from the zone's
   * own `cgroup` path (the same relative path in every hierarchy, as LXC and docker make it).
   */
  dirIn(h: Hierarchy, zone: { name: string; cgroup?: string }): string | undefined {
    const f = this.found.get(zone.name);
    if (f) {
      const rel = f.paths.get(h.dir);
      return rel === undefined ? undefined : join(h.dir, rel);
    }
    return zone.cgroup ? join(h.dir, zone.cgroup) : undefined;
  }
}
