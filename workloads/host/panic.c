/* panic.c: mm_panic() for host builds: the message on stderr, then abort()
 * (tests that expect a panic run the code in a child and read its stderr). */
#include <stdio.h>
#include <stdlib.h>

#include "../../strategies/mm_common.h"

_Noreturn void mm_panic(const char *msg)
{
	fprintf(stderr, "panic: %s\n", msg);
	fflush(stderr);
	abort();
}
