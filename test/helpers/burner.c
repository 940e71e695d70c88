/*
 * A test workload with a recognisable hot function. Compiled at test time with
 * -DHOT=<name> so two burners with different function names can run side by side.
 *   burner spin      burns CPU in HOT() until killed
 *   burner syscalls  makes getppid() system calls in HOT() as fast as it can
 *   burner idle      sleeps
 *   burner leak      HOT() keeps 4 KiB from malloc() every millisecond and never frees it;
 *                    zonescope_balanced() mallocs and frees alongside (not a leak)
 * Frame pointers are kept so bpftrace/DTrace user stacks are whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef HOT
#define HOT zonescope_hot_spin
#endif

volatile unsigned long sink;

__attribute__((noinline)) void zonescope_balanced(void)
{
	void *p = malloc(256);
	sink += (unsigned long)p;
	free(p);
}

__attribute__((noinline)) void HOT(int mode)
{
	for (;;) {
		if (mode == 2) {
			sink += (unsigned long)malloc(4096);
			zonescope_balanced();
			usleep(1000);
		} else if (mode == 1) {
			sink += syscall(SYS_getppid);
		} else {
			for (unsigned long i = 0; i < 1000000; i++) sink += i * i;
		}
	}
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "spin";
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	if (strcmp(mode, "idle") == 0) {
		for (;;) pause();
	}
	HOT(strcmp(mode, "leak") == 0 ? 2 : strcmp(mode, "syscalls") == 0 ? 1 : 0);
	return 0;
}
