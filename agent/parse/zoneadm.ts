// Pure parser of `zoneadm list -cp`:
//   zoneid:zonename:state:zonepath:uuid:brand:ip-type[:debugid]
// zoneadm escapes ':' and '\' inside fields with a backslash (zonepaths may hold them). The
// global zone has an empty uuid; a zone that is not running has zoneid '-'. Zone ids change
// on every boot, so they are informative only: zones are keyed by name.
import type { Zone } from '../../protocol/messages.js';

export interface ZoneadmZone extends Zone {
  zonepath: string;
  ipType: string;
}

/** Splits on unescaped ':' and removes the escaping backslashes. */
export function splitEscaped(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) cur += line[++i];
    else if (c === ':') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

const ZONENAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Throws, naming the line, on anything that is not a zoneadm parsable line. */
export function parseZoneadmList(text: string): ZoneadmZone[] {
  const zones: ZoneadmZone[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (line === '') return;
    const f = splitEscaped(line);
    const where = `zoneadm list -cp line ${i + 1}`;
    if (f.length < 7 || f.length > 8) throw new Error(`${where}: expected 7 or 8 ':'-separated fields, got ${f.length}: ${JSON.stringify(line.slice(0, 200))}`);
    const [id, name, state, zonepath, uuid, brand, ipType] = f;
    if (id !== '-' && !/^\d+$/.test(id)) throw new Error(`${where}: zoneid ${JSON.stringify(id)} is neither a number nor '-'`);
    if (!ZONENAME.test(name)) throw new Error(`${where}: zonename ${JSON.stringify(name)} is not a valid zone name`);
    if (!/^[a-z_]+$/.test(state)) throw new Error(`${where}: state ${JSON.stringify(state)} is not a zone state`);
    const z: ZoneadmZone = { name, brand, state, zoneid: id === '-' ? null : Number(id), zonepath, ipType };
    if (uuid !== '') z.uuid = uuid;
    zones.push(z);
  });
  return zones;
}
