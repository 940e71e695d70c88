// The metric families agents may send as points, and how the server exposes them.
// Names are Prometheus names without the `zonescope_` prefix; a point whose family is not
// here is counted and dropped by the server, so the exposition stays under our control.
export type FamilyType = 'gauge' | 'counter';
export interface Family {
  type: FamilyType;
  help: string;
}

const g = (help: string): Family => ({ type: 'gauge', help });
const c = (help: string): Family => ({ type: 'counter', help });

export const FAMILIES = {
  // host (zone label absent)
  node_cpu_seconds_total: c('Host CPU time by mode (Linux /proc/stat, illumos cpu_stat), all CPUs unless cpu is set.'),
  node_memory_total_bytes: g('Host physical memory.'),
  node_memory_available_bytes: g('Host memory available for new work.'),
  node_memory_free_bytes: g('Host memory entirely unused.'),
  node_net_receive_bytes_total: c('Host bytes received per interface.'),
  node_net_transmit_bytes_total: c('Host bytes transmitted per interface.'),
  node_disk_read_bytes_total: c('Host bytes read per disk.'),
  node_disk_written_bytes_total: c('Host bytes written per disk.'),
  node_load1: g('Host 1-minute load average.'),

  // zone CPU
  zone_cpu_seconds_total: c('CPU time used by the zone, by mode (user, system).'),
  zone_cpu_usage_seconds_total: c('CPU time used by the zone, all modes.'),
  zone_cpu_wait_seconds_total: c('Time the zone\'s threads waited on a run queue.'),
  zone_cpu_throttled_total: c('Periods in which the zone was throttled by its CPU limit.'),
  zone_cpu_throttled_seconds_total: c('Time the zone was throttled by its CPU limit.'),
  zone_cpu_cap_usage_ratio: g('CPU cap usage as a fraction of the cap (1 = at the cap).'),
  zone_cpu_cap_ratio: g('CPU cap in CPUs (100% = 1).'),
  zone_cpu_cap_baseline_ratio: g('CPU cap baseline in CPUs.'),
  zone_cpu_cap_above_seconds_total: c('Time the zone spent at or above its CPU cap (illumos above_sec).'),
  zone_cpu_cap_below_seconds_total: c('Time the zone spent below its CPU baseline.'),
  zone_cpu_cap_wait_total: c('Threads that waited on the CPU cap.'),
  zone_cpu_cap_bursting_seconds_total: c('Time the zone spent bursting over its baseline.'),
  zone_cpu_cap_effective_ratio: g('CPU cap in force now, in CPUs (illumos effective).'),
  zone_cpu_cap_max_usage_ratio: g('Highest CPU usage seen under the cap, in CPUs (illumos maxusage).'),
  zone_cpu_cap_burst_limit_seconds: g('How long the zone may burst over its baseline (0 = no limit).'),
  zone_cpu_cap_waiting_threads: g('Threads waiting on the CPU cap now (illumos nwait).'),
  zone_load1: g('Zone 1-minute load average.'),

  // zone memory
  zone_memory_rss_bytes: g('Memory in use by the zone (illumos rss; Linux working set: usage minus inactive page cache).'),
  zone_memory_limit_bytes: g('Memory limit of the zone (absent when unlimited).'),
  zone_memory_anon_bytes: g('Anonymous memory of the zone.'),
  zone_memory_file_bytes: g('Page-cache memory of the zone.'),
  zone_swap_bytes: g('Swap reserved/used by the zone.'),
  zone_swap_limit_bytes: g('Swap limit of the zone (absent when unlimited).'),
  zone_memory_over_limit_total: c('Times the zone went over its memory limit (illumos nover, Linux memory.events max / failcnt).'),
  zone_memory_pagedout_bytes_total: c('Bytes paged out because the zone was over its memory cap.'),
  zone_memory_pagein_total: c('Pages paged in by the zone.'),
  zone_memory_anon_pagein_total: c('Anonymous pages paged in by the zone.'),
  zone_memory_anon_alloc_failures_total: c('Anonymous allocations that failed because of the swap cap.'),
  zone_memory_high_total: c('Times the zone went over memory.high (Linux).'),
  zone_oom_total: c('Times the zone hit out-of-memory (Linux memory.events oom).'),
  zone_oom_kills_total: c('Processes of the zone killed by the OOM killer (Linux).'),
  zone_pids: g('Tasks in the zone.'),

  // zone IO / VFS / net
  zone_vfs_reads_total: c('Read operations by the zone.'),
  zone_vfs_writes_total: c('Write operations by the zone.'),
  zone_vfs_read_bytes_total: c('Bytes read by the zone.'),
  zone_vfs_written_bytes_total: c('Bytes written by the zone.'),
  zone_vfs_run_seconds_total: c('Time VFS operations of the zone spent running (rtime).'),
  zone_vfs_wait_seconds_total: c('Time VFS operations of the zone spent waiting (wtime).'),
  zone_vfs_run_queue_length_seconds_total: c('Running VFS operations integrated over time (rlentime); its rate is the average number running.'),
  zone_vfs_wait_queue_length_seconds_total: c('Waiting VFS operations integrated over time (wlentime); its rate is the average number waiting.'),
  zone_vfs_ops_over_total: c('VFS operations slower than the `over` bound.'),
  zone_zfs_reads_total: c('ZFS reads by the zone.'),
  zone_zfs_writes_total: c('ZFS writes by the zone.'),
  zone_zfs_read_bytes_total: c('ZFS bytes read by the zone.'),
  zone_zfs_written_bytes_total: c('ZFS bytes written by the zone.'),
  zone_net_receive_bytes_total: c('Bytes received by the zone per interface.'),
  zone_net_transmit_bytes_total: c('Bytes transmitted by the zone per interface.'),
  zone_net_receive_packets_total: c('Packets received by the zone per interface.'),
  zone_net_transmit_packets_total: c('Packets transmitted by the zone per interface.'),
  zone_net_receive_errors_total: c('Receive errors per interface.'),
  zone_net_transmit_errors_total: c('Transmit errors per interface.'),
  zone_tcp_retransmits_total: c('TCP segments retransmitted by the zone.'),
  zone_tcp_listen_drops_total: c('TCP connections dropped from a full listen queue.'),
  zone_tcp_attempt_fails_total: c('TCP connection attempts that failed.'),
  zone_tcp_established: g('TCP connections currently established.'),

  // ZFS
  zfs_dataset_used_bytes: g('Bytes used by the dataset and its descendants.'),
  zfs_dataset_available_bytes: g('Bytes available to the dataset.'),
  zfs_dataset_referenced_bytes: g('Bytes referenced by the dataset.'),
  zfs_dataset_quota_bytes: g('Quota of the dataset (absent when unlimited).'),
  zfs_dataset_used_by_snapshots_bytes: g('Bytes used by the dataset\'s snapshots.'),
  zfs_dataset_compress_ratio: g('Compression ratio of the dataset.'),
  zpool_size_bytes: g('Pool size.'),
  zpool_allocated_bytes: g('Bytes allocated in the pool.'),
  zpool_free_bytes: g('Bytes free in the pool.'),
  zpool_fragmentation_ratio: g('Pool free-space fragmentation (0..1).'),
  zpool_health: g('1 for the pool\'s current health state.'),
  zfs_arc_size_bytes: g('ARC size.'),
  zfs_arc_target_bytes: g('ARC target size (c).'),
  zfs_arc_max_bytes: g('ARC maximum size (c_max).'),
  zfs_arc_hits_total: c('ARC hits.'),
  zfs_arc_misses_total: c('ARC misses.'),

  // the agent about itself
  agent_sampler_errors_total: c('Sampler runs that failed, by sampler.'),
  agent_sampler_duration_seconds: g('How long the last run of each sampler took.'),
  agent_sampler_backoff_seconds: g('Seconds until a sampler that kept timing out is tried again (0: not backing off).'),
  agent_values_unparsed_total: c('Values a sampler could not parse (counted, never exported as 0).'),
} as const satisfies Record<string, Family>;

export type FamilyName = keyof typeof FAMILIES;
export const PREFIX = 'zonescope_';
