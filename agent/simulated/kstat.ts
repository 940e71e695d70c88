// kstat(1M) of the simulated node (see node.ts):
// kstat [-p] [-c class] [-m module] [-i instance] [-n name] [-s statistic] [m:i:n:s ...]
// Fields match exactly, by shell glob, or by /regex/. Exit 1 (no output) when nothing matched.
import { SimExit, UINT64_MAX, type SimNode, type SimResult } from './node.js';

type Stats = Record<string, string | number>;
interface Kstat { module: string; instance: number; name: string; cls: string; stats: Stats; /** statistic names, sorted */ names: string[] }
interface Selector { module: string; instance: string; name: string; statistic: string; class: string }

const die = (msg: string, code = 1): never => {
  throw new SimExit('kstat', msg, code);
};

export function kstat(node: SimNode, args: string[]): SimResult {
  let parsable = false;
  const selectors: Selector[] = [];
  const single: Selector = { module: '', instance: '', name: '', statistic: '', class: '' };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const take = () => {
      const v = args[++i];
      if (v === undefined) die(`option requires an argument -- ${a.slice(1)}`, 2);
      return v;
    };
    if (a === '-p') parsable = true;
    else if (a === '-m') single.module = take();
    else if (a === '-i') single.instance = take();
    else if (a === '-n') single.name = take();
    else if (a === '-s') single.statistic = take();
    else if (a === '-c') single.class = take();
    else if (a === '-q' || a === '-l') die(`${a} is not simulated`, 2);
    else if (a.startsWith('-')) die(`illegal option -- ${a.slice(1)}`, 2);
    else if (/^\d+$/.test(a)) die('intervals are not simulated', 2);
    else {
      const [module = '', instance = '', name = '', statistic = ''] = a.split(':');
      selectors.push({ module, instance, name, statistic, class: single.class });
    }
  }
  if (!selectors.length) selectors.push(single);
  else for (const s of selectors) for (const k of ['module', 'instance', 'name', 'statistic'] as const) s[k] ||= single[k];

  function matcher(pat: string): (s: string) => boolean {
    if (!pat) return () => true;
    if (pat.length > 1 && pat.startsWith('/') && pat.endsWith('/')) {
      let re: RegExp;
      try {
        re = new RegExp(pat.slice(1, -1));
      } catch {
        die(`invalid regular expression: ${pat}`, 2);
      }
      return (s: string) => re.test(s);
    }
    const glob = new RegExp(`^${pat.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return (s: string) => glob.test(s);
  }
  const compiled = selectors.map((s) => ({
    module: matcher(s.module), instance: matcher(s.instance), name: matcher(s.name),
    statistic: matcher(s.statistic), class: matcher(s.class),
  }));

  const kstats = nodeKstats(node);
  const out: string[] = [];
  const human: string[] = [];
  for (const k of kstats) {
    const hits = compiled.filter((c) => c.module(k.module) && c.instance(String(k.instance)) && c.name(k.name) && c.class(k.cls));
    if (!hits.length) continue;
    const picked = k.names.filter((s) => hits.some((c) => c.statistic(s)));
    if (!picked.length) continue;
    for (const s of picked) out.push(`${k.module}:${k.instance}:${k.name}:${s}\t${k.stats[s]}`);
    if (!parsable) human.push(`module: ${k.module.padEnd(32)}instance: ${k.instance}\nname:   ${k.name.padEnd(32)}class:    ${k.cls}\n` +
      picked.map((s) => `\t${s.padEnd(31)}${k.stats[s]}`).join('\n') + '\n');
  }
  if (!out.length) return { stdout: '', stderr: '', code: 1 };
  return { stdout: parsable ? `${out.join('\n')}\n` : `${human.join('\n')}\n`, stderr: '', code: 0 };
}

// Every kstat of the node at this moment, sorted as kstat prints them. A round's samplers each
// run kstat within milliseconds: one second's snapshot serves them all (counters move by
// less than their rates' resolution in between).
const snapshots = new WeakMap<SimNode, { at: number; kstats: Kstat[] }>();

function nodeKstats(node: SimNode): Kstat[] {
  const cached = snapshots.get(node);
  if (cached && Math.abs(node.now() - cached.at) < 1) return cached.kstats;
  const data = node.data;
    const zones = node.zones();
    const now = node.now();
    const counter = node.counter.bind(node);
    const wander = node.wander.bind(node);
    const bootTime = node.bootTime;
  const uptime = (t: number) => (now - bootTime) + (t - Math.floor(t)); // hrtime since node boot
  const hr = (epochS: number) => (epochS - bootTime).toFixed(9);
  const kstats: Kstat[] = [];
  const add = (module: string, instance: number, name: string, cls: string, crtimeEpoch: number, stats: Stats) => {
    const all = { ...stats, class: cls, crtime: hr(crtimeEpoch), snaptime: uptime(now).toFixed(9) };
    kstats.push({ module, instance, name, cls, stats: all, names: Object.keys(all).sort() });
  };
  const ns = 1e9;

  for (let cpu = 0; cpu < (data.cpus ?? 2); cpu++) {
    const t0 = bootTime;
    const busy = zones.filter((z) => z.state === 'running').reduce((s, z) => s + (z.cpu?.user ?? 0) + (z.cpu?.sys ?? 0), 0);
    // CPUs are not loaded evenly
    const share = (1 + 0.12 * (cpu - ((data.cpus ?? 2) - 1) / 2)) / (data.cpus ?? 2);
    const user = zones.filter((z) => z.state === 'running').reduce((s, z) => s + (z.cpu?.user ?? 0), 0) * share;
    const sys = zones.filter((z) => z.state === 'running').reduce((s, z) => s + (z.cpu?.sys ?? 0), 0) * share;
    const idle = Math.max(0.01, 1 - busy * share);
    const el = now - t0;
    add('cpu', cpu, 'sys', 'misc', t0, {
      cpu_nsec_dtrace: counter(0.0001, t0, ns), cpu_nsec_idle: Math.floor(idle * el * ns),
      cpu_nsec_intr: counter(0.004, t0, ns), cpu_nsec_kernel: Math.floor(sys * el * ns), cpu_nsec_user: Math.floor(user * el * ns),
      cpu_ticks_idle: Math.floor(idle * el * 100), cpu_ticks_kernel: Math.floor(sys * el * 100), cpu_ticks_user: Math.floor(user * el * 100),
      cpu_ticks_wait: 0, cpumigrate: counter(3, t0), syscall: counter(2400 + cpu * 10, t0), pswitch: counter(900, t0),
    });
    add('cpu_stat', cpu, `cpu_stat${cpu}`, 'misc', t0, {
      idle: Math.floor(idle * el * 100), kernel: Math.floor(sys * el * 100), user: Math.floor(user * el * 100), wait: 0,
    });
    add('cpu_info', cpu, `cpu_info${cpu}`, 'misc', t0, {
      brand: data.cpuBrand ?? 'Simulated CPU', chip_id: 0, clock_MHz: 2600, core_id: cpu, current_clock_Hz: 2600000000,
      implementation: 'x86 (chipid 0x0 GenuineIntel family 6 model 79 step 1 clock 2600 MHz)', state: 'on-line',
      vendor_id: 'GenuineIntel',
    });
  }
  add('sderr', 0, 'sd0,err', 'device_error', bootTime, {
    'Device Not Ready': 0, 'Hard Errors': 0, 'Illegal Request': 3, Model: 'Simulated SSD   ', Product: 'SIMSSD 480GB',
    Revision: '1.0', 'Serial No': '', 'Soft Errors': 0, Size: 480103981056, Vendor: 'ATA     ',
  });
  {
    const a = data.arcstats ?? {};
    const stats: Stats = {};
    for (const [k, v] of Object.entries(a.gauges ?? {})) stats[k] = k === 'size' || k === 'c' ? wander(v, 0.01, 600) : v;
    for (const [k, v] of Object.entries(a.counters ?? {})) stats[k] = counter(v, bootTime);
    add('zfs', 0, 'arcstats', 'misc', bootTime, stats);
  }

  const trunc = (s: string) => s.slice(0, 30);
  for (const z of zones) {
    if (z.state !== 'running' || z.zoneid === null || z.zoneid === undefined) continue;
    const id = z.zoneid;
    const t0 = z.bootTime;
    const up = Math.max(0, now - t0);
    const kname = id === 0 ? 'global' : trunc(z.name);
    const zonename = z.name;
    const load = z.load1 ?? 0;
    add('zones', id, kname, 'zone_misc', t0, {
      avenrun_15min: Math.round(load * 0.9 * 256), avenrun_1min: Math.round(wander(load * 1000, 0.2, 120) / 1000 * 256),
      avenrun_5min: Math.round(load * 0.95 * 256), boot_time: Math.floor(t0), forkfail_cap: 0, forkfail_misc: 0,
      forkfail_nomem: 0, forkfail_noproc: 0, init_pid: id === 0 ? 1 : 4000 + id * 17, mapfail_seglim: 0, nested_interp: 0,
      nsec_sys: counter(z.cpu?.sys, t0, ns), nsec_user: counter(z.cpu?.user, t0, ns), nsec_waitrq: counter(z.cpu?.waitrq, t0, ns),
      zonename,
    });
    const m = z.memory ?? {};
    const physcap = m.physcap ?? '0';
    const capN = Number(physcap);
    let rss = wander(m.rss ?? 0, 0.02, 180) + counter(m.rssGrowth, t0);
    if (capN > 0 && physcap !== UINT64_MAX) rss = Math.min(rss, Math.round(capN * 1.01));
    add('memory_cap', id, kname, 'zone_memory_cap', t0, {
      anon_alloc_fail: counter(m.anonAllocFail, t0), anonpgin: counter(m.anonpgin, t0), execpgin: counter((m.pgpgin ?? 0) * 0.1, t0),
      fspgin: counter((m.pgpgin ?? 0) * 0.9, t0), n_pf_throttle: 0, n_pf_throttle_usec: 0, nover: counter(m.nover, t0),
      pagedout: counter(m.pagedout, t0), pgpgin: counter(m.pgpgin, t0), physcap, rss, swap: wander(m.swap ?? 0, 0.01),
      swapcap: m.swapcap ?? UINT64_MAX, zonename,
    });
    if (z.cpucap) {
      const c = z.cpucap;
      const usage = Math.round(wander(c.usage * 100, 0.1, 90) / 100);
      add('caps', id, `cpucaps_zone_${id}`, 'zone_caps', t0, {
        above_base_sec: counter(0.3, t0), above_sec: counter(c.usage >= c.value * 0.95 ? 0.5 : 0.01, t0), baseline: c.baseline,
        below_sec: counter(0.5, t0), burst_limit_sec: c.burstLimit, bursting_sec: counter(c.usage > c.baseline ? 0.4 : 0, t0),
        effective: c.value, maxusage: Math.max(usage, Math.round(c.value * 0.98)), nwait: usage >= c.value * 0.95 ? 2 : 0,
        usage, value: c.value, zonename,
      });
    }
    // every zone has the other resource caps, so a filter on cpucaps_ must do its job
    add('caps', id, `lockedmem_zone_${id}`, 'zone_caps', t0, { usage: 0, value: UINT64_MAX, zonename });
    add('caps', id, `nprocs_zone_${id}`, 'zone_caps', t0, { usage: 40 + id, value: UINT64_MAX, zonename });
    add('caps', id, `swapresv_zone_${id}`, 'zone_caps', t0, { usage: wander(m.swap ?? 0, 0.01), value: m.swapcap ?? UINT64_MAX, zonename });
    const v = z.vfs ?? {};
    const ops = (v.reads ?? 0) + (v.writes ?? 0);
    add('zone_vfs', id, kname, 'zone_vfs', t0, {
      '100ms_ops': counter(ops * 0.002 + (v.slow ?? 0) * 0.3, t0), '10ms_ops': counter(ops * 0.02 + (v.slow ?? 0), t0),
      '10s_ops': counter((v.slow ?? 0) * 0.001, t0), '1s_ops': counter((v.slow ?? 0) * 0.05, t0),
      delay_cnt: counter((v.slow ?? 0) * 2, t0), delay_time: counter((v.slow ?? 0) * 300, t0), nread: counter(v.readBytes, t0),
      nwritten: counter(v.writeBytes, t0), reads: counter(v.reads, t0), rlentime: counter(0.015 * (v.reads ?? 0) / 100, t0, ns),
      rtime: counter(0.012 * (v.reads ?? 0) / 100, t0, ns), wlentime: counter(0.02 * (v.writes ?? 0) / 100, t0, ns),
      writes: counter(v.writes, t0), wtime: counter(0.01 * (v.writes ?? 0) / 100, t0, ns), zonename,
    });
    add('zone_zfs', id, kname, 'zone_zfs', t0, {
      nread: counter((v.readBytes ?? 0) * 0.8, t0), nwritten: counter((v.writeBytes ?? 0) * 0.9, t0),
      reads: counter((v.reads ?? 0) * 0.7, t0), rlentime: counter(0.01, t0, ns), rtime: counter(0.008, t0, ns),
      waittime: counter(0.002, t0, ns), wlentime: counter(0.01, t0, ns), writes: counter((v.writes ?? 0) * 0.8, t0),
      wtime: counter(0.006, t0, ns), zonename,
    });
    for (const l of z.links ?? []) {
      // SmartOS names a zone's VNIC kstat z<zoneid>_<link> in the global zone
      const lname = id === 0 ? l.name : `z${id}_${l.name}`;
      const ip = counter(l.rxPackets, t0);
      const op = counter(l.txPackets, t0);
      const rb = counter(l.rxBytes, t0);
      const ob = counter(l.txBytes, t0);
      add('link', 0, lname, 'net', t0, {
        brdcstrcv: Math.floor(ip * 0.01), brdcstxmt: Math.floor(op * 0.001), collisions: 0, ierrors: Math.floor(ip / 250000),
        ifspeed: 10000000000, ipackets: ip % 2 ** 32, ipackets64: ip, link_duplex: id === 0 ? 2 : 0, link_state: 1,
        multircv: 0, multixmt: Math.floor(op * 0.001), norcvbuf: 0, noxmtbuf: 0, obytes: ob % 2 ** 32, obytes64: ob,
        oerrors: 0, opackets: op % 2 ** 32, opackets64: op, rbytes: rb % 2 ** 32, rbytes64: rb, unknowns: Math.floor(ip * 0.0001),
        zonename,
      });
    }
    // tcp MIB kstats are per IP stack: exclusive-stack zones have their own (instance = zoneid),
    // shared-stack zones are counted in the global zone's
    if (z.tcp && (id === 0 || z.iptype === 'excl')) {
      const t = z.tcp;
      add('tcp', id, 'tcp', 'mib2', t0, {
        activeOpens: counter(2, t0), attemptFails: counter(t.attemptFails, t0), connTableSize: 56, currEstab: t.established,
        estabResets: counter(0.05, t0), halfOpenDrop: 0, inDupAck: counter(0.7, t0), inSegs: counter(900, t0),
        listenDrop: counter(t.listenDrop, t0), listenDropQ0: 0, maxConn: -1, outRsts: counter(0.3, t0), outSegs: counter(850, t0),
        passiveOpens: counter(1.5, t0), retransBytes: counter(t.retrans * 1200, t0), retransSegs: counter(t.retrans, t0),
        rtoAlgorithm: 4, rtoMax: 60000, rtoMin: 400, timRetrans: counter(t.retrans * 0.3, t0), timRetransDrop: 0,
      });
      add('tcp', id, 'tcpstat', 'net', t0, { tcp_activeopen: counter(2, t0), tcp_rput_time_wait: 0, tcp_time_wait_syn_success: 0 });
    }
  }

  kstats.sort((a, b) => (a.module < b.module ? -1 : a.module > b.module ? 1 : a.instance - b.instance || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
  snapshots.set(node, { at: now, kstats });
  return kstats;
}
