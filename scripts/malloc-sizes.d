/*
 * malloc-sizes: bytes requested from malloc() by user stack, for one process of the zone.
 * $$1 zone name ("global" = the whole host), $2 duration in seconds, $3 pid.
 */
#pragma D option quiet

int zs_tick;

pid$3::malloc:entry
/$$1 == "global" || zonename == $$1/
{
	@bytes[ustack()] = sum(arg0);
	@sizes["malloc"] = quantize(arg0);
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@bytes);
	printa(@sizes);
	trunc(@bytes);
	trunc(@sizes);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
