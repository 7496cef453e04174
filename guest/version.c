/* version.c: the build id every result row carries ("build"), set by the
 * Makefile from `git describe --always --dirty` (rebuilt when it changes). */
#include "kernel.h"

#ifndef GUEST_BUILD_ID
#define GUEST_BUILD_ID "unknown"
#endif

const char guest_build_id[] = GUEST_BUILD_ID;
