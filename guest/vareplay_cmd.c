/* vareplay_cmd.c: the `vareplay[=STRATEGY|all] [workload=W] [perturb=FIELD]` command:
 * replays the trace blob (PVH module 0, as `replay`: our VMM's --trace FILE, QEMU's
 * -initrd FILE; an address-space trace, e.g. a .vmt converted by `trace convert`) on
 * VA allocators with the shared core (workloads/core/va_run.h), one kind=va_frag row
 * per strategy, the same rows build/bin/va_replay writes on the host (engine,
 * timing_trusted and the trace name left to the engine; no vmt_* parse counts: the
 * guest never sees the text).
 *
 * STRATEGY: bitmap, btree, btree-bare, freelist (all: these four, the default),
 * bitmap-64k, btree-best, btree-bare-best. Each runs on a fresh instance over the
 * host tool's default window (64 TiB at 64 TiB: plain numbers, nothing is mapped);
 * its state and fixed metadata are zeroed kernel frames, its node frames come one by
 * one from the kernel's frame allocator (identity mapped) and every one is given
 * back after the strategy's row; the free list spills into the kernel heap, as the
 * kernel's own free lists do (the list has no fini: those few blocks stay there).
 * workload=W names the row's workload field (default "vmt"; the host tool says "mix"
 * for its generator). perturb=FIELD adds one unit to a metric of every row (the
 * cross-check's negative control). Exit 0, 1 on a failed replay (message printed),
 * 2 on bad arguments, 3 without a kernel heap.
 */
#include "kmem.h"
#include "x86.h"
#include "../workloads/core/json_row.h"
#include "../workloads/core/va_run.h"

#define ROW_CAP 4096

/* The node frames handed to one instance (a kmalloc'd array, doubled as it fills). */
struct vr_frames {
	uint64_t *pa;
	uint64_t n, cap;
};

static int ps_alloc(void *ctx, uint64_t *pa)
{
	struct vr_frames *f = ctx;
	if (f->n == f->cap) {
		uint64_t ncap = f->cap ? f->cap * 2 : 512;
		uint64_t *a = kmalloc(ncap * sizeof(*a));
		if (!a)
			return MM_ENOMEM;
		for (uint64_t i = 0; i < f->n; i++)
			a[i] = f->pa[i];
		if (f->pa)
			kfree(f->pa, f->cap * sizeof(*a));
		f->pa = a;
		f->cap = ncap;
	}
	void *p = kmem_frames_zalloc(PAGE_SIZE);
	if (!p)
		return MM_ENOMEM;
	f->pa[f->n++] = *pa = (uintptr_t)p;
	return MM_OK;
}

static void *ps_to_virt(void *ctx, uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static void frames_fini(struct vr_frames *f)
{
	for (uint64_t i = 0; i < f->n; i++)
		kmem_frames_release((void *)(uintptr_t)f->pa[i], PAGE_SIZE);
	if (f->pa)
		kfree(f->pa, f->cap * sizeof(*f->pa));
	*f = (struct vr_frames){0};
}

/* One instance: state, metadata and node frames. */
struct vr_inst {
	const struct va_ops *ops;
	void *st, *meta;
	uint64_t meta_len;
	struct vr_frames frames;
	struct page_source ps;
};

static struct heap_rl vr_spill; /* the free lists' spill storage: the kernel heap */

static void inst_fini(struct vr_inst *in)
{
	kmem_frames_release(in->st, in->ops->state_size);
	kmem_frames_release(in->meta, in->meta_len);
	frames_fini(&in->frames);
}

/* A fresh instance of ops over the default window; 0, or 1 (message printed). */
static int inst_init(struct vr_inst *in, const struct va_ops *ops)
{
	*in = (struct vr_inst){.ops = ops};
	in->ps = (struct page_source){&in->frames, ps_alloc, ps_to_virt};
	in->meta_len = ops->meta_size(VA_RUN_BASE, VA_RUN_SIZE);
	in->st = kmem_frames_zalloc(ops->state_size);
	in->meta = kmem_frames_zalloc(in->meta_len);
	int rc = in->st && in->meta ? MM_OK : MM_ENOMEM;
	if (rc == MM_OK)
		rc = ops->init(in->st, VA_RUN_BASE, VA_RUN_SIZE, in->meta, in->meta_len, &in->ps);
	if (rc == MM_OK && ops->set_heap)
		ops->set_heap(in->st, &vr_spill.hook);
	if (rc == MM_OK)
		return 0;
	kprintf("vareplay: %s: init failed (%d; %lu bytes of metadata)\n", ops->name, rc,
		in->meta_len);
	inst_fini(in);
	return 1;
}

static uint64_t tsc_clock(void *ctx)
{
	return rdtsc();
}

struct vr_args {
	int one;	      /* index in va_run_strategies, or -1: the first VA_RUN_NMAIN */
	const char *workload; /* the row's workload field */
	const char *perturb;  /* NULL: none */
};

/* Writes and emits the row of one strategy's replay; 0, or 1/2 (message printed). */
static int emit(const struct vr_args *a, const struct va_ops *ops, const struct trace *t,
		const struct va_run_result *r)
{
	static char row[ROW_CAP];
	struct result_prov p = {"va_frag",
				ops->name,
				"-",
				ops->name,
				"-",
				NULL,
				-1,
				1,
				"serial",
				"module0",
				t->h.payload_hash,
				guest_build_id,
				0};
	struct json_buf j;
	json_begin(&j, row, sizeof(row));
	json_prov(&j, &p);
	va_run_row_metrics(&j, a->workload, r);
	va_run_row_tail(&j, 0, r);
	if (json_end(&j) < 0) {
		kprintf("vareplay: result row longer than %d bytes\n", ROW_CAP);
		return 1;
	}
	if (a->perturb && !json_row_perturb(row, sizeof(row), a->perturb)) {
		kprintf("vareplay: perturb=%s: no such numeric field in the row\n", a->perturb);
		return 2;
	}
	result_emit_json(row, __builtin_strlen(row));
	kprintf("vareplay: %s: %lu ops, %lu failed, %lu free ranges at the end\n", ops->name,
		r->ops, r->failed, r->end.s.free_ranges);
	return 0;
}

/* Replays t on a fresh instance of ops; 0, or 1/2 (message printed). */
static int run_one(const struct vr_args *a, const struct va_ops *ops, const struct trace *t,
		   void *scratch)
{
	struct vr_inst in;
	if (inst_init(&in, ops))
		return 1;
	struct va_run_cfg c = {.ops = ops,
			       .st = in.st,
			       .clock = tsc_clock,
			       .clock_num = 1000000,
			       .clock_den = tsc_khz()};
	struct va_run_result r;
	int rc = va_run(&c, t, scratch, &r);
	if (rc)
		kprintf("vareplay: %s: %lu bytes still reserved after releasing all\n", ops->name,
			r.released.reserved_bytes);
	inst_fini(&in);
	return rc ? 1 : emit(a, ops, t, &r);
}

/* Parses the arguments into a; 0, or 2 (message printed). */
static int parse(int argc, char **argv, const char *val, struct vr_args *a)
{
	*a = (struct vr_args){.one = -1, .workload = "vmt"};
	if (val[0] && __builtin_strcmp(val, "all") != 0 && (a->one = va_run_find(val)) < 0) {
		kprintf("vareplay: unknown strategy '%s' (bitmap, btree, btree-bare, freelist, "
			"bitmap-64k, btree-best, btree-bare-best, all)\n",
			val);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (__builtin_memcmp(argv[i], "workload=", 9) == 0 && argv[i][9]) {
			a->workload = argv[i] + 9;
		} else if (__builtin_memcmp(argv[i], "perturb=", 8) == 0) {
			a->perturb = argv[i] + 8;
		} else {
			kprintf("vareplay: unknown argument '%s' (workload=W, perturb=FIELD)\n",
				argv[i]);
			return 2;
		}
	}
	return 0;
}

int cmd_vareplay(int argc, char **argv, const char *val)
{
	struct vr_args a;
	int rc = parse(argc, argv, val, &a);
	if (rc)
		return rc;
	if (!boot.module_len) {
		kprintf("vareplay: no trace blob (our VMM: --trace FILE; QEMU: -initrd FILE)\n");
		return 2;
	}
	if (!kmem_heap_ok()) {
		kprintf("vareplay: no heap (more than one CPU and no IPIs)\n");
		return 3;
	}
	struct trace t;
	if (replay_open_blob(&t))
		return 1;
	uint64_t bytes = va_run_scratch_size(&t);
	void *scratch = kmem_frames_zalloc(bytes);
	if (!scratch) {
		kprintf("vareplay: no memory for the replay's table (%lu bytes)\n", bytes);
		return 1;
	}
	heap_rl_init(&vr_spill, &HEAP_OPS, kmem.heap_st);
	for (int i = 0; i < VA_RUN_NALL && !rc; i++)
		if (a.one == i || (a.one < 0 && i < VA_RUN_NMAIN))
			rc = run_one(&a, va_run_strategies[i], &t, scratch);
	kmem_frames_release(scratch, bytes);
	return rc;
}
