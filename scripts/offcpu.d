/*
 * offcpu: time the zone's threads spend blocked, summed by kernel and user stack (ns).
 * $$1 zone name ("global" = the whole host), $2 duration in seconds.
 * @zs_seen_offcpu counts what the script saw, so the agent can tell when
 * records of @offcpu went missing (a full aggregation buffer).
 */
#pragma D option quiet

int zs_tick;

sched:::off-cpu
/$$1 == "global" || zonename == $$1/
{
	self->zs_ts = timestamp;
}

sched:::on-cpu
/self->zs_ts/
{
	@offcpu[stack(), ustack()] = sum(timestamp - self->zs_ts);
	@zs_seen_offcpu = sum(timestamp - self->zs_ts);
	self->zs_ts = 0;
}

tick-1s
{
	zs_tick++;
	printf("=== zonescope interval %d ===\n", zs_tick);
	printa(@offcpu);
	printa(@zs_seen_offcpu);
	trunc(@offcpu);
	trunc(@zs_seen_offcpu);
	/* the interval is whole: the agent sends it now, not when the next one starts */
	printf("=== zonescope interval %d end ===\n", zs_tick);
}

tick-1s
/zs_tick >= $2/
{
	exit(0);
}
