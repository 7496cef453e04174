/* replay_cmd.c: the `replay[=serial|par]` command: replays the trace blob (PVH
 * module 0: our VMM's --trace FILE, QEMU's -initrd FILE) with workloads/core/replay.h
 * on a fresh HEAP_OPS instance over the kernel's frame and VA allocators, and emits
 * one json_replay_row_env row (engine and timing_trusted are left to the engine).
 *
 * serial: CPU 0 runs every op in trace order, trace thread t on heap CPU t % ncpus
 * (deterministic: every engine gives the same ops, peak_live, footprint at peak,
 * J&W #3/#4 and cross-CPU frees for the same heap). par: CPU c runs the ops of its
 * threads on all CPUs at once (smp_run_all). The blob is validated first
 * (trace_bin_open + trace_validate); a bad blob is exit 1 with the error's offset.
 * Replay state and the heap state come from the frame allocator (layout requests,
 * reached through the identity map) and are given back at the end; the heap's own
 * memory stays mapped (heaps have no destroy).
 */
#include "kmem.h"
#include "x86.h"
#include "../workloads/core/json_row.h"
#include "../workloads/core/replay.h"

#define ROW_CAP 4096

static uint64_t tsc_clock(void *ctx)
{
	return rdtsc();
}

static void par_cpu(unsigned cpu, void *arg)
{
	replay_run_cpu(arg, cpu);
}

/* Zeroed frames for bytes (layout request), or NULL. */
static void *frames_zalloc(uint64_t bytes)
{
	uint64_t pa;
	if (mm_frames_alloc(&kmem.mm, 0, mm_req_layout(MM_MAX(bytes, 8), PAGE_SIZE), &pa) != MM_OK)
		return NULL;
	__builtin_memset((void *)(uintptr_t)pa, 0, MM_ALIGN_UP(MM_MAX(bytes, 8), PAGE_SIZE));
	return (void *)(uintptr_t)pa;
}

static void frames_release(void *p, uint64_t bytes)
{
	if (p)
		mm_frames_free(&kmem.mm, 0, (uintptr_t)p, mm_req_layout(MM_MAX(bytes, 8), PAGE_SIZE));
}

/* Opens and validates the blob into *t; 0, or 1 (message printed). */
static int open_blob(struct trace *t)
{
	struct trace_err err;
	const void *blob = (const void *)(uintptr_t)boot.module_base;
	if (boot.module_base & 7) {
		kprintf("replay: trace blob at 0x%lx is not 8-byte aligned\n", boot.module_base);
		return 1;
	}
	if (trace_bin_open(blob, boot.module_len, t, &err) != 0) {
		kprintf("replay: bad trace blob at byte %lu: %s\n", err.offset, err.msg);
		return 1;
	}
	uint64_t words = MM_MAX((uint64_t)t->h.nids, 1) * 8;
	void *scratch = frames_zalloc(words);
	int rc = scratch ? trace_validate(t, scratch, true, &err) : -1;
	frames_release(scratch, words);
	if (rc != 0) {
		kprintf("replay: invalid trace at byte %lu: %s\n", scratch ? err.offset : 0,
			scratch ? err.msg : "no memory to validate");
		return 1;
	}
	return 0;
}

/* Runs the replay of t in the given mode; fills res. 0, or 1 (message printed). */
static int run(const struct trace *t, bool serial, struct replay_result *res, uint64_t *sd)
{
	unsigned n = smp_ncpus();
	uint64_t mem_bytes = replay_mem_size(t, n);
	void *hst = frames_zalloc(HEAP_OPS.state_size), *mem = frames_zalloc(mem_bytes);
	static struct replay r;
	struct mmu_stats m0, m1;
	struct replay_cfg cfg = {&HEAP_OPS, hst, n, tsc_clock, NULL, 1000000, tsc_khz(), false, NULL};
	if (!hst || !mem || HEAP_OPS.init(hst, &kmem.env) != MM_OK || replay_init(&r, &cfg, t, mem)) {
		kprintf("replay: no memory for the replay state or the heap\n");
		return 1;
	}
	mmu_get_stats(&m0);
	if (serial)
		replay_run_serial(&r);
	else
		smp_run_all(par_cpu, &r);
	replay_finish(&r, res);
	mmu_get_stats(&m1);
	*sd = m1.shootdowns - m0.shootdowns;
	replay_release(&r);
	frames_release(mem, mem_bytes);
	frames_release(hst, HEAP_OPS.state_size);
	return 0;
}

int cmd_replay(int argc, char **argv, const char *val)
{
	bool serial = !val[0] || __builtin_strcmp(val, "serial") == 0;
	if (!serial && __builtin_strcmp(val, "par") != 0) {
		kprintf("replay: unknown mode '%s' (replay, replay=serial or replay=par)\n", val);
		return 2;
	}
	if (!boot.module_len) {
		kprintf("replay: no trace blob (our VMM: --trace FILE; QEMU: -initrd FILE)\n");
		return 2;
	}
	if (!kmem_heap_ok()) {
		kprintf("replay: no heap (more than one CPU and no IPIs)\n");
		return 3;
	}
	struct trace t;
	struct replay_result res;
	uint64_t sd;
	if (open_blob(&t) || run(&t, serial, &res, &sd))
		return 1;
	struct frame_stats fs;
	struct va_stats vs;
	PHYS_OPS.stats(kmem.frame_st, &fs);
	VIRT_OPS.stats(kmem.va_st, &vs);
	struct env_metrics env = {&fs, &vs, -1, (int64_t)sd};
	struct result_prov p = {"replay", COMBO_NAME, PHYS_NAME, VIRT_NAME, HEAP_NAME, NULL, -1,
				smp_ncpus(), serial ? "serial" : "parallel", "module0",
				t.h.payload_hash, guest_build_id, 0};
	static char row[ROW_CAP];
	long len = json_replay_row_env(&p, &res, &env, row, sizeof(row));
	if (len < 0) {
		kprintf("replay: result row longer than %d bytes\n", ROW_CAP);
		return 1;
	}
	result_emit_json(row, (size_t)len);
	kprintf("replay (%s): %lu ops, %lu failed, peak live %lu, %lu cross-CPU frees\n",
		serial ? "serial" : "parallel", res.ops, res.failed, res.peak_live,
		res.cross_cpu_frees);
	return 0;
}
