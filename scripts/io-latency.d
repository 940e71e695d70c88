/*
 * io-latency: block I/O latency by device, power-of-two buckets (ns).
 * $$1 zone name ("global" = the whole host), $2 duration in seconds.
 * @zs_seen_latency counts what the script saw, so the agent can tell when
 * records of @latency went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

io:::start
/$$1 == "global" || zonename == $$1/
{
	zs_start[arg0] = timestamp;
}

io:::done
/zs_start[arg0]/
{
	@latency[args[1]->dev_statname] = quantize(timestamp - zs_start[arg0]);
	@zs_seen_latency = count();
	zs_start[arg0] = 0;
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@latency);
	printa(@zs_seen_latency);
	trunc(@latency);
	trunc(@zs_seen_latency);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
