/*
 * cpu-profile: on-CPU kernel and user stacks of one zone by process, sampled $3 times a
 * second. $$1 zone name ("global" = the whole host), $2 duration in seconds, $3 hz.
 * The last key is the sample's 20 ms time slice (timestamp, the monotonic clock, / 20 ms):
 * the agent turns it into wall-clock time, so the subsecond heatmap and the flame graph of
 * any selected slices are drawn from the same samples.
 * @zs_seen_samples counts what the script saw, so the agent can tell when
 * records of @samples went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

profile-$3
/$$1 == "global" || zonename == $$1/
{
	@samples[stack(), ustack(), pid, execname, timestamp / 20000000] = count();
	@zs_seen_samples = count();
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@samples);
	printa(@zs_seen_samples);
	trunc(@samples);
	trunc(@zs_seen_samples);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
