/*
 * syscall-count: system calls by name and program.
 * $$1 zone name ("global" = the whole host), $2 duration in seconds.
 * @zs_seen_calls counts what the script saw, so the agent can tell when
 * records of @calls went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

syscall:::entry
/$$1 == "global" || zonename == $$1/
{
	@calls[probefunc, execname] = count();
	@zs_seen_calls = count();
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@calls);
	printa(@zs_seen_calls);
	trunc(@calls);
	trunc(@zs_seen_calls);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
