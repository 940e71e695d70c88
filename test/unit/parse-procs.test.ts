import { describe, expect, it } from 'vitest';
import { inCgroup, parseProcStatus, parsePs } from '../../agent/parse/procs.js';

describe('process list parsers', () => {
  it('reads name, resident and virtual size from /proc/PID/status; kernel threads have none', () => {
    const st = 'Name:\tpostgres\nUmask:\t0077\nVmSize:\t  215584 kB\nVmRSS:\t   28412 kB\nThreads:\t1\n';
    expect(parseProcStatus(st)).toEqual({ name: 'postgres', rssBytes: 28412 * 1024, vszBytes: 215584 * 1024 });
    expect(parseProcStatus('Name:\tkworker/0:1\nThreads:\t1\n')).toBeUndefined();
  });

  it('places a process in a cgroup by v1 or v2 path, and not in a sibling with a longer name', () => {
    const hybrid = '12:memory:/lxc.payload.web1\n11:cpu,cpuacct:/lxc.payload.web1\n0::/lxc.payload.web1/.lxc\n';
    expect(inCgroup(hybrid, 'lxc.payload.web1')).toBe(true);
    expect(inCgroup('0::/lxc.payload.web10\n', 'lxc.payload.web1')).toBe(false);
    expect(inCgroup('0::/system.slice/sshd.service\n', 'lxc.payload.web1')).toBe(false);
  });

  it('reads illumos ps rows, arguments with spaces, sizes in KiB; refuses what is not ps', () => {
    const rows = parsePs('  PID   RSS   VSZ COMMAND\n 3005 721859 1154974 /opt/local/bin/node /opt/app/server.js --port 8080\n   12  1900  5700 /sbin/init\n');
    expect(rows[0]).toEqual({ pid: 3005, rssBytes: 721859 * 1024, vszBytes: 1154974 * 1024, comm: 'node', args: '/opt/local/bin/node /opt/app/server.js --port 8080' });
    expect(rows).toHaveLength(2);
    expect(parsePs('  PID   RSS   VSZ COMMAND\n')).toEqual([]);
    expect(() => parsePs('<html>502</html>\n')).toThrow(/unexpected header/);
  });
});
