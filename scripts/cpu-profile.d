/*
 * cpu-profile: on-CPU kernel and user stacks of one zone, sampled $3 times a second.
 * $$1 zone name ("global" = the whole host), $2 duration in seconds, $3 hz.
 * @zs_seen_samples counts what the script saw, so the agent can tell when
 * records of @samples went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

profile-$3
/$$1 == "global" || zonename == $$1/
{
	@samples[stack(), ustack()] = count();
	@zs_seen_samples = count();
	/* where in the second each sample fell (20 ms slices): the UI's subsecond heatmap */
	@subsecond[(timestamp % 1000000000) / 20000000 * 20] = count();
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@samples);
	printa(@subsecond);
	printa(@zs_seen_samples);
	trunc(@samples);
	trunc(@subsecond);
	trunc(@zs_seen_samples);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
