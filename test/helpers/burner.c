/*
 * A test workload with a recognisable hot function. Compiled at test time with
 * -DHOT=<name> so two burners with different function names can run side by side.
 *   burner spin      burns CPU in HOT() until killed
 *   burner syscalls  makes getppid() system calls in HOT() as fast as it can
 *   burner idle      sleeps
 * Frame pointers are kept so bpftrace/DTrace user stacks are whole.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#ifndef HOT
#define HOT zonescope_hot_spin
#endif

volatile unsigned long sink;

__attribute__((noinline)) void HOT(int syscalls)
{
	for (;;) {
		if (syscalls) {
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
	HOT(strcmp(mode, "syscalls") == 0);
	return 0;
}
