/* replay_cmd.c: the `replay[=serial|par] [heap=null]` command: replays the trace blob
 * (PVH module 0: our VMM's --trace FILE, QEMU's -initrd FILE) with
 * workloads/core/replay.h on a fresh replay machine (workloads/core/machine.h) built
 * in the RAM set aside at boot (rmem=MiB, mm_init.c): a new PHYS_OPS instance over
 * that memory, a new VIRT_OPS instance over the Replay window (layout.h) and a new
 * HEAP_OPS instance (or the null heap, the harness ceiling, with heap=null). The
 * machine's page tables are installed in the kernel's root; unmaps in the window
 * are shot down on every CPU (mmu_shootdown). The host engine builds the same
 * machine for the same memory size, so serial rows agree on every deterministic
 * metric (frames, VA, heap). One json_replay_row_env row (engine and
 * timing_trusted are left to the engine).
 *
 * serial: CPU 0 runs every op in trace order, trace thread t on heap CPU t % ncpus.
 * par: CPU c runs the ops of its threads on all CPUs at once (smp_run_all). The blob
 * is validated first (trace_bin_open + trace_validate); a bad blob is exit 1 with the
 * error's offset. The replay's tables come from the kernel's frame allocator
 * (layout requests, reached through the identity map) and are given back at the end.
 */
#include "kmem.h"
#include "layout.h"
#include "x86.h"
#include "../workloads/core/heap_null.h"
#include "../workloads/core/json_row.h"
#include "../workloads/core/machine.h"
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

void *kmem_frames_zalloc(uint64_t bytes)
{
	uint64_t pa;
	if (mm_frames_alloc(&kmem.mm, 0, mm_req_layout(MM_MAX(bytes, 8), PAGE_SIZE), &pa) != MM_OK)
		return NULL;
	__builtin_memset((void *)(uintptr_t)pa, 0, MM_ALIGN_UP(MM_MAX(bytes, 8), PAGE_SIZE));
	return (void *)(uintptr_t)pa;
}

void kmem_frames_release(void *p, uint64_t bytes)
{
	if (p)
		mm_frames_free(&kmem.mm, 0, (uintptr_t)p,
			       mm_req_layout(MM_MAX(bytes, 8), PAGE_SIZE));
}

int replay_open_blob(struct trace *t)
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
	void *scratch = kmem_frames_zalloc(words);
	int rc = scratch ? trace_validate(t, scratch, true, &err) : -1;
	kmem_frames_release(scratch, words);
	if (rc != 0) {
		kprintf("replay: invalid trace at byte %lu: %s\n", scratch ? err.offset : 0,
			scratch ? err.msg : "no memory to validate");
		return 1;
	}
	return 0;
}

/* ---- the machine's backend: live tables in the kernel's root, IPI shootdowns ---- */

static void be_unmap(void *ctx, uint64_t va, uint64_t len)
{
	mmu_shootdown(va, len);
}

static void be_install(void *ctx, const uint64_t *root, unsigned first, unsigned n)
{
	uint64_t *k = (uint64_t *)(uintptr_t)paging_root();
	for (unsigned s = first; s < first + n; s++)
		k[s] = root[s];
	write_cr3(read_cr3()); /* the slots were empty: nothing stale, but be plain about it */
}

/* Builds the machine for heap h in the rmem= range; 0, or 1 (message printed). */
static int machine_up(struct machine *m, const struct heap_ops *h)
{
	if (!kmem.replay_len) {
		kprintf("replay: no RAM set aside for the replay machine (boot with rmem=MiB)\n");
		return 1;
	}
	struct machine_cfg cfg = {.mem_bytes = kmem.replay_len,
				  .ncpus = smp_ncpus(),
				  .fops = &PHYS_OPS,
				  .vops = &VIRT_OPS,
				  .hops = h};
	struct machine_backend be = {.phys = (uint8_t *)(uintptr_t)kmem.replay_pa,
				     .pa_offset = kmem.replay_pa,
				     .va_base = REPLAY_BASE,
				     .va_size = REPLAY_SIZE,
				     .unmap = be_unmap,
				     .install = be_install};
	const char *what;
	if (machine_init(m, &cfg, &be, &what) != MM_OK) {
		kprintf("replay: %s on a %lu MiB machine: %s failed\n", h->name,
			kmem.replay_len >> 20, what);
		return 1;
	}
	return 0;
}

/* The layers under the heap at the end of the trace, live objects still allocated. */
struct layers {
	struct frame_stats fs;
	struct va_stats vs;
	struct machine_counts mc;
};

/* Runs the replay of t on m in the given mode; fills res and the layers' state at the
 * end of the trace (before the leftovers are freed, as the host engine reads them).
 * 0, or 1 (message printed). */
static int run(struct machine *m, const struct trace *t, bool serial, struct replay_result *res,
	       struct layers *l)
{
	static struct replay r;
	struct replay_cfg cfg = {.heap = m->cfg.hops,
				 .heap_st = m->heap_st,
				 .ncpus = smp_ncpus(),
				 .parallel = !serial,
				 .clock = tsc_clock,
				 .clock_num = 1000000,
				 .clock_den = tsc_khz()};
	uint64_t mem_bytes = replay_mem_size(t, &cfg);
	void *mem = kmem_frames_zalloc(mem_bytes);
	if (!mem || replay_init(&r, &cfg, t, mem)) {
		kprintf("replay: no memory for the replay's tables (%lu bytes)\n", mem_bytes);
		kmem_frames_release(mem, mem_bytes);
		return 1;
	}
	if (serial)
		replay_run_serial(&r);
	else
		smp_run_all(par_cpu, &r);
	replay_finish(&r, res);
	PHYS_OPS.stats(m->frame_st, &l->fs);
	VIRT_OPS.stats(m->va_st, &l->vs);
	machine_counts(m, &l->mc);
	replay_release(&r);
	kmem_frames_release(mem, mem_bytes);
	return 0;
}

/* perturb=FIELD: adds one unit to that metric of the row (the cross-check's negative
 * control, run.sh's MTB_PERTURB); NULL when absent. */
static const char *perturb;

/* Parses `replay[=mode] [heap=null] [perturb=FIELD]`; 0, or 2 (message printed). */
static int parse(int argc, char **argv, const char *val, bool *serial, const struct heap_ops **h)
{
	*serial = !val[0] || __builtin_strcmp(val, "serial") == 0;
	if (!*serial && __builtin_strcmp(val, "par") != 0) {
		kprintf("replay: unknown mode '%s' (replay, replay=serial or replay=par)\n", val);
		return 2;
	}
	*h = &HEAP_OPS;
	for (int i = 1; i < argc; i++) {
		if (__builtin_strcmp(argv[i], "heap=null") == 0) {
			*h = &heap_null_ops;
			continue;
		}
		if (__builtin_memcmp(argv[i], "perturb=", 8) == 0) {
			perturb = argv[i] + 8;
			continue;
		}
		kprintf("replay: unknown argument '%s' (heap=null, perturb=FIELD)\n", argv[i]);
		return 2;
	}
	return 0;
}

static int emit(struct machine *m, const struct trace *t, bool serial,
		const struct replay_result *res, const struct layers *l)
{
	struct env_metrics env = {&l->fs, &l->vs, &l->mc, m->cfg.mem_bytes};
	const char *heap = m->cfg.hops->name;
	static char combo[64], row[ROW_CAP];
	ksnprintf(combo, sizeof(combo), "%s-%s-%s", PHYS_NAME, VIRT_NAME, heap);
	struct result_prov p = {"replay",
				combo,
				PHYS_NAME,
				VIRT_NAME,
				heap,
				NULL,
				-1,
				smp_ncpus(),
				serial ? "serial" : "parallel",
				"module0",
				t->h.payload_hash,
				guest_build_id,
				0};
	long len = json_replay_row_env(&p, res, &env, row, sizeof(row));
	if (len < 0) {
		kprintf("replay: result row longer than %d bytes\n", ROW_CAP);
		return 1;
	}
	if (perturb && !json_row_perturb(row, sizeof(row), perturb)) {
		kprintf("replay: perturb=%s: no such numeric field in the row\n", perturb);
		return 2;
	}
	len = (long)__builtin_strlen(row);
	result_emit_json(row, (size_t)len);
	kprintf("replay (%s, %s): %lu ops, %lu failed, peak live %lu, %lu cross-CPU frees\n",
		serial ? "serial" : "parallel", heap, res->ops, res->failed, res->peak_live,
		res->cross_cpu_frees);
	return 0;
}

int cmd_replay(int argc, char **argv, const char *val)
{
	bool serial;
	const struct heap_ops *h;
	int rc = parse(argc, argv, val, &serial, &h);
	if (rc)
		return rc;
	if (!boot.module_len) {
		kprintf("replay: no trace blob (our VMM: --trace FILE; QEMU: -initrd FILE)\n");
		return 2;
	}
	if (!kmem_heap_ok()) {
		kprintf("replay: no heap (more than one CPU and no IPIs)\n");
		return 3;
	}
	static struct machine m;
	static struct layers l;
	struct trace t;
	struct replay_result res;
	if (replay_open_blob(&t) || machine_up(&m, h) || run(&m, &t, serial, &res, &l))
		return 1;
	return emit(&m, &t, serial, &res, &l);
}
