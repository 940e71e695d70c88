// Host network bytes per interface from /proc/net/dev (the agent's own network namespace).
import { join } from 'node:path';
import type { Zone } from '../../protocol/messages.js';
import { parseNetDev } from '../parse/proc.js';
import { readIfExists } from '../platform/cgroup.js';
import type { SampleContext, Sampler } from '../platform/types.js';
import { Points } from './linux-points.js';

export function procNetDevSampler(opts: { procRoot?: string } = {}): Sampler {
  const file = join(opts.procRoot ?? '/proc', 'net', 'dev');
  return {
    name: 'proc-net-dev',
    async sample(_zones: readonly Zone[], ctx: SampleContext) {
      const text = await readIfExists(file);
      if (text === undefined) throw new Error(`${file}: not found`);
      const p = new Points(ctx);
      for (const d of parseNetDev(text)) {
        const l = { interface: d.iface };
        p.add('node_net_receive_bytes_total', l, d.rxBytes, `${file} ${d.iface} receive bytes`);
        p.add('node_net_transmit_bytes_total', l, d.txBytes, `${file} ${d.iface} transmit bytes`);
      }
      return p.list;
    },
  };
}
