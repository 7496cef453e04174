/* vmt.h: .vmt address-space traces (../shared/traces/README.md) as VA reserve /
 * release ops for the virtual address space allocators (hosted).
 *
 * A .vmt file is text, one event per line ("<proc> <tid> EVENT ..."): exec, map,
 * unmap, remap, brk, prot, advise; '#' lines and blank lines are ignored. What the VA
 * allocators need is the sequence of reservation sizes and lifetimes, so the parser
 * tracks each <proc>'s Linux ranges and emits our ops (a struct trace: TOP_ALLOC of
 * a reservation, TOP_FREE of it; thread = the proc, dense in order of appearance):
 *
 *   map A L P a|f       reserve [A, A+L) rounded out to 4 KiB: one TOP_ALLOC. A map
 *                       that overlaps a live reservation without "fixed" is an error
 *                       (Linux never returns such an address: a missed unmap).
 *   map ... fixed       MAP_FIXED lands inside address space the process already
 *                       reserved (ld.so maps a file, then its segments over it): only
 *                       the parts of [A, A+L) not covered by live reservations are
 *                       reserved (each gap one TOP_ALLOC); fully covered: no op.
 *   unmap A L           every reservation overlapping [A, A+L) is released; the parts
 *                       of it outside the range survive as new reservations, head
 *                       first (a partial unmap frees exactly that part's bytes).
 *                       Unmapping address space never reserved here (the stack, the
 *                       executable) is legal in Linux: counted, no op.
 *   remap A L B M       unmap A L, then reserve [B, B+M) with fixed semantics: the
 *                       old range must overlap a live reservation (else an error).
 *   brk E               the heap [start, end) is one reservation resized: the first
 *                       brk after exec (the brk(0) query) sets start = end = E; a
 *                       later change releases the old heap and reserves the new size
 *                       (nothing when the size is 0). E below the start is an error.
 *                       The heap is separate from the mapped ranges.
 *   exec PATH           the proc's address space is reset: all its reservations and
 *                       its heap are released (in address order, heap last). If the
 *                       tid's previous event was in another proc, that proc ended
 *                       (exec replaced its image; the recorder names the new image a
 *                       new proc): it is released first, the same way.
 *   prot, advise        checked and counted, no op.
 *
 * Every proc is its own address space, and all of them are replayed into one
 * allocator (as a single-address-space unikernel would run them: processes
 * overlap in time in the trace order). The format has no exit events, so a proc
 * that is not replaced by an exec keeps its reservations to the end of the trace:
 * peaks count finished processes' last mappings too (an upper bound). Sizes are
 * the rounded lengths, so a replayer's "requested" bytes are page multiples.
 * Reservations live at the end stay live in the trace (the replayer releases them).
 *
 * Errors: "FILE:LINE: message" and failure, or with lenient the bad line is counted,
 * skipped (no op of it is emitted), and the first message is kept (trace_build.h).
 */
#ifndef WL_VMT_H
#define WL_VMT_H

#include "trace_file.h"

struct vmt_counts {
	uint64_t events;	    /* event lines (not blank, not comments) */
	uint64_t maps, maps_fixed_inside; /* fixed maps fully inside live reservations */
	uint64_t unmaps, unmaps_partial, unmaps_untracked;
	uint64_t remaps, brks, prots, advises, execs;
	uint64_t execs_replacing;   /* execs that ended another proc (same tid) */
	uint64_t procs;		    /* distinct <proc> values */
	uint64_t live_end;	    /* reservations (ranges + heaps) live at the end */
};

struct vmt_loaded {
	struct trace_loaded tl; /* the ops as a validated trace (tl.t); tl.fmt unused */
	struct vmt_counts c;
};

/* Parses .vmt text data[0..len) (NUL-terminated) into b's ops (b initialized by the
 * caller with tb_init) and fills c. 0, or -1 with b->err set. */
int vmt_parse(struct trace_builder *b, const char *data, size_t len, struct vmt_counts *c);

/* Loads a .vmt file (plain or xz) into out: ops validated like trace_load's.
 * 0, or -1 with a one-line "FILE:LINE: message" in err (nothing to free then). */
int vmt_load(const char *path, bool lenient, struct vmt_loaded *out, char *err, size_t errlen);
/* Same from a NUL-terminated buffer; name is used in messages. */
int vmt_load_mem(const char *name, const char *data, size_t len, bool lenient,
		 struct vmt_loaded *out, char *err, size_t errlen);
void vmt_loaded_free(struct vmt_loaded *v);

#endif
