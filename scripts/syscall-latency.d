/*
 * syscall-latency: per system call latency, log-linear buckets from 1 us to 10 s (ns).
 * $$1 zone name ("global" = the whole host), $2 duration in seconds.
 * @zs_seen_latency counts what the script saw, so the agent can tell when
 * records of @latency went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

syscall:::entry
/$$1 == "global" || zonename == $$1/
{
	self->zs_ts = timestamp;
}

syscall:::return
/self->zs_ts/
{
	@latency[probefunc] = llquantize(timestamp - self->zs_ts, 10, 3, 10, 10);
	@latency_sum[probefunc] = sum(timestamp - self->zs_ts);
	@zs_seen_latency = count();
	self->zs_ts = 0;
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@latency);
	printa(@latency_sum);
	printa(@zs_seen_latency);
	trunc(@latency);
	trunc(@latency_sum);
	trunc(@zs_seen_latency);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
