/* host_ctx.h: the machine a timed row was measured on, for every host tool's rows
 * (shared/MEASUREMENT.md "Context in every row").
 *
 * Static part, read once per process (host_ctx_init): CPU model (/proc/cpuinfo "model
 * name"), cores online, memory total (/proc/meminfo), kernel release (uname) and the
 * KVM kind: "hardware" (/dev/kvm opens read-write and the CPU has vmx or svm),
 * "emulated" (it opens, no such flag: a nested or software KVM), "absent" (it does not
 * open). Unknown text is "", unknown numbers 0.
 *
 * Per cell (host_sample_begin / host_sample_end around the timed work): the 1-minute
 * load average before and after (/proc/loadavg), steal time over the cell (the "cpu"
 * line of /proc/stat, field 8, in ticks, as a percentage of all CPU ticks of the cell),
 * and `overloaded`: 1 when the load before or after exceeded the cores online. The load
 * average is a 1-minute mean sampled every 5 s by the kernel: over a short cell it says
 * what the machine was doing around the cell, not inside it. Unknown values are -1.
 */
#ifndef WL_HOST_CTX_H
#define WL_HOST_CTX_H

#include <stdint.h>
#include <stdio.h>

#include "../core/json_row.h"

struct host_ctx {
	char cpu_model[128];
	unsigned cores;	    /* online (sysconf _SC_NPROCESSORS_ONLN) */
	uint64_t mem_bytes; /* MemTotal */
	char kernel[128];   /* uname -r */
	const char *kvm;    /* "hardware" | "emulated" | "absent" */
};

struct host_sample {
	double load_before, load_after; /* -1: unknown */
	double steal_pct;		/* -1: unknown (no /proc/stat, or no ticks passed) */
	unsigned overloaded;		/* cells whose load exceeded the cores (0/1 per cell) */
	uint64_t ticks, steal_ticks;	/* over the cell(s); ticks 0: unknown */
	uint64_t t0_ticks, t0_steal;	/* at begin */
};

/* Fills c from /proc, uname and /dev/kvm; never fails (unknown fields as above). */
void host_ctx_init(struct host_ctx *c);

/* Starts a cell: load before and the /proc/stat counters. */
void host_sample_begin(struct host_sample *s);
/* Ends it: load after, steal over the cell, overloaded against c->cores. */
void host_sample_end(struct host_sample *s, const struct host_ctx *c);
/* Folds cell s into acc, which then describes all of them: the highest load before and
 * after, steal over their summed ticks, overloaded = the number of overloaded cells.
 * acc starts as HOST_SAMPLE_EMPTY. */
void host_sample_merge(struct host_sample *acc, const struct host_sample *s);
#define HOST_SAMPLE_EMPTY ((struct host_sample){-1, -1, -1, 0, 0, 0, 0, 0})

/* CSV: the column names (no leading or trailing comma) and one row's values (quoted
 * where text), in the same order. */
#define HOST_CTX_CSV_COLS    "cpu_model,cores,mem_bytes,kernel,kvm"
#define HOST_SAMPLE_CSV_COLS "load_before,load_after,steal_pct,overloaded"
void host_ctx_csv(FILE *f, const struct host_ctx *c);
void host_sample_csv(FILE *f, const struct host_sample *s); /* unknown: empty field */
/* JSON members with the same names (unknown: null). */
void host_ctx_json(struct json_buf *j, const struct host_ctx *c);
void host_sample_json(struct json_buf *j, const struct host_sample *s);

#endif
