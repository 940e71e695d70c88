/*
 * syscall-count: system calls by name and program.
 * $$1 zone name ("global" = the whole host), $2 duration in seconds.
 */
#pragma D option quiet

int zs_tick;

syscall:::entry
/$$1 == "global" || zonename == $$1/
{
	@calls[probefunc, execname] = count();
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@calls);
	trunc(@calls);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
