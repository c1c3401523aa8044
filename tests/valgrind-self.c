/* SPDX-License-Identifier: BSD-2-Clause */
/* valgrind-self.c - the faults tests/valgrind-self.sh expects memcheck to
 * report through tests/timeout.sh: a definite leak, a read after free, or
 * (with no argument) none, so that the harness is shown to fail and to pass. */
#include <stdlib.h>
#include <string.h>

static char *volatile sink;

/* main - "leak", "use-after-free", or nothing */
int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "leak") == 0) {
		sink = malloc(64);
		sink = NULL;
	} else if (argc > 1 && strcmp(argv[1], "use-after-free") == 0) {
		sink = malloc(8);
		free(sink);
		return sink[0] == 1;
	}
	return 0;
}
