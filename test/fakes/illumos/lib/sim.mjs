// The simulated SmartOS node behind the illumos stand-ins (kstat, zoneadm, vmadm, zfs, zpool).
// Plain JS so the stand-ins run without a build. The node is described by a JSON file
// (data/node.json, or $ZONESCOPE_FAKE_DATA); what changes at run time (zones started, stopped,
// rebooted by `vmadm`) lives in a state file under $ZONESCOPE_FAKE_STATE (default: os.tmpdir()).
// Counters are derived from wall time since each zone's boot, so rates are real and never 0.
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const UINT64_MAX = '18446744073709551615';

function listEnv(name) {
  return (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

/**
 * Failure injection for tests: ZONESCOPE_FAKE_FAIL / _GARBAGE / _HANG hold comma lists of
 * command names. Call first thing in every stand-in.
 */
export function inject(cmd) {
  if (listEnv('ZONESCOPE_FAKE_HANG').includes(cmd)) {
    // a wedged tool: never prints, never exits, until killed
    setInterval(() => {}, 1 << 30);
    return new Promise(() => {});
  }
  if (listEnv('ZONESCOPE_FAKE_FAIL').includes(cmd)) {
    process.stderr.write(`${cmd}: simulated failure (ZONESCOPE_FAKE_FAIL=${cmd}): I/O error\n`);
    process.exit(cmd === 'kstat' ? 3 : 1);
  }
  if (listEnv('ZONESCOPE_FAKE_GARBAGE').includes(cmd)) {
    process.stdout.write('\u0000\u0007Segmentation Fault - core dumped\n<html><body>502 Bad Gateway</body></html>\n%%%% ~~~~\n');
    process.exit(0);
  }
  return null;
}

export function die(cmd, msg, code = 1) {
  process.stderr.write(`${cmd}: ${msg}\n`);
  process.exit(code);
}

export function dataPath() {
  return resolve(process.env.ZONESCOPE_FAKE_DATA || join(here, '..', 'data', 'node.json'));
}

export function loadData() {
  const p = dataPath();
  let data;
  try {
    data = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    die('zonescope-fake', `cannot read simulated node ${p}: ${e.message}`, 3);
  }
  // The node "reboots" every rebootEveryS seconds of wall time (default 30 days), so uptime
  // stays plausible and nanosecond counters stay below 2^53 (exact in a double).
  const every = data.rebootEveryS ?? 30 * 86400;
  data.bootTime = Math.floor(nowS() / every) * every - (data.bootOffsetS ?? 3 * 86400 + 1234.5);
  if (nowS() - data.bootTime > every) data.bootTime += every;
  return data;
}

function statePath() {
  const dir = process.env.ZONESCOPE_FAKE_STATE || tmpdir();
  const key = createHash('sha1').update(dataPath()).digest('hex').slice(0, 12);
  return join(dir, `zonescope-fake-illumos-${key}.json`);
}

/** Zones as they are now: data overlaid with what vmadm changed. */
export function currentZones(data) {
  let state = {};
  try {
    state = JSON.parse(readFileSync(statePath(), 'utf8'));
  } catch {
    // no state yet: the node is as data describes it
  }
  return data.zones.map((z) => {
    const s = state[z.name] ?? {};
    return {
      ...z,
      state: s.state ?? z.state,
      zoneid: s.state ? s.zoneid : z.zoneid,
      bootTime: s.bootTime ?? data.bootTime + (z.zoneid ? 61.2637943 + z.zoneid * 37.0051 : 0),
    };
  });
}

export function saveZone(zone) {
  const p = statePath();
  let state = {};
  try {
    state = JSON.parse(readFileSync(p, 'utf8'));
  } catch {
    // first change
  }
  state[zone.name] = { state: zone.state, zoneid: zone.zoneid, bootTime: zone.bootTime };
  mkdirSync(dirname(p), { recursive: true });
  const tmp = `${p}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 1));
  renameSync(tmp, p);
}

export const nowS = () => Date.now() / 1000;

/** A counter that has grown at `rate` per second since `since` (epoch seconds). */
export function counter(rate, since, scale = 1) {
  return Math.floor((rate ?? 0) * scale * Math.max(0, nowS() - since));
}

/** A gauge that wanders ±pct around base, slowly, so charts move. */
export function wander(base, pct = 0.03, periodS = 300) {
  return Math.round(base * (1 + pct * Math.sin((2 * Math.PI * nowS()) / periodS)));
}
