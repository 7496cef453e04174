/* cli_util.h: the small pieces every host command-line tool repeats (va_replay,
 * mtb_host): the one-line error, strict number parsing, the build id default, the
 * monotonic clock, atomic writing of the result rows and pinning a benchmark's
 * threads.
 */
#ifndef WL_CLI_UTIL_H
#define WL_CLI_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Prints "PROG: MSG" (": ARG" when arg is not NULL) on stderr; returns 2 (bad usage). */
int cli_die(const char *prog, const char *msg, const char *arg);
/* Parses a whole unsigned decimal number into *v: digits only, leading zeros are
 * decimal ("010" is 10); false (v untouched) on NULL, an empty string, a sign, a
 * blank, hex ("0x10"), trailing text or overflow past UINT64_MAX. */
bool cli_parse_u64(const char *s, uint64_t *v);
/* The value s of option opt as cli_parse_u64 in [lo, hi] into *v; false after one
 * line on stderr: "PROG: OPT needs a value" (s NULL) or "PROG: OPT: bad value 'S'
 * (a decimal number in LO..HI)". Callers exit 2. */
bool cli_num(const char *prog, const char *opt, const char *s, uint64_t lo, uint64_t hi,
	     uint64_t *v);
/* cli_num for tools whose only answer to a bad number is to stop: the value, or exit
 * 2 after cli_num's line. */
uint64_t cli_num_or_exit(const char *prog, const char *opt, const char *s, uint64_t lo,
			 uint64_t hi);
/* The rows' build id: $MTB_BUILD_ID when set and not empty, else "dev". Never NULL. */
const char *cli_build_id(void);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t cli_mono_ns(void);
/* Writes rows to stdout (out NULL) or to out as out_file.h does (a regular file
 * replaced atomically, a FIFO or device written through); 0, or after "PROG: cannot
 * write OUT: why" 1 (out untouched, no temp left), 2 when out is a directory. */
int cli_write_rows(const char *prog, const char *out, const char *rows);
/* Sets attr's affinity to the i-th host CPU this process may run on (modulo their
 * count): a replay or benchmark CPU stays one core, as a kernel's CPU does (left to
 * the scheduler, two threads could start on one core and one move over only
 * milliseconds later). Leaves attr unchanged if the affinity cannot be read. */
void cli_pin_attr(pthread_attr_t *attr, unsigned i);

#endif
