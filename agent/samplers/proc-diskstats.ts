// Host disk bytes per whole device from /proc/diskstats.
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseDiskstats } from '../parse/proc.js';
import { readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

/** The kernel counts in 512-byte sectors whatever the device's sector size. */
const SECTOR = 512;
/**
 * Partitions would count their disk's bytes twice, and ram/loop/zram devices are not disks;
 * the same default as node_exporter's diskstats collector.
 */
export const DISK_IGNORE = /^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$/;

export function procDiskstatsSampler(opts: { procRoot?: string; ignore?: RegExp } = {}): Sampler {
  const file = join(opts.procRoot ?? '/proc', 'diskstats');
  const ignore = opts.ignore ?? DISK_IGNORE;
  return {
    name: 'proc-diskstats',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const text = await readIfExists(file);
      if (text === undefined) throw new Error(`${file}: not found`);
      const p = new Points(ctx);
      for (const d of parseDiskstats(text)) {
        if (ignore.test(d.device)) continue;
        const l = { device: d.device };
        p.add('node_disk_read_bytes_total', l, d.readSectors * SECTOR, `${file} ${d.device} sectors read`);
        p.add('node_disk_written_bytes_total', l, d.writtenSectors * SECTOR, `${file} ${d.device} sectors written`);
      }
      return p.list;
    },
  };
}
