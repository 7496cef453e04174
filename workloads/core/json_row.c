/* json_row.c: a tiny JSON object writer and the replay result row (see json_row.h).
 *
 * Invariant: buf[0..len) is always a prefix of the row and len < cap (room for the
 * NUL); once something does not fit, overflow is set and nothing more is written.
 * Strings are escaped (" \ and control characters), so any trace name is safe.
 */
#include "json_row.h"

static void put(struct json_buf *j, const char *s, size_t n)
{
	if (j->overflow || j->len + n + 1 > j->cap) {
		j->overflow = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		j->buf[j->len++] = s[i];
}

static void put_c(struct json_buf *j, char c)
{
	put(j, &c, 1);
}

static void put_u64(struct json_buf *j, uint64_t v)
{
	char d[20];
	int n = 0;
	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put_c(j, d[--n]);
}

static void put_escaped(struct json_buf *j, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	put_c(j, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			put_c(j, '\\');
			put_c(j, (char)c);
		} else if (c < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			put(j, e, 6);
		} else {
			put_c(j, (char)c);
		}
	}
	put_c(j, '"');
}

static void key(struct json_buf *j, const char *k)
{
	if (!j->first)
		put_c(j, ',');
	j->first = false;
	put_escaped(j, k);
	put_c(j, ':');
}

void json_begin(struct json_buf *j, char *buf, size_t cap)
{
	j->buf = buf;
	j->cap = cap;
	j->len = 0;
	j->overflow = cap < 2;
	j->first = true;
	put_c(j, '{');
}

void json_str(struct json_buf *j, const char *k, const char *val)
{
	key(j, k);
	if (val)
		put_escaped(j, val);
	else
		put(j, "null", 4);
}

void json_u64(struct json_buf *j, const char *k, uint64_t v)
{
	key(j, k);
	put_u64(j, v);
}

void json_i64(struct json_buf *j, const char *k, int64_t v)
{
	key(j, k);
	if (v < 0)
		put_c(j, '-');
	put_u64(j, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

void json_bool(struct json_buf *j, const char *k, bool v)
{
	key(j, k);
	put(j, v ? "true" : "false", v ? 4 : 5);
}

void json_ppm(struct json_buf *j, const char *k, int64_t v)
{
	key(j, k);
	uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	if (v < 0)
		put_c(j, '-');
	put_u64(j, a / 1000000);
	put_c(j, '.');
	uint64_t f = a % 1000000;
	for (uint64_t d = 100000; d; d /= 10)
		put_c(j, (char)('0' + f / d % 10));
}

void json_hex64(struct json_buf *j, const char *k, uint64_t v)
{
	static const char hex[] = "0123456789abcdef";
	char s[17];
	for (int i = 0; i < 16; i++)
		s[i] = hex[(v >> (60 - 4 * i)) & 15];
	s[16] = 0;
	json_str(j, k, s);
}

void json_u64_array(struct json_buf *j, const char *k, const uint64_t *v, unsigned n)
{
	key(j, k);
	put_c(j, '[');
	for (unsigned i = 0; i < n; i++) {
		if (i)
			put_c(j, ',');
		put_u64(j, v[i]);
	}
	put_c(j, ']');
}

void json_null(struct json_buf *j, const char *k)
{
	key(j, k);
	put(j, "null", 4);
}

long json_end(struct json_buf *j)
{
	put_c(j, '}');
	if (j->overflow) {
		if (j->cap)
			j->buf[0] = 0;
		return -1;
	}
	j->buf[j->len] = 0;
	return (long)j->len;
}

void json_prov(struct json_buf *j, const struct result_prov *p)
{
	if (p->engine)
		json_str(j, "engine", p->engine);
	if (p->timing_trusted >= 0)
		json_bool(j, "timing_trusted", p->timing_trusted);
	json_str(j, "kind", p->kind);
	json_str(j, "combo", p->combo);
	json_str(j, "phys", p->phys);
	json_str(j, "virt", p->virt);
	json_str(j, "heap", p->heap);
	json_u64(j, "cpus", p->cpus);
	json_str(j, "mode", p->mode);
	json_str(j, "trace", p->trace);
	json_hex64(j, "trace_hash", p->trace_hash);
	json_str(j, "build", p->build);
	json_u64(j, "seed", p->seed);
}

/* The first failed op; live and footprint then (null where not measured, with the
 * reason in failure_note). */
static void failure_fields(struct json_buf *j, const struct replay_result *r)
{
	if (r->failure_unmeasured) {
		json_null(j, "live_at_first_failure_bytes");
		json_null(j, "footprint_at_first_failure_bytes");
	} else {
		json_u64(j, "live_at_first_failure_bytes", r->live_at_first_failure);
		json_u64(j, "footprint_at_first_failure_bytes", r->fp_at_first_failure);
	}
	if (r->failed) {
		json_u64(j, "first_failure_op", r->first_failure_op);
		json_u64(j, "first_failure_size_bytes", r->first_failure_size);
	} else {
		json_null(j, "first_failure_op");
		json_null(j, "first_failure_size_bytes");
	}
	if (r->failure_unmeasured)
		json_str(
		    j, "failure_note",
		    "parallel replay with failed allocations: live and footprint at the first "
		    "failure are not measured, and frag4 is null (peak_live_bytes is the trace's, "
		    "which the failed allocations never reached)");
}

static void metric_fields(struct json_buf *j, const struct replay_result *r)
{
	json_u64(j, "ops", r->ops);
	json_u64(j, "allocs", r->allocs);
	json_u64(j, "frees", r->frees);
	json_u64(j, "reallocs", r->reallocs);
	json_u64(j, "failed", r->failed);
	json_u64(j, "cross_cpu_frees", r->cross_cpu_frees);
	json_u64(j, "peak_live_bytes", r->peak_live);
	json_u64(j, "live_end_objects", r->live_end_objects);
	json_u64(j, "live_end_bytes", r->live_end_bytes);
	/* A heap with live bytes and no footprint cannot measure it: null, never 0. */
	bool fp_known = r->frag4_valid || !r->peak_live;
	if (r->fp_at_peak_valid && fp_known) {
		json_u64(j, "footprint_at_peak_bytes", r->fp_at_peak);
		json_ppm(j, "frag3", r->frag3_ppm);
	} else {
		json_null(j, "footprint_at_peak_bytes");
		json_null(j, "frag3");
	}
	if (fp_known)
		json_u64(j, "peak_footprint_bytes", r->heap.peak_footprint);
	else
		json_null(j, "peak_footprint_bytes");
	/* frag4 needs the trace's order of live bytes (not on several CPUs in parallel:
	 * live ran ahead of or behind it) and the live bytes the trace reached. */
	if (fp_known && !r->failure_unmeasured && r->live_ordered)
		json_ppm(j, "frag4", r->frag4_ppm);
	else
		json_null(j, "frag4");
	failure_fields(j, r);
	json_u64(j, "footprint_end_bytes", r->heap.footprint);
	json_u64(j, "heap_frames", r->heap.frames);
	json_u64(j, "heap_va_bytes", r->heap.va_bytes);
	json_u64(j, "heap_meta_bytes", r->heap.meta_bytes);
	json_u64(j, "heap_remote_frees", r->heap.remote_frees);
	json_u64(j, "heap_chunks_returned", r->heap.chunks_returned);
	json_u64(j, "objects", r->objects);
	if (r->parallel) { /* objects whose ops ran on more than one CPU; the op balance */
		json_u64(j, "shared_objects", r->shared_objects);
		json_u64(j, "busiest_cpu_ops", r->busiest_cpu_ops);
		json_u64(j, "critical_path_ops", r->critical_path_ops);
	}
}

static void timing_fields(struct json_buf *j, const struct replay_result *r)
{
	if (!r->timed)
		return;
	json_u64(j, "elapsed_ns", r->elapsed_ns);
	json_u64(j, "ops_per_s", r->ops_per_s);
	json_u64(j, "lat_p50_ns", r->lat_p50_ns);
	json_u64(j, "lat_p99_ns", r->lat_p99_ns);
	json_u64(j, "lat_p999_ns", r->lat_p999_ns);
	json_u64(j, "lat_max_ns", r->lat_max_ns);
	json_u64(j, "lat_mean_ns", r->lat_mean_ns);
	json_u64(j, "lat_every", r->lat_every);
	if (r->parallel) { /* time the trace's cross-CPU order kept CPUs idle; their work */
		json_u64(j, "wait_ns", r->wait_ns);
		json_u64(j, "busy_max_ns", r->busy_max_ns);
		json_u64(j, "busy_sum_ns", r->busy_sum_ns);
	}
	if (!r->standin_known)
		return;
	/* The host engine's stand-ins for page-table edits (mmap calls), and the latency
	 * without them. */
	json_u64(j, "standin_ns", r->standin_ns);
	json_u64(j, "lat_ex_p50_ns", r->lat_ex_p50_ns);
	json_u64(j, "lat_ex_p99_ns", r->lat_ex_p99_ns);
	json_u64(j, "lat_ex_p999_ns", r->lat_ex_p999_ns);
	json_u64(j, "lat_ex_max_ns", r->lat_ex_max_ns);
	json_u64(j, "lat_ex_mean_ns", r->lat_ex_mean_ns);
}

static void env_fields(struct json_buf *j, const struct env_metrics *e)
{
	const struct frame_stats *f = e->frames;
	if (f) {
		json_u64(j, "phys_total_frames", f->total_frames);
		json_u64(j, "phys_free_frames", f->free_frames);
		json_u64_array(j, "phys_free_blocks", f->free_blocks, FRAME_MAX_ORDER + 1);
		json_u64(j, "phys_free_2m_blocks", f->free_2m_blocks);
		/* LLFree's metric: share of free memory available as whole 2 MiB blocks. */
		json_ppm(j, "phys_free_2m_share", f->free_frames
			? (int64_t)(f->free_2m_blocks * 512 * 1000000 / f->free_frames) : 0);
		json_u64(j, "phys_largest_free_bytes", f->largest_free);
		json_u64(j, "phys_meta_bytes", f->meta_bytes);
		json_u64(j, "phys_spill_allocs", f->spill_allocs);
		json_u64(j, "phys_spill_reentries", f->spill_reentries);
		json_u64(j, "phys_lost_frames", f->lost_frames);
	}
	const struct va_stats *v = e->va;
	if (v) {
		json_u64(j, "va_size_bytes", v->size);
		json_u64(j, "va_reserved_bytes", v->reserved_bytes);
		json_u64(j, "va_free_bytes", v->free_bytes);
		json_u64(j, "va_free_ranges", v->free_ranges);
		json_u64(j, "va_largest_free_bytes", v->largest_free);
		json_u64(j, "va_meta_bytes", v->meta_bytes);
		json_u64(j, "va_spill_allocs", v->spill_allocs);
		json_u64(j, "va_spill_reentries", v->spill_reentries);
		json_u64(j, "va_lost_bytes", v->lost_bytes);
	}
	const struct machine_counts *m = e->mc;
	if (m) { /* page-table edits: the same on every engine for a serial replay */
		json_u64(j, "machine_mib", e->machine_bytes >> 20);
		json_u64(j, "early_frames", m->early_frames);
		json_u64(j, "mmu_maps", m->maps);
		json_u64(j, "mmu_unmaps", m->unmaps);
		json_u64(j, "tlb_shootdowns", m->shootdowns);
		json_u64(j, "pt_frames", m->pt_frames);
	}
}

long json_replay_row_env(const struct result_prov *p, const struct replay_result *res,
			 const struct env_metrics *env, char *buf, size_t cap)
{
	struct json_buf j;
	json_begin(&j, buf, cap);
	json_prov(&j, p);
	metric_fields(&j, res);
	if (env)
		env_fields(&j, env);
	timing_fields(&j, res);
	return json_end(&j);
}

long json_replay_row(const struct result_prov *p, const struct replay_result *res, char *buf,
		     size_t cap)
{
	return json_replay_row_env(p, res, NULL, buf, cap);
}

/* Adds one unit in the last place to the non-negative number at s (digits and at most
 * one '.'), in place; the row grows by one byte on a carry out of the first digit. */
static bool bump_number(char *s, size_t end, size_t len, size_t cap)
{
	size_t i = end;
	while (i-- > 0) {
		if (s[i] == '.')
			continue;
		if (s[i] != '9') {
			s[i]++;
			return true;
		}
		s[i] = '0';
	}
	if (len + 2 > cap)
		return false;
	__builtin_memmove(s + 1, s, len + 1); /* len: bytes from s to the NUL */
	s[0] = '1';
	return true;
}

bool json_row_perturb(char *row, size_t cap, const char *field)
{
	size_t fl = 0, len = 0;
	while (field[fl])
		fl++;
	while (row[len])
		len++;
	for (size_t i = 0; i + fl + 3 < len; i++) {
		if (row[i] != '"' || row[i + fl + 1] != '"' || row[i + fl + 2] != ':' ||
		    __builtin_memcmp(row + i + 1, field, fl) != 0)
			continue;
		char *num = row + i + fl + 3;
		size_t n = 0;
		while ((num[n] >= '0' && num[n] <= '9') || num[n] == '.')
			n++;
		if (!n)
			return false;
		return bump_number(num, n, len - (size_t)(num - row), cap - (size_t)(num - row));
	}
	return false;
}
