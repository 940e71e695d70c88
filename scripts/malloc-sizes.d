/*
 * malloc-sizes: bytes requested from malloc() by user stack, for one process of the zone.
 * $$1 zone name ("global" = the whole host), $2 duration in seconds, $3 pid.
 * @zs_seen_bytes counts what the script saw, so the agent can tell when
 * records of @bytes went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

pid$3::malloc:entry
/$$1 == "global" || zonename == $$1/
{
	@bytes[ustack()] = sum(arg0);
	@sizes["malloc"] = quantize(arg0);
	@zs_seen_bytes = sum(arg0);
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@bytes);
	printa(@sizes);
	printa(@zs_seen_bytes);
	trunc(@bytes);
	trunc(@sizes);
	trunc(@zs_seen_bytes);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
