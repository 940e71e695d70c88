/*
 * memleak: bytes allocated by one process of the zone during the trace and not freed, by the
 * user stack that allocated them. DTrace cannot keep a stack to charge a free() back to its
 * malloc(), so this prints one event per call and the agent joins them (the classic DTrace
 * leak-script way, in agent/parse/dtrace-events.ts).
 * $$1 zone name ("global" = the whole host), $2 duration in seconds, $3 pid.
 */
#pragma D option quiet

int zs_tick;

pid$3::malloc:entry
/$$1 == "global" || zonename == $$1/
{
	self->zs_size = arg0;
}

pid$3::malloc:return
/self->zs_size && arg1 != 0/
{
	printf("zs_alloc %x %d\n", arg1, self->zs_size);
	ustack();
	self->zs_size = 0;
}

pid$3::free:entry
/arg0 != 0 && ($$1 == "global" || zonename == $$1)/
{
	printf("zs_free %x\n", arg0);
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
