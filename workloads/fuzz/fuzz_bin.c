/* fuzz_bin: libFuzzer target for the binary trace reader. Property: trace_bin_open
 * and trace_validate never read out of bounds or crash on any bytes, and anything
 * they accept replays on a malloc-backed heap with exact op counts. Inputs are
 * fixed up (header and payload hashes recomputed) when byte 0 is odd, so the
 * fuzzer also reaches the record and semantic checks behind the checksums. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/replay.h"
#include "../tests/malloc_heap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fixup(uint8_t *img, size_t len)
{
	if (len < TRACE_HEADER_SIZE)
		return;
	struct trace_header h;
	memcpy(&h.nops, img + 16, 8);
	memcpy(&h.nthreads, img + 24, 4);
	memcpy(&h.nids, img + 28, 4);
	memcpy(&h.nobjects, img + 32, 8);
	memcpy(&h.peak_live, img + 40, 8);
	uint64_t n = (len - TRACE_HEADER_SIZE) / TRACE_OP_SIZE;
	h.payload_hash = trace_fnv1a(TRACE_FNV_INIT, img + TRACE_HEADER_SIZE, n * TRACE_OP_SIZE);
	trace_header_encode(&h, img);
}

static void replay_once(const struct trace *t)
{
	if (t->h.nids > (1u << 16) || t->h.nops > (1u << 16))
		return;
	struct malloc_heap mh;
	heap_malloc_ops.init(&mh, NULL);
	struct replay_cfg cfg = {.heap = &heap_malloc_ops, .heap_st = &mh, .ncpus = 3,
				 .parallel = true};
	struct replay r;
	void *mem = malloc(replay_mem_size(t, &cfg)); /* the parallel plan, not run */
	if (replay_init(&r, &cfg, t, mem) != 0 || r.start[3] != t->h.nops)
		abort();
	free(mem);
	cfg.parallel = false;
	mem = malloc(replay_mem_size(t, &cfg));
	replay_init(&r, &cfg, t, mem);
	replay_run_serial(&r);
	struct replay_result res;
	replay_finish(&r, &res);
	if (res.ops != t->h.nops || res.peak_live != t->h.peak_live)
		abort();
	replay_release(&r);
	free(mem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > (1 << 20))
		return 0;
	size_t len = size - 1;
	uint8_t *img = aligned_alloc(64, (len + 64) & ~(size_t)63);
	memcpy(img, data + 1, len);
	if (data[0] & 1)
		fixup(img, len);
	struct trace t;
	struct trace_err e = {0};
	if (trace_bin_open(img, len, &t, &e) != 0) {
		if (!e.msg) /* a rejection says why */
			abort();
	} else if (t.h.nids <= (1u << 20)) { /* more ids: too big to replay here */
		uint64_t *scratch = malloc(((uint64_t)t.h.nids + 1) * 8);
		if (trace_validate(&t, scratch, true, &e) == 0)
			replay_once(&t);
		free(scratch);
	}
	free(img);
	return 0;
}
